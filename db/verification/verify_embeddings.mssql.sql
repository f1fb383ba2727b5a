-- kind: check
-- requires: dbo.sp_ComputeEmbedding, dbo.sp_VectorDotProduct, dbo.sp_VectorCosineSimilarity
-- all-MiniLM-L6-v2 runs in the database: 384 normalized values, and meaning decides closeness.
-- (dbo.sp_ComputeEmbedding, not the public sp_GenerateEmbedding: a check is not metered usage)
SET NOCOUNT ON;
DECLARE @cat VARBINARY(MAX), @kitten VARBINARY(MAX), @revenue VARBINARY(MAX), @json NVARCHAR(MAX);
DECLARE @unit FLOAT, @near FLOAT, @far FLOAT;
EXEC dbo.sp_ComputeEmbedding @text_value = N'A cat sleeps on the warm windowsill.', @ModelId = NULL, @TenantId = 0, @embedding = @cat OUTPUT, @embedding_json = @json OUTPUT;
EXEC dbo.sp_ComputeEmbedding @text_value = N'A kitten naps in the sun by the window.', @ModelId = NULL, @TenantId = 0, @embedding = @kitten OUTPUT, @embedding_json = @json OUTPUT;
EXEC dbo.sp_ComputeEmbedding @text_value = N'Quarterly revenue rose by four percent.', @ModelId = NULL, @TenantId = 0, @embedding = @revenue OUTPUT, @embedding_json = @json OUTPUT;
EXEC dbo.sp_VectorDotProduct @v1 = @cat, @v2 = @cat, @result = @unit OUTPUT;
EXEC dbo.sp_VectorCosineSimilarity @v1 = @cat, @v2 = @kitten, @result = @near OUTPUT;
EXEC dbo.sp_VectorCosineSimilarity @v1 = @cat, @v2 = @revenue, @result = @far OUTPUT;
SELECT N'embedding model (in-database onnxruntime)' AS CheckName,
       CAST(CASE WHEN DATALENGTH(@cat) = 1536 AND ABS(@unit - 1) < 1e-5 AND @near > @far + 0.2
                 THEN 1 ELSE 0 END AS BIT) AS Passed,
       CONCAT(N'384 dims, |v|^2 = ', @unit, N'; cos(cat, kitten) = ', @near, N', cos(cat, revenue) = ', @far) AS Detail;
