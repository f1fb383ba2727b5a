-- dbo.sp_AtomLineage: where an atom came from, upstream along DerivedFrom and ComponentOf, breadth
-- first with MATCH into a table of visited nodes: each node once at its smallest depth, a cycle ends
-- the walk, @MaxDepth bounds it (policy.GRAPH_MAX_DEPTH, 32). 51630: MaxDepth outside 1 to 32; 51631:
-- an atom the tenant does not have. Fixture: test_graph_fixtures.CreateCycle (a cycle of atoms written by hand).
EXEC tSQLt.NewTestClass 'test_sp_AtomLineage';
GO

CREATE PROCEDURE test_sp_AtomLineage.[test a cycle ends the walk: each node once, at its depth, through its edge]
AS
BEGIN
    CREATE TABLE #chain (Position INT, AtomId BIGINT, NodeId BIGINT);
    CREATE TABLE #lineage (Depth INT, NodeId BIGINT, NodeKind NVARCHAR(16), EntityId BIGINT, VersionNumber INT,
                           EdgeType NVARCHAR(16), ViaNodeId BIGINT);
    EXEC test_graph_fixtures.CreateCycle;
    CREATE TABLE #expected (Depth INT, NodeId BIGINT, NodeKind NVARCHAR(16), EntityId BIGINT, VersionNumber INT,
                            EdgeType NVARCHAR(16), ViaNodeId BIGINT);
    DECLARE @A BIGINT = (SELECT AtomId FROM #chain WHERE Position = 1);
    INSERT INTO #expected (Depth, NodeId, NodeKind, EntityId, VersionNumber, EdgeType, ViaNodeId)
    SELECT c.Position - 1, c.NodeId, N'atom', c.AtomId, NULL,
           CASE c.Position WHEN 2 THEN N'DerivedFrom' ELSE N'ComponentOf' END, p.NodeId
    FROM #chain AS c INNER JOIN #chain AS p ON p.Position = c.Position - 1;
    INSERT INTO #lineage EXEC dbo.sp_AtomLineage @AtomId = @A, @MaxDepth = 32, @TenantId = 424242;
    EXEC tSQLt.AssertEqualsTable @Expected = N'#expected', @Actual = N'#lineage';
END;
GO

CREATE PROCEDURE test_sp_AtomLineage.[test MaxDepth 1 stops after one hop]
AS
BEGIN
    CREATE TABLE #chain (Position INT, AtomId BIGINT, NodeId BIGINT);
    CREATE TABLE #lineage (Depth INT, NodeId BIGINT, NodeKind NVARCHAR(16), EntityId BIGINT, VersionNumber INT,
                           EdgeType NVARCHAR(16), ViaNodeId BIGINT);
    EXEC test_graph_fixtures.CreateCycle;
    DECLARE @A BIGINT = (SELECT AtomId FROM #chain WHERE Position = 1), @Rows INT, @Node BIGINT;
    INSERT INTO #lineage EXEC dbo.sp_AtomLineage @AtomId = @A, @MaxDepth = 1, @TenantId = 424242;
    SELECT @Rows = COUNT(*), @Node = MAX(NodeId) FROM #lineage;
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @Rows;
    IF @Node <> (SELECT NodeId FROM #chain WHERE Position = 2)
        EXEC tSQLt.Fail 'the one hop from a is b';
END;
GO

CREATE PROCEDURE test_sp_AtomLineage.[test MaxDepth 0 is refused (51630)]
AS
BEGIN
    CREATE TABLE #chain (Position INT, AtomId BIGINT, NodeId BIGINT);
    CREATE TABLE #lineage (Depth INT, NodeId BIGINT, NodeKind NVARCHAR(16), EntityId BIGINT, VersionNumber INT,
                           EdgeType NVARCHAR(16), ViaNodeId BIGINT);
    EXEC test_graph_fixtures.CreateCycle;
    DECLARE @A BIGINT = (SELECT AtomId FROM #chain WHERE Position = 1);
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 51630, @ExpectedMessagePattern = '%MaxDepth must be between 1 and 32%';
    EXEC dbo.sp_AtomLineage @AtomId = @A, @MaxDepth = 0, @TenantId = 424242;
END;
GO

CREATE PROCEDURE test_sp_AtomLineage.[test MaxDepth above the cap is refused (51630)]
AS
BEGIN
    CREATE TABLE #chain (Position INT, AtomId BIGINT, NodeId BIGINT);
    CREATE TABLE #lineage (Depth INT, NodeId BIGINT, NodeKind NVARCHAR(16), EntityId BIGINT, VersionNumber INT,
                           EdgeType NVARCHAR(16), ViaNodeId BIGINT);
    EXEC test_graph_fixtures.CreateCycle;
    DECLARE @A BIGINT = (SELECT AtomId FROM #chain WHERE Position = 1);
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 51630;
    EXEC dbo.sp_AtomLineage @AtomId = @A, @MaxDepth = 2147483647, @TenantId = 424242;
END;
GO

CREATE PROCEDURE test_sp_AtomLineage.[test another tenant's atom is refused (51631)]
AS
BEGIN
    CREATE TABLE #chain (Position INT, AtomId BIGINT, NodeId BIGINT);
    CREATE TABLE #lineage (Depth INT, NodeId BIGINT, NodeKind NVARCHAR(16), EntityId BIGINT, VersionNumber INT,
                           EdgeType NVARCHAR(16), ViaNodeId BIGINT);
    EXEC test_graph_fixtures.CreateCycle;
    DECLARE @A BIGINT = (SELECT AtomId FROM #chain WHERE Position = 1);
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 51631, @ExpectedMessagePattern = '%does not exist for tenant 424243%';
    EXEC dbo.sp_AtomLineage @AtomId = @A, @TenantId = 424243;
END;
GO

CREATE PROCEDURE test_sp_AtomLineage.[test a NULL AtomId is refused (51631)]
AS
BEGIN
    CREATE TABLE #chain (Position INT, AtomId BIGINT, NodeId BIGINT);
    CREATE TABLE #lineage (Depth INT, NodeId BIGINT, NodeKind NVARCHAR(16), EntityId BIGINT, VersionNumber INT,
                           EdgeType NVARCHAR(16), ViaNodeId BIGINT);
    EXEC test_graph_fixtures.CreateCycle;
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 51631, @ExpectedMessagePattern = '%atom NULL does not exist%';
    EXEC dbo.sp_AtomLineage @AtomId = NULL, @TenantId = 424242;
END;
GO
