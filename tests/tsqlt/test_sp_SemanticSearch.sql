-- dbo.sp_SemanticSearch: the tenant's embeddings ranked by cosine to the query (exactly one of
-- @query_embedding: a JSON array of floats, @query_vector: float32 bytes, @query_text), returned as
-- AtomId, Score, ContentType, Preview; each call is a dbo.InferenceRequests row (TaskType
-- 'semantic-search'). Errors 50201-50208 for bad arguments. The tests search exactly
-- (@use_hybrid = 0): the atoms they ingest have no vector bucket until landmarks are refitted.
EXEC tSQLt.NewTestClass 'test_sp_SemanticSearch';
GO

-- two text atoms of tenant 424242 with embeddings: a kitten sentence and a revenue sentence.
-- dbo.sp_ChargeUsage is a spy in this class (its own class tests it): tSQLt runs each test in a
-- transaction with a savepoint, which cannot reach the memory-optimized billing ledger (12326)
CREATE PROCEDURE test_sp_SemanticSearch.[SetUp]
AS
BEGIN
    EXEC tSQLt.SpyProcedure @ProcedureName = N'dbo.sp_ChargeUsage';
    DECLARE @Id BIGINT;
    EXEC dbo.sp_IngestAtom @Content = 0x6B697474656E7320736C65657020696E207468652061667465726E6F6F6E2073756E,
        @ContentType = N'text/plain', @TenantId = 424242, @GenerateEmbedding = 1, @AtomId = @Id OUTPUT;
    EXEC dbo.sp_IngestAtom @Content = 0x717561727465726C7920726576656E7565206772657720627920666F75722070657263656E74,
        @ContentType = N'text/plain', @TenantId = 424242, @GenerateEmbedding = 1, @AtomId = @Id OUTPUT;
END;
GO

CREATE PROCEDURE test_sp_SemanticSearch.[test query_text ranks the closer atom first and returns its preview]
AS
BEGIN
    CREATE TABLE #results (AtomId BIGINT, Score FLOAT, ContentType NVARCHAR(128), Preview NVARCHAR(MAX));
    DECLARE @Preview NVARCHAR(4000), @Rows INT, @First FLOAT, @Second FLOAT;
    INSERT INTO #results (AtomId, Score, ContentType, Preview)
    EXEC dbo.sp_SemanticSearch @query_text = N'a sleepy cat', @top_k = 10, @use_hybrid = 0, @TenantId = 424242;
    SELECT @Rows = COUNT(*) FROM #results;
    SELECT TOP (1) @Preview = Preview, @First = Score FROM #results ORDER BY Score DESC;
    SELECT @Second = MIN(Score) FROM #results;
    EXEC tSQLt.AssertEquals @Expected = 2, @Actual = @Rows;
    EXEC tSQLt.AssertEquals @Expected = N'kittens sleep in the afternoon sun', @Actual = @Preview;
    IF NOT (@First > @Second AND @First <= 1 AND @Second >= -1)
        EXEC tSQLt.Fail 'scores out of order or range: ', @First, ', ', @Second;
END;
GO

CREATE PROCEDURE test_sp_SemanticSearch.[test top_k limits the rows]
AS
BEGIN
    CREATE TABLE #results (AtomId BIGINT, Score FLOAT, ContentType NVARCHAR(128), Preview NVARCHAR(MAX));
    DECLARE @Rows INT;
    INSERT INTO #results (AtomId, Score, ContentType, Preview)
    EXEC dbo.sp_SemanticSearch @query_text = N'a sleepy cat', @top_k = 1, @use_hybrid = 0, @TenantId = 424242;
    SELECT @Rows = COUNT(*) FROM #results;
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @Rows;
END;
GO

CREATE PROCEDURE test_sp_SemanticSearch.[test query_vector of a stored embedding finds its atom with score 1]
AS
BEGIN
    CREATE TABLE #results (AtomId BIGINT, Score FLOAT, ContentType NVARCHAR(128), Preview NVARCHAR(MAX));
    DECLARE @Vector VARBINARY(MAX), @Atom BIGINT, @Found BIGINT, @Score FLOAT;
    SELECT TOP (1) @Atom = a.AtomId, @Vector = e.EmbeddingVector
    FROM dbo.Atoms AS a INNER JOIN dbo.AtomEmbeddings AS e ON e.AtomId = a.AtomId
    WHERE a.TenantId = 424242 ORDER BY a.AtomId DESC;
    INSERT INTO #results (AtomId, Score, ContentType, Preview)
    EXEC dbo.sp_SemanticSearch @query_vector = @Vector, @top_k = 1, @use_hybrid = 0, @TenantId = 424242;
    SELECT @Found = AtomId, @Score = Score FROM #results;
    EXEC tSQLt.AssertEquals @Expected = @Atom, @Actual = @Found;
    IF @Score IS NULL OR ABS(@Score - 1) > 1e-5
        EXEC tSQLt.Fail 'the score of an embedding with itself should be 1, got ', @Score;
