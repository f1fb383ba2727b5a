INSERT INTO dbo.IngestionJobs (JobType, Source)
SELECT 'embeddings', CASE WHEN i % 3 = 0 THEN 'file-' || i END
FROM generate_series(1, 12) AS i;
