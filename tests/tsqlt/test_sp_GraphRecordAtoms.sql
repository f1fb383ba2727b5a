-- dbo.sp_GraphRecordAtoms: each atom gets one node; an atom with an embedding gets SimilarTo edges to
-- the tenant's atoms of the same embedding type at least policy.GRAPH_SIMILAR_THRESHOLD (0.8) close,
-- found by the vector index's search (one for a batch's embeddings of a type); writing again changes nothing. 51600: no tenant; 51601: not a
-- JSON array of ids; 51602: an atom the tenant does not have. Fixture: test_fixtures.CreateAtom.
EXEC tSQLt.NewTestClass 'test_sp_GraphRecordAtoms';
GO

CREATE PROCEDURE test_sp_GraphRecordAtoms.[test atoms get one node each, also when written twice]
AS
BEGIN
    DECLARE @A BIGINT, @B BIGINT, @Ids NVARCHAR(100), @Nodes INT, @Edges INT;
    EXEC test_fixtures.CreateAtom @TenantId = 424242, @Content = 0x6E6F64652061, @AtomId = @A OUTPUT;
    EXEC test_fixtures.CreateAtom @TenantId = 424242, @Content = 0x6E6F64652062, @AtomId = @B OUTPUT;
    SET @Ids = CONCAT(N'[', @A, N',', @B, N',', @A, N']');
    EXEC dbo.sp_GraphRecordAtoms @AtomIds = @Ids, @TenantId = 424242;
    EXEC dbo.sp_GraphRecordAtoms @AtomIds = @Ids, @TenantId = 424242;
    SELECT @Nodes = COUNT(*) FROM graph.AtomGraphNodes WHERE NodeKind = N'atom' AND AtomId IN (@A, @B) AND TenantId = 424242;
    SELECT @Edges = COUNT(*) FROM graph.AtomGraphEdges WHERE TenantId = 424242;
    EXEC tSQLt.AssertEquals @Expected = 2, @Actual = @Nodes;
    EXEC tSQLt.AssertEquals @Expected = 0, @Actual = @Edges;  -- no embeddings: nothing to be similar by
END;
GO

CREATE PROCEDURE test_sp_GraphRecordAtoms.[test an embedding close to a stored one is SimilarTo it, a far one is not]
AS
BEGIN
    DECLARE @Near BIGINT, @Far BIGINT, @New BIGINT, @Ids NVARCHAR(100), @Edges INT, @Weight FLOAT;
    EXEC test_fixtures.CreateAtom @TenantId = 424242, @Content = 0x73696D2061, @AtomId = @Near OUTPUT;
    EXEC test_fixtures.CreateAtom @TenantId = 424242, @Content = 0x73696D2062, @AtomId = @Far OUTPUT;
    EXEC test_fixtures.CreateAtom @TenantId = 424242, @Content = 0x73696D2063, @AtomId = @New OUTPUT;
    -- (1, 0), (0, 1) and (0.8, 0.6): cosine 0.8 to the first, 0.6 to the second
    INSERT INTO dbo.AtomEmbeddings (AtomId, EmbeddingType, Dimension, EmbeddingVector)
    VALUES (@Near, N'tsqlt-graph-2d', 2, 0x0000803F00000000), (@Far, N'tsqlt-graph-2d', 2, 0x000000000000803F),
           (@New, N'tsqlt-graph-2d', 2, 0xCDCC4C3F9A99193F);
    SET @Ids = CONCAT(N'[', @New, N']');
    EXEC dbo.sp_GraphRecordAtoms @AtomIds = @Ids, @TenantId = 424242;
    SELECT @Edges = COUNT(*), @Weight = MAX(Weight) FROM graph.AtomGraphEdges WHERE TenantId = 424242 AND EdgeType = N'SimilarTo';
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @Edges;
    IF ABS(@Weight - 0.8) > 1e-5
        EXEC tSQLt.Fail 'the edge carries the cosine 0.8, not ', @Weight;
    CREATE TABLE #similar (SimilarAtomId BIGINT, Similarity FLOAT);
    INSERT INTO #similar EXEC dbo.sp_SimilarAtoms @AtomId = @New, @TenantId = 424242;
    SELECT @Edges = COUNT(*) FROM #similar WHERE SimilarAtomId = @Near;
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @Edges;
END;
GO

