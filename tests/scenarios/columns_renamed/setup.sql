INSERT INTO dbo.IngestionJobs (JobType, Status, StartedAt, CompletedAt, AtomsProcessed)
VALUES ('embeddings', 'Completed', now() - interval '2 hours', now() - interval '1 hour', 10),
       ('embeddings', 'Failed', now() - interval '50 minutes', now() - interval '40 minutes', 20),
       ('model', 'Running', now() - interval '5 minutes', NULL, 30);
