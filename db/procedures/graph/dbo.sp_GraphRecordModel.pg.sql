-- kind: procedure
-- requires: graph.AtomGraphNodes, graph.AtomGraphEdges, dbo.Models, dbo.ModelTensors, dbo.WeightSnapshots, dbo.WeightSnapshotChunks
-- The provenance graph's writer for models and their weights (README "Provenance graph"), in the
-- caller's transaction, for TenantId (resolved by the caller). Operation:
--   'store'    (dbo.sp_StoreModel): the model's node, and each tensor's node ComponentOf it;
--   'snapshot' (dbo.sp_CreateWeightSnapshot): SnapshotId's node DerivedFrom the weight state of
--              every model it covers;
--   'update', 'restore', 'rollback' (dbo.sp_UpdateTensor, dbo.sp_ApplyWeightMap's callers
--              dbo.sp_RestoreWeightSnapshot and dbo.sp_RollbackWeightsToTimestamp): the weights of
--              ModelId changed, so a new 'model-version' node (its VersionNumber the next) DerivedFrom
--              the state before; a restore also DerivedFrom SnapshotId's node, a rollback also
--              DerivedFrom the state that was current at SourceTime.
-- A model's weight state is its latest version node, or the model's own node before any change.
-- Versions of one model are numbered under a lock on the model's node, so concurrent changes
-- never share a number. Nodes a model stored before the graph existed lacks are made on the way.
-- Idempotent for 'store' and 'snapshot'; each weight change is a new version. No tenant role may call it.
CREATE OR REPLACE PROCEDURE dbo.sp_GraphRecordModel(
    ModelId integer,
    Operation text,
    SnapshotId integer DEFAULT NULL,
    SourceTime timestamptz DEFAULT NULL,
    TenantId integer DEFAULT NULL
)
LANGUAGE plpgsql
SET search_path = dbo, public, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    tenant constant integer := sp_GraphRecordModel.TenantId;
    model_node bigint;
    state_node bigint;
    source_node bigint;
    version_node bigint;
    snapshot_node bigint;
    covered integer;
    writer text;  -- the operation that changed the weights, as the version records it
