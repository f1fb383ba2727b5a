-- kind: function
-- requires: dbo.Models, dbo.ModelTensors, dbo.ModelTensorChunks, dbo.ModelTensorChunksHistory, dbo.fn_ApplyWeightMap
-- Put a model's weights back as they were at AsOf, from the system-versioning history (seed 003);
-- with DryRun (the default) only list what would change. Returns one row per tensor that differs.
-- A function on PostgreSQL: SELECT * FROM dbo.sp_RollbackWeightsToTimestamp(ModelId => 1, AsOf => '...', DryRun => false).
CREATE OR REPLACE FUNCTION dbo.sp_RollbackWeightsToTimestamp(ModelId integer, AsOf timestamptz,
                                                             DryRun boolean DEFAULT true, TenantId integer DEFAULT 0)
RETURNS TABLE (TensorName text, ChunksChanged integer)
LANGUAGE plpgsql
VOLATILE
AS $$
#variable_conflict use_column
DECLARE
    created timestamptz;
BEGIN
    SELECT m.CreatedAt INTO created FROM dbo.Models m
    WHERE m.ModelId = sp_RollbackWeightsToTimestamp.ModelId AND m.TenantId = sp_RollbackWeightsToTimestamp.TenantId;
    IF created IS NULL THEN
        RAISE EXCEPTION 'sp_RollbackWeightsToTimestamp: model % does not exist for tenant %',
            sp_RollbackWeightsToTimestamp.ModelId, sp_RollbackWeightsToTimestamp.TenantId USING ERRCODE = '22023';
    END IF;
    IF AsOf IS NULL OR AsOf < created THEN
        RAISE EXCEPTION 'sp_RollbackWeightsToTimestamp: model % was ingested at %; AsOf must be later',
            sp_RollbackWeightsToTimestamp.ModelId, created USING ERRCODE = '22023';
    END IF;
    RETURN QUERY SELECT * FROM dbo.fn_ApplyWeightMap(sp_RollbackWeightsToTimestamp.ModelId, (
        SELECT coalesce(jsonb_agg(jsonb_build_array(v.TensorId, v.ChunkIndex, encode(v.ChunkHash, 'hex'))), '[]')
        FROM (SELECT c.TensorId, c.ChunkIndex, c.ChunkHash FROM dbo.ModelTensorChunks c
              JOIN dbo.ModelTensors t ON t.TensorId = c.TensorId
              WHERE t.ModelId = sp_RollbackWeightsToTimestamp.ModelId AND c.ValidFrom <= AsOf
              UNION ALL
              SELECT h.TensorId, h.ChunkIndex, h.ChunkHash FROM dbo.ModelTensorChunksHistory h
              JOIN dbo.ModelTensors t ON t.TensorId = h.TensorId
              WHERE t.ModelId = sp_RollbackWeightsToTimestamp.ModelId AND h.ValidFrom <= AsOf AND h.ValidTo > AsOf) v),
        DryRun);
END
$$;
