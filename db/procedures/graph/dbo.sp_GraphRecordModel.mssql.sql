-- kind: procedure
-- requires: graph.AtomGraphNodes, graph.AtomGraphEdges, dbo.Models, dbo.ModelTensors, dbo.WeightSnapshots, dbo.WeightSnapshotChunks
-- The provenance graph's writer for models and their weights (README "Provenance graph"), in the
-- caller's transaction when there is one, for @TenantId (resolved by the caller). @Operation:
--   'store'    (dbo.sp_StoreModel): the model's node, and each tensor's node ComponentOf it;
--   'snapshot' (dbo.sp_CreateWeightSnapshot): @SnapshotId's node DerivedFrom the weight state of
--              every model it covers;
--   'update', 'restore', 'rollback' (dbo.sp_UpdateTensor, dbo.sp_RestoreWeightSnapshot,
--              dbo.sp_RollbackWeightsToTimestamp): the weights of @ModelId changed, so a new
--              'model-version' node (its VersionNumber the next) DerivedFrom the state before; a
--              restore also DerivedFrom @SnapshotId's node, a rollback also DerivedFrom the state
--              that was current at @SourceTime.
-- A model's weight state is its latest version node, or the model's own node before any change.
-- Versions of one model are numbered under an update lock on the model's node, so concurrent
-- changes never share a number. Nodes a model stored before the graph existed lacks are made on
-- the way. Idempotent for 'store' and 'snapshot'; each weight change is a new version. No tenant
-- role may execute it.
CREATE OR ALTER PROCEDURE dbo.sp_GraphRecordModel
    @ModelId INT,
    @Operation NVARCHAR(16),
    @SnapshotId INT = NULL,
    @SourceTime DATETIME2(7) = NULL,
    @TenantId INT = NULL