BEGIN
    IF tenant IS NULL THEN
        RAISE EXCEPTION 'sp_GraphRecordModel: TenantId is required (the caller resolves it)' USING ERRCODE = '22023';
    END IF;
    IF sp_GraphRecordModel.Operation IS NULL
       OR sp_GraphRecordModel.Operation NOT IN ('store', 'snapshot', 'update', 'restore', 'rollback') THEN
        RAISE EXCEPTION 'sp_GraphRecordModel: Operation must be store, snapshot, update, restore or rollback, not %',
            coalesce(sp_GraphRecordModel.Operation, 'NULL') USING ERRCODE = '22023';
    END IF;
    IF sp_GraphRecordModel.Operation = 'snapshot' THEN
        IF NOT EXISTS (SELECT FROM dbo.WeightSnapshots s WHERE s.SnapshotId = sp_GraphRecordModel.SnapshotId
                       AND s.TenantId = tenant) THEN
            RAISE EXCEPTION 'sp_GraphRecordModel: snapshot % does not exist for tenant %', sp_GraphRecordModel.SnapshotId,
                tenant USING ERRCODE = '22023';
        END IF;
        INSERT INTO graph.AtomGraphNodes (TenantId, NodeKind, SnapshotId) VALUES (tenant, 'snapshot', sp_GraphRecordModel.SnapshotId)
        ON CONFLICT (SnapshotId) WHERE NodeKind = 'snapshot' DO NOTHING;
        SELECT n.NodeId INTO snapshot_node FROM graph.AtomGraphNodes n
        WHERE n.NodeKind = 'snapshot' AND n.SnapshotId = sp_GraphRecordModel.SnapshotId;
        FOR covered IN
            SELECT DISTINCT t.ModelId FROM dbo.WeightSnapshotChunks w JOIN dbo.ModelTensors t ON t.TensorId = w.TensorId
            WHERE w.SnapshotId = sp_GraphRecordModel.SnapshotId ORDER BY t.ModelId
        LOOP
            INSERT INTO graph.AtomGraphNodes (TenantId, NodeKind, ModelId) VALUES (tenant, 'model', covered)
            ON CONFLICT (ModelId) WHERE NodeKind = 'model' DO NOTHING;
            SELECT n.NodeId INTO state_node FROM graph.AtomGraphNodes n
            WHERE n.ModelId = covered AND n.NodeKind IN ('model', 'model-version')
            ORDER BY coalesce(n.VersionNumber, 0) DESC LIMIT 1;
            INSERT INTO graph.AtomGraphEdges (TenantId, FromNodeId, ToNodeId, EdgeType, CreatedBy)
            VALUES (tenant, snapshot_node, state_node, 'DerivedFrom', 'sp_CreateWeightSnapshot')
            ON CONFLICT (FromNodeId, ToNodeId, EdgeType) DO NOTHING;
        END LOOP;
        RETURN;
    END IF;

    IF NOT EXISTS (SELECT FROM dbo.Models m WHERE m.ModelId = sp_GraphRecordModel.ModelId AND m.TenantId = tenant) THEN
        RAISE EXCEPTION 'sp_GraphRecordModel: model % does not exist for tenant %', sp_GraphRecordModel.ModelId, tenant
            USING ERRCODE = '22023';
    END IF;
    INSERT INTO graph.AtomGraphNodes (TenantId, NodeKind, ModelId) VALUES (tenant, 'model', sp_GraphRecordModel.ModelId)
    ON CONFLICT (ModelId) WHERE NodeKind = 'model' DO NOTHING;
    -- the lock that numbers this model's versions one at a time
    SELECT n.NodeId INTO model_node FROM graph.AtomGraphNodes n
    WHERE n.NodeKind = 'model' AND n.ModelId = sp_GraphRecordModel.ModelId FOR UPDATE;

    IF sp_GraphRecordModel.Operation = 'store' THEN
        INSERT INTO graph.AtomGraphNodes (TenantId, NodeKind, TensorId)
        SELECT tenant, 'tensor', t.TensorId FROM dbo.ModelTensors t
        WHERE t.ModelId = sp_GraphRecordModel.ModelId ORDER BY t.TensorId
        ON CONFLICT (TensorId) WHERE NodeKind = 'tensor' DO NOTHING;
        INSERT INTO graph.AtomGraphEdges (TenantId, FromNodeId, ToNodeId, EdgeType, CreatedBy)
        SELECT tenant, n.NodeId, model_node, 'ComponentOf', 'sp_StoreModel'
        FROM dbo.ModelTensors t JOIN graph.AtomGraphNodes n ON n.NodeKind = 'tensor' AND n.TensorId = t.TensorId
        WHERE t.ModelId = sp_GraphRecordModel.ModelId ORDER BY n.NodeId
        ON CONFLICT (FromNodeId, ToNodeId, EdgeType) DO NOTHING;
        RETURN;
    END IF;

    IF sp_GraphRecordModel.Operation = 'restore' THEN
        SELECT n.NodeId INTO snapshot_node FROM graph.AtomGraphNodes n JOIN dbo.WeightSnapshots s ON s.SnapshotId = n.SnapshotId
        WHERE n.NodeKind = 'snapshot' AND n.SnapshotId = sp_GraphRecordModel.SnapshotId AND s.TenantId = tenant;
        IF snapshot_node IS NULL THEN
            IF NOT EXISTS (SELECT FROM dbo.WeightSnapshots s WHERE s.SnapshotId = sp_GraphRecordModel.SnapshotId
                           AND s.TenantId = tenant) THEN
                RAISE EXCEPTION 'sp_GraphRecordModel: snapshot % does not exist for tenant %',
                    sp_GraphRecordModel.SnapshotId, tenant USING ERRCODE = '22023';
            END IF;
            -- a snapshot taken before the graph existed
            INSERT INTO graph.AtomGraphNodes (TenantId, NodeKind, SnapshotId)
            VALUES (tenant, 'snapshot', sp_GraphRecordModel.SnapshotId) RETURNING NodeId INTO snapshot_node;
        END IF;
    ELSIF sp_GraphRecordModel.Operation = 'rollback' THEN
        IF sp_GraphRecordModel.SourceTime IS NULL THEN
            RAISE EXCEPTION 'sp_GraphRecordModel: a rollback needs SourceTime' USING ERRCODE = '22023';
        END IF;
        SELECT n.NodeId INTO source_node FROM graph.AtomGraphNodes n
        WHERE n.ModelId = sp_GraphRecordModel.ModelId AND n.NodeKind IN ('model', 'model-version')
          AND (n.NodeKind = 'model' OR n.CreatedAt <= sp_GraphRecordModel.SourceTime)
        ORDER BY coalesce(n.VersionNumber, 0) DESC LIMIT 1;
    END IF;
    writer := CASE sp_GraphRecordModel.Operation WHEN 'update' THEN 'sp_UpdateTensor'
                   WHEN 'restore' THEN 'sp_RestoreWeightSnapshot' ELSE 'sp_RollbackWeightsToTimestamp' END;
    SELECT n.NodeId INTO state_node FROM graph.AtomGraphNodes n
    WHERE n.ModelId = sp_GraphRecordModel.ModelId AND n.NodeKind IN ('model', 'model-version')
    ORDER BY coalesce(n.VersionNumber, 0) DESC LIMIT 1;
    INSERT INTO graph.AtomGraphNodes (TenantId, NodeKind, ModelId, VersionNumber, Operation)
    SELECT tenant, 'model-version', sp_GraphRecordModel.ModelId, coalesce(max(n.VersionNumber), 0) + 1,
           writer
    FROM graph.AtomGraphNodes n WHERE n.NodeKind = 'model-version' AND n.ModelId = sp_GraphRecordModel.ModelId
    RETURNING NodeId INTO version_node;
    INSERT INTO graph.AtomGraphEdges (TenantId, FromNodeId, ToNodeId, EdgeType, CreatedBy)
    SELECT tenant, version_node, s.node, 'DerivedFrom',
           writer
    FROM (SELECT DISTINCT node FROM unnest(ARRAY[state_node, snapshot_node, source_node]) node WHERE node IS NOT NULL) s
    ORDER BY s.node;
END
$$;
