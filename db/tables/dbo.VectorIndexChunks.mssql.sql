-- kind: table
-- requires: dbo.VectorIndexSegments
-- The stored bytes of each vector index segment, in order, 16 MiB a row.
IF OBJECT_ID(N'dbo.VectorIndexChunks', N'U') IS NULL
BEGIN
    CREATE TABLE dbo.VectorIndexChunks (
        SegmentId  BIGINT         NOT NULL,
        ChunkIndex INT            NOT NULL,
        Data       VARBINARY(MAX) NOT NULL,
        CONSTRAINT PK_VectorIndexChunks PRIMARY KEY CLUSTERED (SegmentId, ChunkIndex),
        CONSTRAINT FK_VectorIndexChunks_Segments FOREIGN KEY (SegmentId) REFERENCES dbo.VectorIndexSegments (SegmentId)
            ON DELETE CASCADE
    );
END;
