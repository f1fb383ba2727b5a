-- kind: table
-- requires: dbo.ModelTensors, dbo.TensorChunks
-- Which chunks make up each tensor, in order: the current weights. A system-versioned temporal
-- table: SQL Server moves every changed or deleted row to dbo.ModelTensorChunksHistory with its
-- period, so the weights as of any moment can be put back (dbo.sp_RollbackWeightsToTimestamp).
IF OBJECT_ID(N'dbo.ModelTensorChunks', N'U') IS NULL
BEGIN
    CREATE TABLE dbo.ModelTensorChunks (
        TensorId   BIGINT       NOT NULL,
        ChunkIndex INT          NOT NULL,
        ChunkHash  BINARY(32)   NOT NULL,
        ValidFrom  DATETIME2(7) GENERATED ALWAYS AS ROW START NOT NULL,
        ValidTo    DATETIME2(7) GENERATED ALWAYS AS ROW END NOT NULL,
        PERIOD FOR SYSTEM_TIME (ValidFrom, ValidTo),
        CONSTRAINT PK_ModelTensorChunks PRIMARY KEY CLUSTERED (TensorId, ChunkIndex),
        CONSTRAINT FK_ModelTensorChunks_ModelTensors FOREIGN KEY (TensorId) REFERENCES dbo.ModelTensors (TensorId)
            ON DELETE CASCADE,
        CONSTRAINT FK_ModelTensorChunks_TensorChunks FOREIGN KEY (ChunkHash) REFERENCES dbo.TensorChunks (ChunkHash),
        CONSTRAINT CK_ModelTensorChunks_Index CHECK (ChunkIndex >= 0)
    )
    WITH (SYSTEM_VERSIONING = ON (HISTORY_TABLE = dbo.ModelTensorChunksHistory));
    CREATE INDEX IX_ModelTensorChunks_Chunk ON dbo.ModelTensorChunks (ChunkHash);
END;
