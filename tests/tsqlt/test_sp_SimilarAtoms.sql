-- dbo.sp_SimilarAtoms: an atom's SimilarTo edges read in either direction, each neighbour once with
-- its cosine, nearest first; lineage edges are not similarity. 51650: an atom the tenant does not
-- have. Fixtures: test_graph_fixtures (nodes and edges written by hand).
EXEC tSQLt.NewTestClass 'test_sp_SimilarAtoms';
GO

CREATE PROCEDURE test_sp_SimilarAtoms.[test neighbours on both ends of an edge, nearest first]
AS
BEGIN
    CREATE TABLE #similar (SimilarAtomId BIGINT, Similarity FLOAT);
    CREATE TABLE #expected (SimilarAtomId BIGINT, Similarity FLOAT);
    DECLARE @A BIGINT, @B BIGINT, @C BIGINT, @D BIGINT, @NodeA BIGINT, @NodeB BIGINT, @NodeC BIGINT, @NodeD BIGINT;
    EXEC test_graph_fixtures.CreateAtomNode @Content = 0x73696D696C61722061, @AtomId = @A OUTPUT, @NodeId = @NodeA OUTPUT;
    EXEC test_graph_fixtures.CreateAtomNode @Content = 0x73696D696C61722062, @AtomId = @B OUTPUT, @NodeId = @NodeB OUTPUT;
    EXEC test_graph_fixtures.CreateAtomNode @Content = 0x73696D696C61722063, @AtomId = @C OUTPUT, @NodeId = @NodeC OUTPUT;
    EXEC test_graph_fixtures.CreateAtomNode @Content = 0x73696D696C61722064, @AtomId = @D OUTPUT, @NodeId = @NodeD OUTPUT;
    EXEC test_graph_fixtures.AddEdge @FromNode = @NodeA, @ToNode = @NodeB, @EdgeType = N'SimilarTo', @Weight = 0.85;
    EXEC test_graph_fixtures.AddEdge @FromNode = @NodeC, @ToNode = @NodeA, @EdgeType = N'SimilarTo', @Weight = 0.95;
    EXEC test_graph_fixtures.AddEdge @FromNode = @NodeA, @ToNode = @NodeD, @EdgeType = N'DerivedFrom';
    INSERT INTO #expected (SimilarAtomId, Similarity) VALUES (@C, 0.95), (@B, 0.85);
    INSERT INTO #similar EXEC dbo.sp_SimilarAtoms @AtomId = @A, @TenantId = 424242;
    EXEC tSQLt.AssertEqualsTable @Expected = N'#expected', @Actual = N'#similar';
END;
GO

CREATE PROCEDURE test_sp_SimilarAtoms.[test an atom without edges has no neighbours]
AS
BEGIN
    CREATE TABLE #similar (SimilarAtomId BIGINT, Similarity FLOAT);
    DECLARE @A BIGINT, @Rows INT;
    EXEC test_fixtures.CreateAtom @TenantId = 424242, @Content = 0x6E6F206E6F6465, @AtomId = @A OUTPUT;
    INSERT INTO #similar EXEC dbo.sp_SimilarAtoms @AtomId = @A, @TenantId = 424242;
    SELECT @Rows = COUNT(*) FROM #similar;
    EXEC tSQLt.AssertEquals @Expected = 0, @Actual = @Rows;
END;
GO

CREATE PROCEDURE test_sp_SimilarAtoms.[test another tenant's atom is refused (51650)]
AS
BEGIN
    DECLARE @A BIGINT;
    EXEC test_fixtures.CreateAtom @TenantId = 424243, @Content = 0x6F7468657273, @AtomId = @A OUTPUT;
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 51650;
    EXEC dbo.sp_SimilarAtoms @AtomId = @A, @TenantId = 424242;
END;
GO
