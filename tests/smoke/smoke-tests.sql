-- Hartonomous smoke tests, SQL Server: run after a publish, against the published database.
--   sqlcmd -S <server> -d <database> -E -b -I -i tests/smoke/smoke-tests.sql
-- Each check prints PASS: <what>, or stops the run with FAIL: <what and why> (-b: a non-zero exit).
-- It ingests a few atoms of its own (tenant 424242) and removes them at the end.
-- The PostgreSQL twin is tests/smoke/smoke-tests.pg.sql (psql -v ON_ERROR_STOP=1 -f), run on every commit.
:on error exit
SET NOCOUNT ON;
SET XACT_ABORT ON;
GO

DECLARE @First BIGINT, @Again BIGINT, @Refs BIGINT, @Message NVARCHAR(2048);
EXEC dbo.sp_IngestAtom @Content = 0x536D6F6B6520746573743A207468652064617461626173652069732074686520656E67696E652E,
    @ContentType = N'text/plain', @Metadata = N'{"source": "smoke"}', @TenantId = 424242, @GenerateEmbedding = 1,
    @AtomId = @First OUTPUT;
EXEC dbo.sp_IngestAtom @Content = 0x536D6F6B6520746573743A207468652064617461626173652069732074686520656E67696E652E,
    @ContentType = N'text/plain', @Metadata = N'{"source": "smoke"}', @TenantId = 424242, @GenerateEmbedding = 1,
    @AtomId = @Again OUTPUT;
SELECT @Refs = ReferenceCount FROM dbo.Atoms WHERE AtomId = @First;
IF @First IS NULL OR @Again IS NULL OR @Again <> @First OR @Refs <> 2
BEGIN
    SET @Message = CONCAT(N'FAIL: ingest: the same content twice gave atoms ', @First, N' and ', @Again,
                          N' with reference count ', @Refs);
    THROW 50900, @Message, 1;
END;
PRINT CONCAT(N'PASS: ingest (atom ', @First, N', the same content again is the same atom, reference count 2)');
GO

DECLARE @Vector VARBINARY(MAX), @Norm FLOAT, @Message NVARCHAR(2048);
EXEC dbo.sp_GenerateEmbedding @text_value = N'Smoke test embedding', @embedding = @Vector OUTPUT;
EXEC dbo.sp_VectorDotProduct @v1 = @Vector, @v2 = @Vector, @result = @Norm OUTPUT;
IF DATALENGTH(@Vector) <> 384 * 4 OR ABS(@Norm - 1) > 1e-4
BEGIN
    SET @Message = CONCAT(N'FAIL: embed: ', DATALENGTH(@Vector), N' bytes, |v|^2 = ', @Norm);
    THROW 50901, @Message, 1;
END;
PRINT CONCAT(N'PASS: embed (384 dimensions, |v|^2 = ', @Norm, N')');
GO

-- The check runs sp_SemanticSearch (sqlcmd shows the rows), reads its request record, and ranks the
-- two atoms' stored embeddings against the query the same way; the tSQLt class
-- tests/tsqlt/test_sp_SemanticSearch.sql captures its rows with INSERT ... EXEC.
DECLARE @Cat BIGINT, @Other BIGINT, @Query VARBINARY(MAX), @CatVector VARBINARY(MAX), @OtherVector VARBINARY(MAX);
DECLARE @CatScore FLOAT, @OtherScore FLOAT, @Results INT, @Message NVARCHAR(2048);
EXEC dbo.sp_IngestAtom @Content = 0x536D6F6B6520746573743A206B697474656E7320736C65657020696E207468652061667465726E6F6F6E2073756E2E,
    @ContentType = N'text/plain', @TenantId = 424242, @GenerateEmbedding = 1, @AtomId = @Cat OUTPUT;