END;
GO

CREATE PROCEDURE test_sp_SemanticSearch.[test query_embedding as JSON with query_dimension 384 finds the same atom]
AS
BEGIN
    CREATE TABLE #results (AtomId BIGINT, Score FLOAT, ContentType NVARCHAR(128), Preview NVARCHAR(MAX));
    DECLARE @Json NVARCHAR(MAX), @Atom BIGINT, @Found BIGINT;
    EXEC dbo.sp_GenerateEmbedding @text_value = N'kittens sleep in the afternoon sun', @embedding_json = @Json OUTPUT;
    SELECT @Atom = AtomId FROM dbo.Atoms
    WHERE TenantId = 424242 AND ContentHash = HASHBYTES('SHA2_256', CAST('kittens sleep in the afternoon sun' AS VARBINARY(MAX)));
    INSERT INTO #results (AtomId, Score, ContentType, Preview)
    EXEC dbo.sp_SemanticSearch
        @query_embedding = @Json,
        @query_dimension = 384,
        @top_k = 10,
        @category = 'text',
        @use_hybrid = 0,
        @TenantId = 424242;
    SELECT TOP (1) @Found = AtomId FROM #results ORDER BY Score DESC;
    EXEC tSQLt.AssertEquals @Expected = @Atom, @Actual = @Found;
END;
GO

CREATE PROCEDURE test_sp_SemanticSearch.[test the seed call: a 768-value query where no type has 768 dimensions is refused (50210)]
AS
BEGIN
    -- docs seed 003, "Semantic Search (Hybrid Spatial + Vector)", as written, the '...' filled in to
    -- the 768 values the seed's @query_dimension says; tenant 0 has no 768-dimension embedding type
    EXEC test_fixtures.UnbindTenantAccess;
    EXEC tSQLt.FakeTable @TableName = N'dbo.VectorIndexSegments';
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 50210,
                               @ExpectedMessagePattern = '%no embedding type of tenant 0 has 768 dimensions%';
    -- Hybrid search (O(log n) spatial filter + exact vector rerank)
    EXEC dbo.sp_SemanticSearch
        @query_embedding = '[0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222, 0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222,
        0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222, 0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222,
        0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222, 0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222,
        0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222, 0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222,
        0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222, 0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222,
        0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222, 0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222,
        0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222, 0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222,
        0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222, 0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222,
        0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222, 0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222,
        0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222, 0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222,
        0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222, 0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222,
        0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222, 0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222,
        0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222, 0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222,
        0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222, 0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222,
        0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222, 0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222,
        0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222, 0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222,
        0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222, 0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222,
        0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222, 0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222,
        0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222, 0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222,
        0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222, 0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222,
        0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222, 0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222,
        0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222, 0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222,
        0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222, 0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222,
        0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222, 0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222,
        0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222, 0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222,
        0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222, 0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222,
        0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222, 0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222,
        0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222, 0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222,
        0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222, 0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222,
        0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222, 0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222,
        0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222, 0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222,
        0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222, 0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222,
        0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222, 0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222,
        0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222, 0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222,
        0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222, 0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222,
        0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222, 0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222,
        0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222, 0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222,
        0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222, 0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222,
        0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222, 0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222,
        0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222, 0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222,
        0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222, 0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222,
        0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222, 0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222,
        0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222, 0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222,
        0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222, 0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222,
        0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222, 0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222,
        0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222, 0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222,
        0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222, 0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222,
        0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222, 0.123, 0.456, 0.789, 0.321, 0.654, 0.987, 0.111, 0.222]',
        @query_dimension = 768,
        @top_k = 10,
        @category = 'text',
        @use_hybrid = 1;
END;
GO

CREATE PROCEDURE test_sp_SemanticSearch.[test each call is recorded in InferenceRequests]
AS
BEGIN
    CREATE TABLE #results (AtomId BIGINT, Score FLOAT, ContentType NVARCHAR(128), Preview NVARCHAR(MAX));
    DECLARE @Before INT, @After INT, @Added INT, @Task NVARCHAR(64), @Results INT, @Examined BIGINT;
    SELECT @Before = COUNT(*) FROM dbo.InferenceRequests WHERE TenantId = 424242;
    INSERT INTO #results (AtomId, Score, ContentType, Preview)
    EXEC dbo.sp_SemanticSearch @query_text = N'a sleepy cat', @top_k = 1, @use_hybrid = 0, @TenantId = 424242;
    SELECT @After = COUNT(*) FROM dbo.InferenceRequests WHERE TenantId = 424242;
    SELECT TOP (1) @Task = TaskType, @Results = ResultCount, @Examined = CandidatesExamined
    FROM dbo.InferenceRequests WHERE TenantId = 424242 ORDER BY RequestId DESC;
    SET @Added = @After - @Before;
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @Added;
    EXEC tSQLt.AssertEquals @Expected = N'semantic-search', @Actual = @Task;
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @Results;
    EXEC tSQLt.AssertEquals @Expected = 2, @Actual = @Examined;
