-- kind: function
-- requires: dbo.TensorChunks
-- The bytes of one stored chunk by its SHA-256 (NULL: not stored); see dbo.fn_StoredModel.
CREATE OR REPLACE FUNCTION dbo.fn_TensorChunk(ChunkHash bytea)
RETURNS bytea
LANGUAGE sql
STABLE
AS $$
    SELECT k.Data FROM dbo.TensorChunks k WHERE k.ChunkHash = fn_TensorChunk.ChunkHash;
$$;
