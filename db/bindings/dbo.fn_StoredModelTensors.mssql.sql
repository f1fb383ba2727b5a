-- kind: function
-- requires: dbo.ModelTensors, dbo.ModelTensorChunks
-- A stored model's tensors, each with the hashes of its chunks in order as a JSON array of hex
-- strings (OPENJSON's [key] is the chunk's index, on 2016 and later alike), and TensorIndex to order
-- them by (a function's rows have no order). See dbo.fn_StoredModel.
CREATE OR ALTER FUNCTION dbo.fn_StoredModelTensors (@ModelId INT)
RETURNS TABLE
AS
RETURN
    SELECT t.TensorIndex, t.TensorName, t.DType, t.Shape, t.ByteSize,
           -- a tensor without chunks aggregates nothing but NULLs: STRING_AGG gives NULL, read as []; the
           -- CASE keeps the NULL whatever the caller's CONCAT_NULL_YIELDS_NULL (a module does not save it)
           ISNULL(N'[' + STRING_AGG(CASE WHEN c.ChunkHash IS NOT NULL
                                         THEN CONVERT(NVARCHAR(MAX), CONCAT(N'"', CONVERT(NVARCHAR(64), c.ChunkHash, 2), N'"')) END,
                                    N',') WITHIN GROUP (ORDER BY c.ChunkIndex) + N']', N'[]') AS ChunkHashes
    FROM dbo.ModelTensors AS t
    LEFT JOIN dbo.ModelTensorChunks AS c ON c.TensorId = t.TensorId
    WHERE t.ModelId = @ModelId
    GROUP BY t.TensorId, t.TensorIndex, t.TensorName, t.DType, t.Shape, t.ByteSize;
