-- kind: procedure
-- requires: dbo.Models, dbo.ModelTensors, dbo.ModelTensorChunks, dbo.TensorChunks, dbo.fn_VersionModelTensorChunks, dbo.fn_ResolveTenant, dbo.sp_GraphRecordModel
-- Change a tensor's weights: Data (the tensor's new bytes, the same size as before) is cut into
-- 1 MiB chunks, stored content-addressed, and the tensor is mapped to them; only the chunks that
-- differ change. The old mapping goes to the history (system versioning), so the change can be
-- rolled back (dbo.sp_RestoreWeightSnapshot, dbo.sp_RollbackWeightsToTimestamp). A change that altered
-- a chunk is a new version of the model in the provenance graph (dbo.sp_GraphRecordModel).
CREATE OR REPLACE PROCEDURE dbo.sp_UpdateTensor(
    ModelId integer,
    TensorName text,
    Data bytea,
    TenantId integer DEFAULT NULL,
    INOUT ChunksChanged integer DEFAULT NULL
)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = dbo, public, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    chunk constant integer := 1048576;
    tensor record;
BEGIN
    sp_UpdateTensor.TenantId := dbo.fn_ResolveTenant(sp_UpdateTensor.TenantId, 'sp_UpdateTensor');
    SELECT t.TensorId, t.ByteSize INTO tensor
    FROM dbo.ModelTensors t JOIN dbo.Models m ON m.ModelId = t.ModelId
    WHERE t.ModelId = sp_UpdateTensor.ModelId AND t.TensorName = sp_UpdateTensor.TensorName
      AND m.TenantId = sp_UpdateTensor.TenantId;
    IF tensor IS NULL THEN
        RAISE EXCEPTION 'sp_UpdateTensor: model % of tenant % has no tensor %', sp_UpdateTensor.ModelId,
            sp_UpdateTensor.TenantId, sp_UpdateTensor.TensorName USING ERRCODE = '22023';
    END IF;
    IF Data IS NULL OR octet_length(Data) <> tensor.ByteSize THEN
        RAISE EXCEPTION 'sp_UpdateTensor: tensor % has % bytes; the new data has %', sp_UpdateTensor.TensorName,
            tensor.ByteSize, coalesce(octet_length(Data), 0) USING ERRCODE = '22023';
    END IF;
    CREATE TEMP TABLE IF NOT EXISTS hartonomous_new_chunks (ChunkIndex integer, ChunkHash bytea, Piece bytea) ON COMMIT DROP;
    TRUNCATE hartonomous_new_chunks;
    INSERT INTO hartonomous_new_chunks
    SELECT i, sha256(p), p
    FROM generate_series(0, greatest(0, (octet_length(Data) - 1) / chunk)) AS i
    CROSS JOIN LATERAL substring(Data FROM i * chunk + 1 FOR chunk) AS p
    WHERE octet_length(p) > 0;
    INSERT INTO dbo.TensorChunks (ChunkHash, ByteSize, Data)
    SELECT ChunkHash, octet_length(Piece), Piece FROM hartonomous_new_chunks
    ON CONFLICT (ChunkHash) DO NOTHING;
    UPDATE dbo.ModelTensorChunks c SET ChunkHash = n.ChunkHash
    FROM hartonomous_new_chunks n
    WHERE c.TensorId = tensor.TensorId AND c.ChunkIndex = n.ChunkIndex AND c.ChunkHash <> n.ChunkHash;
    GET DIAGNOSTICS ChunksChanged = ROW_COUNT;
    UPDATE dbo.ModelTensors t SET Sha256 = sha256(sp_UpdateTensor.Data) WHERE t.TensorId = tensor.TensorId;
    IF ChunksChanged > 0 THEN
        CALL dbo.sp_GraphRecordModel(sp_UpdateTensor.ModelId, 'update', NULL, NULL, sp_UpdateTensor.TenantId);
    END IF;
END
$$;
