INSERT INTO dbo.IngestionJobs (JobType, Source)
VALUES ('embeddings', 'short.txt'),
       ('embeddings', '/data/corpus/a-rather-long-file-name.txt'),
       ('embeddings', '/data/corpus/another-long-file-name.txt'),
       ('model', '/models/smollm2-135m-instruct.gguf'),
       ('model', NULL);