END;
GO

CREATE PROCEDURE test_sp_SemanticSearch.[test another tenant and another category see nothing]
AS
BEGIN
    CREATE TABLE #results (AtomId BIGINT, Score FLOAT, ContentType NVARCHAR(128), Preview NVARCHAR(MAX));
    DECLARE @Rows INT;
    INSERT INTO #results (AtomId, Score, ContentType, Preview)
    EXEC dbo.sp_SemanticSearch @query_text = N'a sleepy cat', @use_hybrid = 0, @TenantId = 424243;
    INSERT INTO #results (AtomId, Score, ContentType, Preview)
    EXEC dbo.sp_SemanticSearch @query_text = N'a sleepy cat', @use_hybrid = 0, @category = N'image', @TenantId = 424242;
    SELECT @Rows = COUNT(*) FROM #results;
    EXEC tSQLt.AssertEquals @Expected = 0, @Actual = @Rows;
END;
GO

CREATE PROCEDURE test_sp_SemanticSearch.[test top_k outside 1 to 1000 is refused (50201)]
AS
BEGIN
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 50201;
    EXEC dbo.sp_SemanticSearch @query_text = N'cat', @top_k = 0, @TenantId = 424242;
END;
GO

CREATE PROCEDURE test_sp_SemanticSearch.[test no query at all is refused (50202)]
AS
BEGIN
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 50202;
    EXEC dbo.sp_SemanticSearch @top_k = 5, @TenantId = 424242;
END;
GO

CREATE PROCEDURE test_sp_SemanticSearch.[test two queries at once are refused (50202)]
AS
BEGIN
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 50202;
    EXEC dbo.sp_SemanticSearch @query_text = N'cat', @query_embedding = N'[0.1, 0.2]', @TenantId = 424242;
END;
GO

CREATE PROCEDURE test_sp_SemanticSearch.[test a query_vector that is not whole float32 values is refused (50203)]
AS
BEGIN
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 50203, @ExpectedMessagePattern = '%1 to 1998 float32 values, not 7 bytes%';
    EXEC dbo.sp_SemanticSearch @query_vector = 0x0000803F000000, @TenantId = 424242;
END;
GO

CREATE PROCEDURE test_sp_SemanticSearch.[test a query_dimension that does not match the values is refused (50207)]
AS
BEGIN
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 50207, @ExpectedMessagePattern = '%3 values%dimension given is 384%';
    EXEC dbo.sp_SemanticSearch @query_embedding = N'[0.1, 0.2, 0.3]', @query_dimension = 384, @use_hybrid = 0,
        @TenantId = 424242;
END;
GO

CREATE PROCEDURE test_sp_SemanticSearch.[test an unknown prefilter is refused (50204)]
AS
BEGIN
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 50204, @ExpectedMessagePattern = '%prefilter%nearest%';
    EXEC dbo.sp_SemanticSearch @query_text = N'cat', @prefilter = N'nearest', @TenantId = 424242;
END;
GO

CREATE PROCEDURE test_sp_SemanticSearch.[test probes below 1 is refused (50205)]
AS
BEGIN
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 50205;
    EXEC dbo.sp_SemanticSearch @query_text = N'cat', @probes = 0, @TenantId = 424242;
END;
GO

CREATE PROCEDURE test_sp_SemanticSearch.[test blank query_text is refused (50206)]
AS
BEGIN
    DECLARE @Blank NVARCHAR(10) = CONCAT(N'  ', NCHAR(9), NCHAR(10), NCHAR(160));
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 50206;
    EXEC dbo.sp_SemanticSearch @query_text = @Blank, @TenantId = 424242;
END;
GO

CREATE PROCEDURE test_sp_SemanticSearch.[test a query_embedding that is not a JSON array of numbers is refused (50207)]
AS
BEGIN
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 50207, @ExpectedMessagePattern = '%query_embedding%';
    EXEC dbo.sp_SemanticSearch @query_embedding = N'[0.1, "x"]', @use_hybrid = 0, @TenantId = 424242;
END;
GO

CREATE PROCEDURE test_sp_SemanticSearch.[test a query_dimension the text embedding does not have is refused (50208)]
AS
BEGIN
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 50208, @ExpectedMessagePattern = '%384%768%';
    EXEC dbo.sp_SemanticSearch @query_text = N'a sleepy cat', @query_dimension = 768, @use_hybrid = 0, @TenantId = 424242;
END;
GO
