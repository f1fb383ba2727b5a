-- Shared fixtures of the provenance graph's test classes (no tests). A test class cannot hold a
-- graph statement itself (the gate parses every class batch, and sqlfluff reads neither MATCH nor
-- the pseudo-columns): edges written by hand, as a cycle needs, go through this parameterised
-- statement. Every row is written inside the calling test's transaction, so tSQLt rolls it back.
EXEC tSQLt.NewTestClass 'test_graph_fixtures';
GO

-- An edge of @EdgeType from node @FromNode to node @ToNode (NodeIds) of @TenantId.
CREATE PROCEDURE test_graph_fixtures.AddEdge
    @FromNode BIGINT,
    @ToNode BIGINT,
    @EdgeType NVARCHAR(16),
    @Weight FLOAT = NULL,
    @TenantId INT = 424242
AS
BEGIN
    SET NOCOUNT ON;
    EXEC sys.sp_executesql
        N'INSERT INTO graph.AtomGraphEdges ($from_id, $to_id, TenantId, EdgeType, Weight, CreatedBy)
          SELECT f.$node_id, t.$node_id, @Tenant, @Type, @W, N''tsqlt''
          FROM graph.AtomGraphNodes AS f, graph.AtomGraphNodes AS t WHERE f.NodeId = @From AND t.NodeId = @To;',
        N'@From BIGINT, @To BIGINT, @Type NVARCHAR(16), @W FLOAT, @Tenant INT',
        @From = @FromNode, @To = @ToNode, @Type = @EdgeType, @W = @Weight, @Tenant = @TenantId;
END;
GO

-- An atom of @TenantId with content @Content and its node in the graph (dbo.sp_GraphRecordAtoms).
CREATE PROCEDURE test_graph_fixtures.CreateAtomNode
    @Content VARBINARY(MAX),
    @TenantId INT = 424242,
    @AtomId BIGINT = NULL OUTPUT,
    @NodeId BIGINT = NULL OUTPUT
AS
BEGIN
    SET NOCOUNT ON;
    DECLARE @Ids NVARCHAR(40);
    EXEC test_fixtures.CreateAtom @TenantId = @TenantId, @Content = @Content, @AtomId = @AtomId OUTPUT;
    SET @Ids = CONCAT(N'[', @AtomId, N']');
    EXEC dbo.sp_GraphRecordAtoms @AtomIds = @Ids, @TenantId = @TenantId;
    SELECT @NodeId = NodeId FROM graph.AtomGraphNodes WHERE NodeKind = N'atom' AND AtomId = @AtomId;
END;
GO

-- Three atoms of tenant 424242 with their nodes, a -> b DerivedFrom, b -> c ComponentOf, c -> a
-- DerivedFrom (a cycle), and a -> c SimilarTo (not lineage), into the caller's #chain (Position,
-- AtomId, NodeId): a temporary table the test creates, since one SetUp made would end with it.
CREATE PROCEDURE test_graph_fixtures.CreateCycle
AS
BEGIN
    SET NOCOUNT ON;
    DECLARE @A BIGINT, @B BIGINT, @C BIGINT, @NodeA BIGINT, @NodeB BIGINT, @NodeC BIGINT;
    EXEC test_graph_fixtures.CreateAtomNode @Content = 0x6C696E656167652061, @AtomId = @A OUTPUT, @NodeId = @NodeA OUTPUT;
    EXEC test_graph_fixtures.CreateAtomNode @Content = 0x6C696E656167652062, @AtomId = @B OUTPUT, @NodeId = @NodeB OUTPUT;
    EXEC test_graph_fixtures.CreateAtomNode @Content = 0x6C696E656167652063, @AtomId = @C OUTPUT, @NodeId = @NodeC OUTPUT;
    EXEC test_graph_fixtures.AddEdge @FromNode = @NodeA, @ToNode = @NodeB, @EdgeType = N'DerivedFrom';
    EXEC test_graph_fixtures.AddEdge @FromNode = @NodeB, @ToNode = @NodeC, @EdgeType = N'ComponentOf';
    EXEC test_graph_fixtures.AddEdge @FromNode = @NodeC, @ToNode = @NodeA, @EdgeType = N'DerivedFrom';
    EXEC test_graph_fixtures.AddEdge @FromNode = @NodeA, @ToNode = @NodeC, @EdgeType = N'SimilarTo', @Weight = 0.9;
    INSERT INTO #chain (Position, AtomId, NodeId) VALUES (1, @A, @NodeA), (2, @B, @NodeB), (3, @C, @NodeC);
END;
GO
