-- kind: check
-- requires: dbo.sp_VectorDotProduct, dbo.sp_VectorCosineSimilarity, dbo.sp_VectorL2Distance, dbo.sp_VectorNormalize, dbo.sp_VectorSoftmax
-- Vector math through in-database Python, checked against numbers worked out by hand:
-- a = [1, 2, 3], b = [4, 5, 6] as little-endian float32 bytes.
SET NOCOUNT ON;
DECLARE @a VARBINARY(MAX) = 0x0000803F0000004000004040;
DECLARE @b VARBINARY(MAX) = 0x000080400000A0400000C040;
DECLARE @ones VARBINARY(MAX) = 0x0000803F0000803F0000803F;
DECLARE @dot FLOAT, @cosine FLOAT, @l2 FLOAT, @unitVector VARBINARY(MAX), @unit FLOAT;
DECLARE @softmax VARBINARY(MAX), @softmaxSum FLOAT;
EXEC dbo.sp_VectorDotProduct @v1 = @a, @v2 = @b, @result = @dot OUTPUT;
EXEC dbo.sp_VectorCosineSimilarity @v1 = @a, @v2 = @b, @result = @cosine OUTPUT;
EXEC dbo.sp_VectorL2Distance @v1 = @a, @v2 = @b, @result = @l2 OUTPUT;
EXEC dbo.sp_VectorNormalize @v = @a, @result = @unitVector OUTPUT;
EXEC dbo.sp_VectorDotProduct @v1 = @unitVector, @v2 = @unitVector, @result = @unit OUTPUT;
EXEC dbo.sp_VectorSoftmax @v = @a, @result = @softmax OUTPUT;
EXEC dbo.sp_VectorDotProduct @v1 = @softmax, @v2 = @ones, @result = @softmaxSum OUTPUT;
SELECT N'vector dot product (in-database Python)' AS CheckName,
       CAST(CASE WHEN ABS(@dot - 32) < 1e-9 THEN 1 ELSE 0 END AS BIT) AS Passed,
       CONCAT(N'[1,2,3]·[4,5,6] = ', @dot, N', expected 32') AS Detail
UNION ALL
SELECT N'vector cosine similarity (in-database Python)',
       CAST(CASE WHEN ABS(@cosine - 0.9746318461970762) < 1e-9 THEN 1 ELSE 0 END AS BIT),
       CONCAT(N'cos([1,2,3], [4,5,6]) = ', @cosine, N', expected 0.974631846')
UNION ALL
SELECT N'vector L2 distance (in-database Python)',
       CAST(CASE WHEN ABS(@l2 - SQRT(27.0)) < 1e-9 THEN 1 ELSE 0 END AS BIT),
       CONCAT(N'|[1,2,3]-[4,5,6]| = ', @l2, N', expected sqrt(27)')
UNION ALL
SELECT N'vector normalize (in-database Python)',
       CAST(CASE WHEN ABS(@unit - 1) < 1e-6 THEN 1 ELSE 0 END AS BIT),
       CONCAT(N'|normalize([1,2,3])|^2 = ', @unit, N', expected 1')
UNION ALL
SELECT N'vector softmax (in-database Python)',
       CAST(CASE WHEN ABS(@softmaxSum - 1) < 1e-6 THEN 1 ELSE 0 END AS BIT),
       CONCAT(N'sum(softmax([1,2,3])) = ', @softmaxSum, N', expected 1');
