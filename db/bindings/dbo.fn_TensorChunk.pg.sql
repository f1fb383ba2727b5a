-- kind: function
-- requires: dbo.TensorChunks
-- engine-specific: SQL Server reads stored models in T-SQL (dbo.sp_GenerateEmbedding, dbo.sp_GenerateText, the client's statements)
-- The bytes of one stored chunk by its SHA-256 (NULL: not stored); see dbo.fn_StoredModel.
CREATE OR REPLACE FUNCTION dbo.fn_TensorChunk(ChunkHash bytea)
RETURNS bytea
LANGUAGE sql
STABLE
AS $$
    SELECT k.Data FROM dbo.TensorChunks k WHERE k.ChunkHash = fn_TensorChunk.ChunkHash;
$$;
