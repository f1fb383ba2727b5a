-- kind: table
-- requires: dbo.Models
-- Named snapshots of a tenant's model weights (dbo.sp_CreateWeightSnapshot): which chunks each tensor
-- had then (dbo.WeightSnapshotChunks). ModelId is the one model a snapshot covers, or NULL when it
-- covers every model the tenant had. Chunks are shared, so a snapshot costs a row per chunk, not a copy.
IF OBJECT_ID(N'dbo.WeightSnapshots', N'U') IS NULL
BEGIN
    CREATE TABLE dbo.WeightSnapshots (
        SnapshotId   INT IDENTITY(1, 1) NOT NULL,
        TenantId     INT            NOT NULL CONSTRAINT DF_WeightSnapshots_TenantId DEFAULT (0),
        SnapshotName NVARCHAR(256)  NOT NULL,
        ModelId      INT            NULL,
        Description  NVARCHAR(1024) NULL,
        CreatedAt    DATETIME2(7)   NOT NULL CONSTRAINT DF_WeightSnapshots_CreatedAt DEFAULT (SYSUTCDATETIME()),
        ModelCount   INT            NOT NULL CONSTRAINT DF_WeightSnapshots_ModelCount DEFAULT (0),
        ChunkCount   INT            NOT NULL CONSTRAINT DF_WeightSnapshots_ChunkCount DEFAULT (0),
        CONSTRAINT PK_WeightSnapshots PRIMARY KEY CLUSTERED (SnapshotId),
        CONSTRAINT FK_WeightSnapshots_Models FOREIGN KEY (ModelId) REFERENCES dbo.Models (ModelId) ON DELETE CASCADE,
        CONSTRAINT UQ_WeightSnapshots_Tenant_Name UNIQUE (TenantId, SnapshotName)
    );
END;
