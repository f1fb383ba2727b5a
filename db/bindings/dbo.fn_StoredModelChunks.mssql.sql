-- kind: function
-- requires: dbo.fn_StoredModelTensors, dbo.fn_TensorChunk
-- engine-specific: PostgreSQL's bindings read the same rows in PL/Python (bindings/_plpython_stored_models.py)
-- A stored model's bytes as the procedures hand them to Python (the input data set that
-- hartonomous_ext.model_store.from_chunk_rows reads): one row per chunk of each tensor, in
-- dbo.fn_StoredModelTensors's order, with its bytes from dbo.fn_TensorChunk; a tensor without
-- chunks (0 bytes) is one row with a NULL hash. Data NULL beside a hash: the store lacks that chunk,
-- which the caller names before any Python runs. One reader for sp_GenerateEmbedding,
-- sp_GenerateText and sp_IngestAtoms.
CREATE OR ALTER FUNCTION dbo.fn_StoredModelChunks (@ModelId INT)
RETURNS TABLE
AS
RETURN
    SELECT w.TensorIndex, w.TensorName, w.DType, w.Shape, w.ByteSize, w.ChunkIndex, w.ChunkHash,
           dbo.fn_TensorChunk(w.ChunkHash) AS Data
    FROM (SELECT t.TensorIndex, t.TensorName, t.DType, t.Shape, t.ByteSize, CONVERT(INT, h.[key]) AS ChunkIndex,
                 CONVERT(BINARY(32), h.value, 2) AS ChunkHash
          FROM dbo.fn_StoredModelTensors(@ModelId) AS t
          OUTER APPLY OPENJSON(t.ChunkHashes) AS h) AS w;
