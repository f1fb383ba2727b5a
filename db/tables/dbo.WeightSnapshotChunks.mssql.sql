-- kind: table
-- requires: dbo.WeightSnapshots, dbo.ModelTensors, dbo.TensorChunks
-- The chunk map of each tensor at the moment of a weight snapshot.
IF OBJECT_ID(N'dbo.WeightSnapshotChunks', N'U') IS NULL
BEGIN
    CREATE TABLE dbo.WeightSnapshotChunks (
        SnapshotId INT        NOT NULL,
        TensorId   BIGINT     NOT NULL,
        ChunkIndex INT        NOT NULL,
        ChunkHash  BINARY(32) NOT NULL,
        CONSTRAINT PK_WeightSnapshotChunks PRIMARY KEY CLUSTERED (SnapshotId, TensorId, ChunkIndex),
        CONSTRAINT FK_WeightSnapshotChunks_Snapshots FOREIGN KEY (SnapshotId) REFERENCES dbo.WeightSnapshots (SnapshotId)
            ON DELETE CASCADE,
        CONSTRAINT FK_WeightSnapshotChunks_Tensors FOREIGN KEY (TensorId) REFERENCES dbo.ModelTensors (TensorId),
        CONSTRAINT FK_WeightSnapshotChunks_TensorChunks FOREIGN KEY (ChunkHash) REFERENCES dbo.TensorChunks (ChunkHash)
    );
END;
