-- dbo.sp_ModelDerivations: what was derived from a model, downstream along DerivedFrom, breadth first
-- with MATCH into a table of visited nodes. The versions here are written the way the operations
-- write them (dbo.sp_UpdateTensor, dbo.sp_CreateWeightSnapshot call dbo.sp_GraphRecordModel).
-- 51640: MaxDepth outside 1 to 32; 51641: a model the tenant does not have. Fixture: test_fixtures.CreateModel.
EXEC tSQLt.NewTestClass 'test_sp_ModelDerivations';
GO

CREATE PROCEDURE test_sp_ModelDerivations.[test versions and a snapshot come back each once at their depth]
AS
BEGIN
    CREATE TABLE #derived (Depth INT, NodeId BIGINT, NodeKind NVARCHAR(16), EntityId BIGINT, VersionNumber INT,
                           EdgeType NVARCHAR(16), ViaNodeId BIGINT);
    CREATE TABLE #expected (Depth INT, NodeKind NVARCHAR(16), VersionNumber INT);
    DECLARE @ModelId INT, @Changed INT, @Snapshot INT;
    EXEC test_fixtures.CreateModel @TenantId = 424242, @ModelId = @ModelId OUTPUT;
    EXEC test_fixtures.FakeSnapshots;
    EXEC dbo.sp_UpdateTensor @ModelId = @ModelId, @TensorName = N'w', @Data = 0x0000404000008040, @TenantId = 424242,
        @ChunksChanged = @Changed OUTPUT;                                            -- version 1 <- model
    EXEC dbo.sp_CreateWeightSnapshot @SnapshotName = N'tsqlt-graph', @ModelId = @ModelId, @TenantId = 424242,
        @SnapshotId = @Snapshot OUTPUT;                                              -- snapshot <- version 1
    EXEC dbo.sp_UpdateTensor @ModelId = @ModelId, @TensorName = N'w', @Data = 0x0000E0400000F040, @TenantId = 424242,
        @ChunksChanged = @Changed OUTPUT;                                            -- version 2 <- version 1
    INSERT INTO #derived EXEC dbo.sp_ModelDerivations @ModelId = @ModelId, @TenantId = 424242;
    INSERT INTO #expected (Depth, NodeKind, VersionNumber) VALUES (1, N'model-version', 1), (2, N'snapshot', NULL),
                                                                  (2, N'model-version', 2);
    SELECT Depth, NodeKind, VersionNumber INTO #actual FROM #derived;
    EXEC tSQLt.AssertEqualsTable @Expected = N'#expected', @Actual = N'#actual';
END;
GO

CREATE PROCEDURE test_sp_ModelDerivations.[test MaxDepth 1 stops at the first version]
AS
BEGIN
    CREATE TABLE #derived (Depth INT, NodeId BIGINT, NodeKind NVARCHAR(16), EntityId BIGINT, VersionNumber INT,
                           EdgeType NVARCHAR(16), ViaNodeId BIGINT);
    DECLARE @ModelId INT, @Changed INT, @Rows INT, @Version INT;
    EXEC test_fixtures.CreateModel @TenantId = 424242, @ModelId = @ModelId OUTPUT;
    EXEC dbo.sp_UpdateTensor @ModelId = @ModelId, @TensorName = N'w', @Data = 0x0000404000008040, @TenantId = 424242,
        @ChunksChanged = @Changed OUTPUT;
    EXEC dbo.sp_UpdateTensor @ModelId = @ModelId, @TensorName = N'w', @Data = 0x0000E0400000F040, @TenantId = 424242,
        @ChunksChanged = @Changed OUTPUT;
    INSERT INTO #derived EXEC dbo.sp_ModelDerivations @ModelId = @ModelId, @MaxDepth = 1, @TenantId = 424242;
    SELECT @Rows = COUNT(*), @Version = MAX(VersionNumber) FROM #derived;
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @Rows;
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @Version;
END;
GO

CREATE PROCEDURE test_sp_ModelDerivations.[test an edge back to the model does not loop]
AS
BEGIN
    CREATE TABLE #derived (Depth INT, NodeId BIGINT, NodeKind NVARCHAR(16), EntityId BIGINT, VersionNumber INT,
                           EdgeType NVARCHAR(16), ViaNodeId BIGINT);
    DECLARE @ModelId INT, @Changed INT, @Rows INT, @ModelNode BIGINT, @Version BIGINT;
    EXEC test_fixtures.CreateModel @TenantId = 424242, @ModelId = @ModelId OUTPUT;
    EXEC dbo.sp_UpdateTensor @ModelId = @ModelId, @TensorName = N'w', @Data = 0x0000404000008040, @TenantId = 424242,
        @ChunksChanged = @Changed OUTPUT;
    SELECT @ModelNode = NodeId FROM graph.AtomGraphNodes WHERE NodeKind = N'model' AND ModelId = @ModelId;
    SELECT @Version = NodeId FROM graph.AtomGraphNodes WHERE NodeKind = N'model-version' AND ModelId = @ModelId;
    EXEC test_graph_fixtures.AddEdge @FromNode = @ModelNode, @ToNode = @Version, @EdgeType = N'DerivedFrom';
    INSERT INTO #derived EXEC dbo.sp_ModelDerivations @ModelId = @ModelId, @MaxDepth = 32, @TenantId = 424242;
    SELECT @Rows = COUNT(*) FROM #derived;
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @Rows;
END;
GO

CREATE PROCEDURE test_sp_ModelDerivations.[test a negative MaxDepth is refused (51640)]
AS
BEGIN
    DECLARE @ModelId INT;
    EXEC test_fixtures.CreateModel @TenantId = 424242, @ModelId = @ModelId OUTPUT;
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 51640;
    EXEC dbo.sp_ModelDerivations @ModelId = @ModelId, @MaxDepth = -1, @TenantId = 424242;
END;
GO

CREATE PROCEDURE test_sp_ModelDerivations.[test another tenant's model is refused (51641)]
AS
BEGIN
    DECLARE @ModelId INT;
    EXEC test_fixtures.CreateModel @TenantId = 424243, @ModelId = @ModelId OUTPUT;
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 51641, @ExpectedMessagePattern = '%does not exist for tenant 424242%';
    EXEC dbo.sp_ModelDerivations @ModelId = @ModelId, @TenantId = 424242;
END;
GO
