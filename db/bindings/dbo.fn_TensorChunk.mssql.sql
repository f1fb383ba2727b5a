-- kind: function
-- requires: dbo.TensorChunks
-- The bytes of one stored chunk by its SHA-256 (NULL: not stored); see dbo.fn_StoredModel.
CREATE OR ALTER FUNCTION dbo.fn_TensorChunk (@ChunkHash BINARY(32))
RETURNS VARBINARY(MAX)
AS
BEGIN
    RETURN (SELECT k.Data FROM dbo.TensorChunks AS k WHERE k.ChunkHash = @ChunkHash);
END;
