-- kind: function
-- requires: dbo.Models, dbo.ModelTensors, dbo.ModelTensorChunks, dbo.ModelTensorChunksHistory, dbo.fn_Flag, dbo.fn_ApplyWeightMap, dbo.fn_ResolveTenant, dbo.sp_GraphRecordModel
-- Put the weights of the tenant's model ModelId, or of all its models (ModelId NULL: those that
-- existed at TargetDateTime), back as they were at TargetDateTime, from the system-versioning
-- history (seed 003); with DryRun (the default; 1/0 or true/false) only list what would change.
-- Returns one row per tensor that differs (model name, tensor name, chunks changed). Each model it
-- changed is a new version in the provenance graph, DerivedFrom its weights before and the version
-- current at TargetDateTime (dbo.sp_GraphRecordModel).
-- A function on PostgreSQL; the seeds' call: SELECT * FROM dbo.sp_RollbackWeightsToTimestamp(
-- TargetDateTime => '2025-11-08 10:00:00', ModelId => NULL, DryRun => 1).
CREATE OR REPLACE FUNCTION dbo.sp_RollbackWeightsToTimestamp(TargetDateTime timestamptz, ModelId integer DEFAULT NULL,
                                                             DryRun anycompatible DEFAULT true, TenantId integer DEFAULT NULL)
RETURNS TABLE (ModelName text, TensorName text, ChunksChanged integer)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = dbo, public, pg_temp
VOLATILE
AS $$
#variable_conflict use_column
DECLARE
    ingested timestamptz;
    models integer[];
    dry boolean := coalesce(dbo.fn_Flag(DryRun, 'DryRun'), true);
    changed integer;
BEGIN
    sp_RollbackWeightsToTimestamp.TenantId := dbo.fn_ResolveTenant(sp_RollbackWeightsToTimestamp.TenantId, 'sp_RollbackWeightsToTimestamp');
    IF TargetDateTime IS NULL THEN
        RAISE EXCEPTION 'sp_RollbackWeightsToTimestamp: give TargetDateTime' USING ERRCODE = '22023';
    END IF;
    IF sp_RollbackWeightsToTimestamp.ModelId IS NOT NULL THEN
        SELECT m.IngestionDate INTO ingested FROM dbo.Models m
        WHERE m.ModelId = sp_RollbackWeightsToTimestamp.ModelId AND m.TenantId = sp_RollbackWeightsToTimestamp.TenantId;
        IF ingested IS NULL THEN
            RAISE EXCEPTION 'sp_RollbackWeightsToTimestamp: model % does not exist for tenant %',
                sp_RollbackWeightsToTimestamp.ModelId, sp_RollbackWeightsToTimestamp.TenantId USING ERRCODE = '22023';
        END IF;
        IF TargetDateTime < ingested THEN
            RAISE EXCEPTION 'sp_RollbackWeightsToTimestamp: model % was ingested at %; TargetDateTime must be later',
                sp_RollbackWeightsToTimestamp.ModelId, ingested USING ERRCODE = '22023';
        END IF;
    END IF;
    SELECT array_agg(m.ModelId) INTO models FROM dbo.Models m
    WHERE m.TenantId = sp_RollbackWeightsToTimestamp.TenantId AND m.IngestionDate <= TargetDateTime
      AND (sp_RollbackWeightsToTimestamp.ModelId IS NULL OR m.ModelId = sp_RollbackWeightsToTimestamp.ModelId);
    RETURN QUERY SELECT * FROM dbo.fn_ApplyWeightMap((
        SELECT coalesce(jsonb_agg(jsonb_build_array(v.TensorId, v.ChunkIndex, encode(v.ChunkHash, 'hex'))), '[]')
        FROM (SELECT c.TensorId, c.ChunkIndex, c.ChunkHash FROM dbo.ModelTensorChunks c
              JOIN dbo.ModelTensors t ON t.TensorId = c.TensorId
              WHERE t.ModelId = ANY (models) AND c.ValidFrom <= TargetDateTime
              UNION ALL
              SELECT h.TensorId, h.ChunkIndex, h.ChunkHash FROM dbo.ModelTensorChunksHistory h
              JOIN dbo.ModelTensors t ON t.TensorId = h.TensorId
              WHERE t.ModelId = ANY (models) AND h.ValidFrom <= TargetDateTime AND h.ValidTo > TargetDateTime) v),
        dry);
    -- each model whose weights changed is a new version in the provenance graph
    IF NOT dry THEN
        FOR changed IN SELECT DISTINCT t.ModelId FROM hartonomous_weight_diff d
                       JOIN dbo.ModelTensors t ON t.TensorId = d.TensorId ORDER BY t.ModelId LOOP
            CALL dbo.sp_GraphRecordModel(changed, 'rollback', NULL, TargetDateTime, sp_RollbackWeightsToTimestamp.TenantId);
        END LOOP;
    END IF;
END
$$;
