-- kind: table
-- requires: dbo.ModelTensorChunks
-- engine-specific: SQL Server keeps this history itself (SYSTEM_VERSIONING on dbo.ModelTensorChunks)
-- Earlier versions of dbo.ModelTensorChunks rows, each with the period it was current
-- [ValidFrom, ValidTo). Written only by dbo.fn_VersionModelTensorChunks (trigger).
CREATE TABLE IF NOT EXISTS dbo.ModelTensorChunksHistory (
    TensorId   bigint      NOT NULL,
    ChunkIndex integer     NOT NULL,
    ChunkHash  bytea       NOT NULL,
    ValidFrom  timestamptz NOT NULL,
    ValidTo    timestamptz NOT NULL,
    CONSTRAINT FK_ModelTensorChunksHistory_TensorChunks FOREIGN KEY (ChunkHash) REFERENCES dbo.TensorChunks (ChunkHash),
    CONSTRAINT CK_ModelTensorChunksHistory_Period CHECK (ValidTo >= ValidFrom)
);
CREATE INDEX IF NOT EXISTS IX_ModelTensorChunksHistory_Tensor ON dbo.ModelTensorChunksHistory (TensorId, ValidTo);
