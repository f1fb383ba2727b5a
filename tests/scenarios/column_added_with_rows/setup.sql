INSERT INTO dbo.Atoms (ContentHash, ContentType, Modality, ContentSize)
SELECT sha256(convert_to('atom ' || i, 'UTF8')), 'text/plain', 'text', 10 + i
FROM generate_series(1, 100) AS i;
