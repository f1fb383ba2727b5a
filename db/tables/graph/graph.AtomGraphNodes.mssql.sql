-- kind: table
-- requires: graph, dbo.Atoms, dbo.Models, dbo.ModelTensors, dbo.WeightSnapshots
-- The things of the provenance graph (seed 003's graph.AtomGraphNodes, a SQL Graph NODE table; README
-- "Provenance graph"), one row per thing of a tenant: an atom ('atom', AtomId), a stored model as
-- ingested ('model', ModelId), one of its tensors ('tensor', TensorId), a named weight snapshot
-- ('snapshot', SnapshotId), or a state of a model's weights after a change ('model-version', ModelId
-- and VersionNumber 1, 2, ...: weights have no row of their own to point at, so each change that
-- altered them is a node). Exactly the column of its kind is set (a version also its ModelId). Atoms,
-- models and tensors are foreign keys (only the atom's cascades: SQL Server refuses a second cascade
-- path from dbo.Models, which cascades to its tensors and snapshots, so a model's nodes go before
-- the model); a snapshot is not (the writer checks it: the tSQLt classes fake dbo.WeightSnapshots,
-- and a key would point at the real table behind the fake). NodeId is the node's number on both engines (lineage answers it; $node_id is SQL
-- Server's own). Written only by the graph writers (dbo.sp_GraphRecordAtoms,
-- dbo.sp_GraphRecordGeneration, dbo.sp_GraphRecordModel).
IF OBJECT_ID(N'graph.AtomGraphNodes', N'U') IS NULL
BEGIN
    CREATE TABLE graph.AtomGraphNodes (
        NodeId        BIGINT IDENTITY(1, 1) NOT NULL,
        TenantId      INT           NOT NULL,
        NodeKind      NVARCHAR(16)  NOT NULL,
        AtomId        BIGINT        NULL,
        ModelId       INT           NULL,
        TensorId      BIGINT        NULL,
        SnapshotId    INT           NULL,
        VersionNumber INT           NULL,
        Operation     NVARCHAR(64)  NULL,
        CreatedAt     DATETIME2(3)  NOT NULL CONSTRAINT DF_AtomGraphNodes_CreatedAt DEFAULT (SYSUTCDATETIME()),
        CONSTRAINT PK_AtomGraphNodes PRIMARY KEY CLUSTERED (NodeId),
        CONSTRAINT FK_AtomGraphNodes_Atoms FOREIGN KEY (AtomId) REFERENCES dbo.Atoms (AtomId) ON DELETE CASCADE,
        CONSTRAINT FK_AtomGraphNodes_Models FOREIGN KEY (ModelId) REFERENCES dbo.Models (ModelId),
        CONSTRAINT FK_AtomGraphNodes_ModelTensors FOREIGN KEY (TensorId) REFERENCES dbo.ModelTensors (TensorId),
        CONSTRAINT CK_AtomGraphNodes_Kind CHECK (
            (NodeKind = N'atom' AND AtomId IS NOT NULL AND ModelId IS NULL AND TensorId IS NULL AND SnapshotId IS NULL AND VersionNumber IS NULL)
            OR (NodeKind = N'model' AND ModelId IS NOT NULL AND AtomId IS NULL AND TensorId IS NULL AND SnapshotId IS NULL AND VersionNumber IS NULL)
            OR (NodeKind = N'tensor' AND TensorId IS NOT NULL AND AtomId IS NULL AND ModelId IS NULL AND SnapshotId IS NULL AND VersionNumber IS NULL)
            OR (NodeKind = N'snapshot' AND SnapshotId IS NOT NULL AND AtomId IS NULL AND ModelId IS NULL AND TensorId IS NULL AND VersionNumber IS NULL)
            OR (NodeKind = N'model-version' AND ModelId IS NOT NULL AND VersionNumber >= 1 AND AtomId IS NULL AND TensorId IS NULL AND SnapshotId IS NULL))
    ) AS NODE;
    -- one node per thing
    CREATE UNIQUE INDEX UX_AtomGraphNodes_Atom ON graph.AtomGraphNodes (AtomId) WHERE NodeKind = N'atom';
    CREATE UNIQUE INDEX UX_AtomGraphNodes_Model ON graph.AtomGraphNodes (ModelId) WHERE NodeKind = N'model';
    CREATE UNIQUE INDEX UX_AtomGraphNodes_Tensor ON graph.AtomGraphNodes (TensorId) WHERE NodeKind = N'tensor';
    CREATE UNIQUE INDEX UX_AtomGraphNodes_Snapshot ON graph.AtomGraphNodes (SnapshotId) WHERE NodeKind = N'snapshot';
    CREATE UNIQUE INDEX UX_AtomGraphNodes_Version ON graph.AtomGraphNodes (ModelId, VersionNumber) WHERE NodeKind = N'model-version';
END;
