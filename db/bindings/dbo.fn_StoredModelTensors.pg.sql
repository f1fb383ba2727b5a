-- kind: function
-- requires: dbo.ModelTensors, dbo.ModelTensorChunks
-- A stored model's tensors in order, each with the hashes of its chunks in order (see dbo.fn_StoredModel).
CREATE OR REPLACE FUNCTION dbo.fn_StoredModelTensors(ModelId integer)
RETURNS TABLE (TensorName text, DType text, Shape bigint[], ByteSize bigint, ChunkHashes bytea[])
LANGUAGE sql
STABLE
AS $$
    SELECT t.TensorName, t.DType, t.Shape, t.ByteSize,
           coalesce(array_agg(c.ChunkHash ORDER BY c.ChunkIndex) FILTER (WHERE c.ChunkHash IS NOT NULL), '{}')
    FROM dbo.ModelTensors t
    LEFT JOIN dbo.ModelTensorChunks c ON c.TensorId = t.TensorId
    WHERE t.ModelId = fn_StoredModelTensors.ModelId
    GROUP BY t.TensorId
    ORDER BY t.TensorIndex;
$$;
