-- kind: table
-- requires: dbo.VectorIndexSegments
-- The stored bytes of each vector index segment, in order, 16 MiB a row (a value is limited to 1 GB).
CREATE TABLE IF NOT EXISTS dbo.VectorIndexChunks (
    SegmentId  bigint  NOT NULL,
    ChunkIndex integer NOT NULL,
    Data       bytea   NOT NULL,
    CONSTRAINT PK_VectorIndexChunks PRIMARY KEY (SegmentId, ChunkIndex),
    CONSTRAINT FK_VectorIndexChunks_Segments FOREIGN KEY (SegmentId) REFERENCES dbo.VectorIndexSegments (SegmentId) ON DELETE CASCADE
);
-- float32 vectors hardly compress: store them out of line without trying
ALTER TABLE dbo.VectorIndexChunks ALTER COLUMN Data SET STORAGE EXTERNAL;
