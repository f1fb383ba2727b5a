INSERT INTO dbo.Atoms (ContentHash, ContentType, Modality, ContentSize, Legacy)
SELECT sha256(convert_to('atom ' || i, 'UTF8')), 'text/plain', 'text', i,
       CASE WHEN i <= 30 THEN 'legacy value ' || i END
FROM generate_series(1, 40) AS i;