AS
BEGIN
    SET NOCOUNT ON;
    SET XACT_ABORT ON;
    DECLARE @Message NVARCHAR(2048), @ModelNode BIGINT, @StateNode BIGINT, @SourceNode BIGINT, @SnapshotNode BIGINT;
    DECLARE @VersionNode BIGINT, @Version INT, @Writer NVARCHAR(64);
    IF @TenantId IS NULL
        THROW 51610, N'sp_GraphRecordModel: TenantId is required (the caller resolves it)', 1;
    IF @Operation IS NULL OR @Operation NOT IN (N'store', N'snapshot', N'update', N'restore', N'rollback')
    BEGIN
        SET @Message = CONCAT(N'sp_GraphRecordModel: Operation must be store, snapshot, update, restore or rollback, not ',
                              COALESCE(@Operation, N'NULL'));
        THROW 51611, @Message, 1;
    END;
    IF @Operation IN (N'snapshot', N'restore')
       AND NOT EXISTS (SELECT 1 FROM dbo.WeightSnapshots AS s WHERE s.SnapshotId = @SnapshotId AND s.TenantId = @TenantId)
    BEGIN
        SET @Message = CONCAT(N'sp_GraphRecordModel: snapshot ', COALESCE(CONVERT(NVARCHAR(20), @SnapshotId), N'NULL'),
                              N' does not exist for tenant ', @TenantId);
        THROW 51612, @Message, 1;
    END;
    IF @Operation <> N'snapshot'
       AND NOT EXISTS (SELECT 1 FROM dbo.Models AS m WHERE m.ModelId = @ModelId AND m.TenantId = @TenantId)
    BEGIN
        SET @Message = CONCAT(N'sp_GraphRecordModel: model ', COALESCE(CONVERT(NVARCHAR(20), @ModelId), N'NULL'),
                              N' does not exist for tenant ', @TenantId);
        THROW 51613, @Message, 1;
    END;
    IF @Operation = N'rollback' AND @SourceTime IS NULL
        THROW 51614, N'sp_GraphRecordModel: a rollback needs SourceTime', 1;

    BEGIN TRANSACTION;
    IF @Operation IN (N'snapshot', N'restore')
    BEGIN
        INSERT INTO graph.AtomGraphNodes (TenantId, NodeKind, SnapshotId)
        SELECT DISTINCT @TenantId, N'snapshot', @SnapshotId
        WHERE NOT EXISTS (SELECT 1 FROM graph.AtomGraphNodes AS n WITH (UPDLOCK, HOLDLOCK)
                          WHERE n.NodeKind = N'snapshot' AND n.SnapshotId = @SnapshotId);
        SELECT @SnapshotNode = n.NodeId FROM graph.AtomGraphNodes AS n
        WHERE n.NodeKind = N'snapshot' AND n.SnapshotId = @SnapshotId;
    END;
    IF @Operation = N'snapshot'
    BEGIN
        -- the models it covers: their nodes, then the snapshot DerivedFrom each one's weight state
        INSERT INTO graph.AtomGraphNodes (TenantId, NodeKind, ModelId)
        SELECT DISTINCT @TenantId, N'model', t.ModelId
        FROM dbo.WeightSnapshotChunks AS w INNER JOIN dbo.ModelTensors AS t ON t.TensorId = w.TensorId
        WHERE w.SnapshotId = @SnapshotId
          AND NOT EXISTS (SELECT 1 FROM graph.AtomGraphNodes AS n WITH (UPDLOCK, HOLDLOCK)
                          WHERE n.NodeKind = N'model' AND n.ModelId = t.ModelId);
        INSERT INTO graph.AtomGraphEdges ($from_id, $to_id, TenantId, EdgeType, CreatedBy)
        SELECT DISTINCT f.$node_id, t.$node_id, @TenantId, N'DerivedFrom', N'sp_CreateWeightSnapshot'
        FROM (SELECT DISTINCT mt.ModelId FROM dbo.WeightSnapshotChunks AS w
              INNER JOIN dbo.ModelTensors AS mt ON mt.TensorId = w.TensorId WHERE w.SnapshotId = @SnapshotId) AS c
        CROSS APPLY (SELECT TOP (1) n.NodeId FROM graph.AtomGraphNodes AS n
                     WHERE n.ModelId = c.ModelId AND n.NodeKind IN (N'model', N'model-version')
                     ORDER BY COALESCE(n.VersionNumber, 0) DESC) AS s
        INNER JOIN graph.AtomGraphNodes AS t ON t.NodeId = s.NodeId
        INNER JOIN graph.AtomGraphNodes AS f ON f.NodeId = @SnapshotNode
        WHERE NOT EXISTS (SELECT 1 FROM graph.AtomGraphEdges AS x WITH (UPDLOCK, HOLDLOCK)
                          WHERE x.$from_id = f.$node_id AND x.$to_id = t.$node_id AND x.EdgeType = N'DerivedFrom');
        COMMIT TRANSACTION;
        RETURN;
    END;

    INSERT INTO graph.AtomGraphNodes (TenantId, NodeKind, ModelId)
    SELECT DISTINCT @TenantId, N'model', @ModelId
    WHERE NOT EXISTS (SELECT 1 FROM graph.AtomGraphNodes AS n WITH (UPDLOCK, HOLDLOCK)
                      WHERE n.NodeKind = N'model' AND n.ModelId = @ModelId);
    -- the lock that numbers this model's versions one at a time
    SELECT @ModelNode = n.NodeId FROM graph.AtomGraphNodes AS n WITH (UPDLOCK, HOLDLOCK)
    WHERE n.NodeKind = N'model' AND n.ModelId = @ModelId;

    IF @Operation = N'store'
    BEGIN
        INSERT INTO graph.AtomGraphNodes (TenantId, NodeKind, TensorId)
        SELECT DISTINCT @TenantId, N'tensor', t.TensorId FROM dbo.ModelTensors AS t
        WHERE t.ModelId = @ModelId
          AND NOT EXISTS (SELECT 1 FROM graph.AtomGraphNodes AS n WITH (UPDLOCK, HOLDLOCK)
                          WHERE n.NodeKind = N'tensor' AND n.TensorId = t.TensorId);
        INSERT INTO graph.AtomGraphEdges ($from_id, $to_id, TenantId, EdgeType, CreatedBy)
        SELECT DISTINCT f.$node_id, m.$node_id, @TenantId, N'ComponentOf', N'sp_StoreModel'
        FROM dbo.ModelTensors AS t
        INNER JOIN graph.AtomGraphNodes AS f ON f.NodeKind = N'tensor' AND f.TensorId = t.TensorId
        INNER JOIN graph.AtomGraphNodes AS m ON m.NodeId = @ModelNode
        WHERE t.ModelId = @ModelId
          AND NOT EXISTS (SELECT 1 FROM graph.AtomGraphEdges AS x WITH (UPDLOCK, HOLDLOCK)
                          WHERE x.$from_id = f.$node_id AND x.$to_id = m.$node_id AND x.EdgeType = N'ComponentOf');
        COMMIT TRANSACTION;
        RETURN;
    END;

    IF @Operation = N'rollback'
        SELECT TOP (1) @SourceNode = n.NodeId FROM graph.AtomGraphNodes AS n
        WHERE n.ModelId = @ModelId AND n.NodeKind IN (N'model', N'model-version')
          AND (n.NodeKind = N'model' OR n.CreatedAt <= @SourceTime)
        ORDER BY COALESCE(n.VersionNumber, 0) DESC;
    SELECT TOP (1) @StateNode = n.NodeId FROM graph.AtomGraphNodes AS n
    WHERE n.ModelId = @ModelId AND n.NodeKind IN (N'model', N'model-version')
    ORDER BY COALESCE(n.VersionNumber, 0) DESC;
    SET @Writer = CASE @Operation WHEN N'update' THEN N'sp_UpdateTensor' WHEN N'restore' THEN N'sp_RestoreWeightSnapshot'
                                  ELSE N'sp_RollbackWeightsToTimestamp' END;
    SET @Version = 1 + COALESCE((SELECT MAX(n.VersionNumber) FROM graph.AtomGraphNodes AS n
                                 WHERE n.NodeKind = N'model-version' AND n.ModelId = @ModelId), 0);
    INSERT INTO graph.AtomGraphNodes (TenantId, NodeKind, ModelId, VersionNumber, Operation)
    VALUES (@TenantId, N'model-version', @ModelId, @Version, @Writer);
    SET @VersionNode = SCOPE_IDENTITY();
    INSERT INTO graph.AtomGraphEdges ($from_id, $to_id, TenantId, EdgeType, CreatedBy)
    SELECT f.$node_id, t.$node_id, @TenantId, N'DerivedFrom', @Writer
    FROM (SELECT DISTINCT s.NodeId FROM (VALUES (@StateNode), (@SnapshotNode), (@SourceNode)) AS s (NodeId)
          WHERE s.NodeId IS NOT NULL) AS s
    INNER JOIN graph.AtomGraphNodes AS t ON t.NodeId = s.NodeId
    INNER JOIN graph.AtomGraphNodes AS f ON f.NodeId = @VersionNode;
    COMMIT TRANSACTION;
END;
