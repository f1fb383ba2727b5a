-- kind: table
-- requires: dbo.ModelTensors, dbo.TensorChunks
-- Which chunks make up each tensor, in order: the current weights. ValidFrom is when this mapping
-- took effect; every change and delete moves the old row to dbo.ModelTensorChunksHistory (the
-- PostgreSQL counterpart of SQL Server's system-versioned temporal table), so the weights as of
-- any moment can be put back (dbo.sp_RollbackWeightsToTimestamp).
CREATE TABLE IF NOT EXISTS dbo.ModelTensorChunks (
    TensorId   bigint      NOT NULL,
    ChunkIndex integer     NOT NULL,
    ChunkHash  bytea       NOT NULL,
    ValidFrom  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT PK_ModelTensorChunks PRIMARY KEY (TensorId, ChunkIndex),
    CONSTRAINT FK_ModelTensorChunks_ModelTensors FOREIGN KEY (TensorId) REFERENCES dbo.ModelTensors (TensorId) ON DELETE CASCADE,
    CONSTRAINT FK_ModelTensorChunks_TensorChunks FOREIGN KEY (ChunkHash) REFERENCES dbo.TensorChunks (ChunkHash),
    CONSTRAINT CK_ModelTensorChunks_Index CHECK (ChunkIndex >= 0)
);
CREATE INDEX IF NOT EXISTS IX_ModelTensorChunks_Chunk ON dbo.ModelTensorChunks (ChunkHash);
