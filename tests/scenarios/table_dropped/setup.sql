INSERT INTO dbo.Scratch (ScratchId, Note) SELECT i, 'note ' || i FROM generate_series(1, 5) AS i;
