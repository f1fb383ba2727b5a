-- kind: table
-- requires: dbo.Models
-- Named snapshots of a model's weights (dbo.sp_CreateWeightSnapshot): which chunks each tensor had
-- then (dbo.WeightSnapshotChunks). Chunks are shared, so a snapshot costs a row per chunk, not a copy.
IF OBJECT_ID(N'dbo.WeightSnapshots', N'U') IS NULL
BEGIN
    CREATE TABLE dbo.WeightSnapshots (
        SnapshotId   INT IDENTITY(1, 1) NOT NULL,
        ModelId      INT           NOT NULL,
        SnapshotName NVARCHAR(256) NOT NULL,
        CreatedAt    DATETIME2(7)  NOT NULL CONSTRAINT DF_WeightSnapshots_CreatedAt DEFAULT (SYSUTCDATETIME()),
        ChunkCount   INT           NOT NULL CONSTRAINT DF_WeightSnapshots_ChunkCount DEFAULT (0),
        CONSTRAINT PK_WeightSnapshots PRIMARY KEY CLUSTERED (SnapshotId),
        CONSTRAINT FK_WeightSnapshots_Models FOREIGN KEY (ModelId) REFERENCES dbo.Models (ModelId) ON DELETE CASCADE,
        CONSTRAINT UQ_WeightSnapshots_Model_Name UNIQUE (ModelId, SnapshotName)
    );
END;
