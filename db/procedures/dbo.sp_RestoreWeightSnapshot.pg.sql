-- kind: function
-- requires: dbo.WeightSnapshots, dbo.WeightSnapshotChunks, dbo.fn_Flag, dbo.fn_ApplyWeightMap, dbo.fn_ResolveTenant, dbo.sp_GraphRecordModel, dbo.ModelTensors
-- Put the weights of the models a snapshot covers back as it recorded them; with DryRun (1/0 or
-- true/false) only list what would change. Returns one row per tensor that differs (model name, tensor
-- name, chunks changed). Each model it changed is a new version in the provenance graph, DerivedFrom its
-- weights before and from the snapshot (dbo.sp_GraphRecordModel).
-- A function on PostgreSQL (it returns rows); the seeds' call:
-- SELECT * FROM dbo.sp_RestoreWeightSnapshot(SnapshotName => 'BeforeExperiment', DryRun => 0).
CREATE OR REPLACE FUNCTION dbo.sp_RestoreWeightSnapshot(SnapshotName text, DryRun anycompatible DEFAULT false,
                                                        TenantId integer DEFAULT NULL)
RETURNS TABLE (ModelName text, TensorName text, ChunksChanged integer)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = dbo, public, pg_temp
VOLATILE
AS $$
#variable_conflict use_column
DECLARE
    snapshot_id integer;
    dry boolean := coalesce(dbo.fn_Flag(DryRun, 'DryRun'), false);
    changed integer;
BEGIN
    sp_RestoreWeightSnapshot.TenantId := dbo.fn_ResolveTenant(sp_RestoreWeightSnapshot.TenantId, 'sp_RestoreWeightSnapshot');
    SELECT s.SnapshotId INTO snapshot_id FROM dbo.WeightSnapshots s
    WHERE s.SnapshotName = sp_RestoreWeightSnapshot.SnapshotName AND s.TenantId = sp_RestoreWeightSnapshot.TenantId;
    IF snapshot_id IS NULL THEN
        RAISE EXCEPTION 'sp_RestoreWeightSnapshot: snapshot % does not exist for tenant %',
            quote_nullable(sp_RestoreWeightSnapshot.SnapshotName), sp_RestoreWeightSnapshot.TenantId USING ERRCODE = '22023';
    END IF;
    RETURN QUERY SELECT * FROM dbo.fn_ApplyWeightMap((
        SELECT coalesce(jsonb_agg(jsonb_build_array(w.TensorId, w.ChunkIndex, encode(w.ChunkHash, 'hex'))), '[]')
        FROM dbo.WeightSnapshotChunks w WHERE w.SnapshotId = snapshot_id), dry);
    -- each model whose weights changed is a new version in the provenance graph
    IF NOT dry THEN
        FOR changed IN SELECT DISTINCT t.ModelId FROM hartonomous_weight_diff d
                       JOIN dbo.ModelTensors t ON t.TensorId = d.TensorId ORDER BY t.ModelId LOOP
            CALL dbo.sp_GraphRecordModel(changed, 'restore', snapshot_id, NULL, sp_RestoreWeightSnapshot.TenantId);
        END LOOP;
    END IF;
END
$$;