EXEC dbo.sp_IngestAtom @Content = 0x536D6F6B6520746573743A20717561727465726C7920726576656E7565206772657720627920666F75722070657263656E742E,
    @ContentType = N'text/plain', @TenantId = 424242, @GenerateEmbedding = 1, @AtomId = @Other OUTPUT;
EXEC dbo.sp_SemanticSearch @query_text = N'a sleepy cat', @top_k = 1, @use_hybrid = 0, @TenantId = 424242;
SELECT TOP (1) @Results = ResultCount FROM dbo.InferenceRequests
WHERE TenantId = 424242 AND TaskType = N'semantic-search' ORDER BY RequestId DESC;
EXEC dbo.sp_GenerateEmbedding @text_value = N'a sleepy cat', @embedding = @Query OUTPUT;
SELECT @CatVector = EmbeddingVector FROM dbo.AtomEmbeddings WHERE AtomId = @Cat;
SELECT @OtherVector = EmbeddingVector FROM dbo.AtomEmbeddings WHERE AtomId = @Other;
EXEC dbo.sp_VectorCosineSimilarity @v1 = @Query, @v2 = @CatVector, @result = @CatScore OUTPUT;
EXEC dbo.sp_VectorCosineSimilarity @v1 = @Query, @v2 = @OtherVector, @result = @OtherScore OUTPUT;
IF @Results IS NULL OR @Results <> 1 OR @CatScore IS NULL OR @CatScore <= @OtherScore
BEGIN
    SET @Message = CONCAT(N'FAIL: search: request recorded ', @Results, N' results; cos(query, kitten) = ', @CatScore,
                          N', cos(query, revenue) = ', @OtherScore);
    THROW 50902, @Message, 1;
END;
PRINT N'PASS: search (one result recorded; "a sleepy cat" is closer to the kitten atom)';
GO

DECLARE @Dot FLOAT, @Cosine FLOAT, @Message NVARCHAR(2048);
EXEC dbo.sp_VectorDotProduct @v1 = 0x0000803F0000004000004040, @v2 = 0x000080400000A0400000C040, @result = @Dot OUTPUT;
EXEC dbo.sp_VectorCosineSimilarity @v1 = 0x0000803F0000004000004040, @v2 = 0x000080400000A0400000C040,
    @result = @Cosine OUTPUT;
IF ABS(@Dot - 32) > 1e-9 OR ABS(@Cosine - 0.9746318461970762) > 1e-9
BEGIN
    SET @Message = CONCAT(N'FAIL: vector ops: [1,2,3].[4,5,6] = ', @Dot, N', cos = ', @Cosine);
    THROW 50903, @Message, 1;
END;
PRINT N'PASS: vector ops (dot 32, cosine 0.974631846)';
GO

DECLARE @Missing NVARCHAR(MAX), @Message NVARCHAR(2048);
SELECT @Missing = STRING_AGG(expected.name, N', ')
FROM (VALUES (N'dbo.sp_IngestAtom'), (N'dbo.sp_SemanticSearch'), (N'dbo.sp_RecomputeAllSpatialProjections'),
             (N'dbo.sp_GenerateText'), (N'dbo.sp_IngestModel'), (N'dbo.sp_GenerateEmbedding')) AS expected (name)
WHERE OBJECT_ID(expected.name, N'P') IS NULL;
IF @Missing IS NOT NULL
BEGIN
    SET @Message = CONCAT(N'FAIL: verification: missing ', @Missing);
    THROW 50904, @Message, 1;
END;
IF NOT EXISTS (SELECT 1 FROM deploy.Deployments WHERE Status IN (N'succeeded', N'no changes'))
    THROW 50905, N'FAIL: verification: no successful deployment in deploy.Deployments', 1;
PRINT N'PASS: verification (the public procedures exist; the last publish succeeded)';
GO

DELETE FROM dbo.InferenceRequests WHERE TenantId = 424242;
DELETE FROM dbo.Atoms WHERE TenantId = 424242;
PRINT N'smoke tests: all passed';
GO
