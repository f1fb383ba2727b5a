-- kind: table
-- requires: dbo.WeightSnapshots, dbo.ModelTensors, dbo.TensorChunks
-- The chunk map of each tensor at the moment of a weight snapshot.
CREATE TABLE IF NOT EXISTS dbo.WeightSnapshotChunks (
    SnapshotId integer NOT NULL,
    TensorId   bigint  NOT NULL,
    ChunkIndex integer NOT NULL,
    ChunkHash  bytea   NOT NULL,
    CONSTRAINT PK_WeightSnapshotChunks PRIMARY KEY (SnapshotId, TensorId, ChunkIndex),
    CONSTRAINT FK_WeightSnapshotChunks_Snapshots FOREIGN KEY (SnapshotId) REFERENCES dbo.WeightSnapshots (SnapshotId) ON DELETE CASCADE,
    CONSTRAINT FK_WeightSnapshotChunks_Tensors FOREIGN KEY (TensorId) REFERENCES dbo.ModelTensors (TensorId) ON DELETE CASCADE,
    CONSTRAINT FK_WeightSnapshotChunks_TensorChunks FOREIGN KEY (ChunkHash) REFERENCES dbo.TensorChunks (ChunkHash)
);
