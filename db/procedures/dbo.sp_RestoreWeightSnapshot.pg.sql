-- kind: function
-- requires: dbo.WeightSnapshots, dbo.WeightSnapshotChunks, dbo.Models, dbo.fn_ApplyWeightMap
-- Put a model's weights back as a snapshot recorded them; with DryRun only list what would change.
-- Returns one row per tensor that differs (name, chunks changed).
-- A function on PostgreSQL (it returns rows): SELECT * FROM dbo.sp_RestoreWeightSnapshot(SnapshotId => 1).
CREATE OR REPLACE FUNCTION dbo.sp_RestoreWeightSnapshot(SnapshotId integer, DryRun boolean DEFAULT false,
                                                        TenantId integer DEFAULT 0)
RETURNS TABLE (TensorName text, ChunksChanged integer)
LANGUAGE plpgsql
VOLATILE
AS $$
#variable_conflict use_column
DECLARE
    model_id integer;
BEGIN
    SELECT s.ModelId INTO model_id FROM dbo.WeightSnapshots s JOIN dbo.Models m ON m.ModelId = s.ModelId
    WHERE s.SnapshotId = sp_RestoreWeightSnapshot.SnapshotId AND m.TenantId = sp_RestoreWeightSnapshot.TenantId;
    IF model_id IS NULL THEN
        RAISE EXCEPTION 'sp_RestoreWeightSnapshot: snapshot % does not exist for tenant %', sp_RestoreWeightSnapshot.SnapshotId,
            sp_RestoreWeightSnapshot.TenantId USING ERRCODE = '22023';
    END IF;
    RETURN QUERY SELECT * FROM dbo.fn_ApplyWeightMap(model_id, (
        SELECT coalesce(jsonb_agg(jsonb_build_array(w.TensorId, w.ChunkIndex, encode(w.ChunkHash, 'hex'))), '[]')
        FROM dbo.WeightSnapshotChunks w WHERE w.SnapshotId = sp_RestoreWeightSnapshot.SnapshotId), DryRun);
END
$$;