CREATE PROCEDURE test_sp_GraphRecordAtoms.[test a batch's atoms each get their own neighbours from one search]
AS
BEGIN
    DECLARE @Near BIGINT, @Far BIGINT, @One BIGINT, @Two BIGINT, @Ids NVARCHAR(100), @Edges INT, @Expected INT;
    EXEC test_fixtures.CreateAtom @TenantId = 424242, @Content = 0x62617463682061, @AtomId = @Near OUTPUT;
    EXEC test_fixtures.CreateAtom @TenantId = 424242, @Content = 0x62617463682062, @AtomId = @Far OUTPUT;
    EXEC test_fixtures.CreateAtom @TenantId = 424242, @Content = 0x62617463682063, @AtomId = @One OUTPUT;
    EXEC test_fixtures.CreateAtom @TenantId = 424242, @Content = 0x62617463682064, @AtomId = @Two OUTPUT;
    -- (1, 0), (0, 1), then (0.8, 0.6) and (0.6, 0.8): each new one is 0.8 from one stored atom and
    -- 0.96 from the other new one (a query of the same search)
    INSERT INTO dbo.AtomEmbeddings (AtomId, EmbeddingType, Dimension, EmbeddingVector)
    VALUES (@Near, N'tsqlt-graph-2d', 2, 0x0000803F00000000), (@Far, N'tsqlt-graph-2d', 2, 0x000000000000803F),
           (@One, N'tsqlt-graph-2d', 2, 0xCDCC4C3F9A99193F), (@Two, N'tsqlt-graph-2d', 2, 0x9A99193FCDCC4C3F);
    SET @Ids = CONCAT(N'[', @One, N',', @Two, N']');
    EXEC dbo.sp_GraphRecordAtoms @AtomIds = @Ids, @TenantId = 424242;
    SELECT @Edges = COUNT(*) FROM graph.AtomGraphEdges WHERE TenantId = 424242 AND EdgeType = N'SimilarTo';
    EXEC tSQLt.AssertEquals @Expected = 4, @Actual = @Edges;
    CREATE TABLE #similar (SimilarAtomId BIGINT, Similarity FLOAT);
    INSERT INTO #similar EXEC dbo.sp_SimilarAtoms @AtomId = @One, @TenantId = 424242;
    SELECT @Edges = COUNT(*) FROM #similar WHERE (SimilarAtomId = @Two AND ABS(Similarity - 0.96) < 1e-5)
                                              OR (SimilarAtomId = @Near AND ABS(Similarity - 0.8) < 1e-5);
    SELECT @Expected = COUNT(*) FROM #similar;
    EXEC tSQLt.AssertEquals @Expected = 2, @Actual = @Edges;
    EXEC tSQLt.AssertEquals @Expected = 2, @Actual = @Expected;
    DELETE FROM #similar;
    INSERT INTO #similar EXEC dbo.sp_SimilarAtoms @AtomId = @Two, @TenantId = 424242;
    SELECT @Edges = COUNT(*) FROM #similar WHERE (SimilarAtomId = @One AND ABS(Similarity - 0.96) < 1e-5)
                                              OR (SimilarAtomId = @Far AND ABS(Similarity - 0.8) < 1e-5);
    EXEC tSQLt.AssertEquals @Expected = 2, @Actual = @Edges;
END;
GO

CREATE PROCEDURE test_sp_GraphRecordAtoms.[test no tenant is refused (51600)]
AS
BEGIN
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 51600;
    EXEC dbo.sp_GraphRecordAtoms @AtomIds = N'[1]', @TenantId = NULL;
END;
GO

CREATE PROCEDURE test_sp_GraphRecordAtoms.[test ids that are not a JSON array are refused (51601)]
AS
BEGIN
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 51601;
    EXEC dbo.sp_GraphRecordAtoms @AtomIds = N'[1, "x"]', @TenantId = 424242;
END;
GO

CREATE PROCEDURE test_sp_GraphRecordAtoms.[test another tenant's atom is refused and nothing is written (51602)]
AS
BEGIN
    DECLARE @Theirs BIGINT, @Ids NVARCHAR(100), @Number INT, @Nodes INT;
    EXEC test_fixtures.CreateAtom @TenantId = 424243, @Content = 0x746865697273, @AtomId = @Theirs OUTPUT;
    SET @Ids = CONCAT(N'[', @Theirs, N']');
    BEGIN TRY
        EXEC dbo.sp_GraphRecordAtoms @AtomIds = @Ids, @TenantId = 424242;
    END TRY
    BEGIN CATCH
        SET @Number = ERROR_NUMBER();
    END CATCH;
    SELECT @Nodes = COUNT(*) FROM graph.AtomGraphNodes WHERE AtomId = @Theirs;
    EXEC tSQLt.AssertEquals @Expected = 51602, @Actual = @Number;
    EXEC tSQLt.AssertEquals @Expected = 0, @Actual = @Nodes;
END;
GO
