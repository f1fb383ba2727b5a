-- dbo.sp_GraphRecordModel: 'store' makes the model's node and each tensor's, ComponentOf it (once,
-- however often); a weight change ('update', 'restore', 'rollback') is a new version DerivedFrom the
-- state before (a restore also from the snapshot, a rollback also from the state then); 'snapshot'
-- is the snapshot's node DerivedFrom what it recorded. 51611: an operation it does not know; 51612: a
-- snapshot the tenant does not have; 51613: a model the tenant does not have; 51614: a rollback
-- without SourceTime. Fixture: test_fixtures.CreateModel (tensors w and b).
EXEC tSQLt.NewTestClass 'test_sp_GraphRecordModel';
GO

CREATE PROCEDURE test_sp_GraphRecordModel.[test store makes the tensors ComponentOf the model, once]
AS
BEGIN
    DECLARE @ModelId INT, @Tensors INT, @Edges INT;
    EXEC test_fixtures.CreateModel @TenantId = 424242, @ModelId = @ModelId OUTPUT;
    EXEC dbo.sp_GraphRecordModel @ModelId = @ModelId, @Operation = N'store', @TenantId = 424242;
    EXEC dbo.sp_GraphRecordModel @ModelId = @ModelId, @Operation = N'store', @TenantId = 424242;
    SELECT @Tensors = COUNT(*) FROM graph.AtomGraphNodes AS n INNER JOIN dbo.ModelTensors AS t ON t.TensorId = n.TensorId
    WHERE n.NodeKind = N'tensor' AND t.ModelId = @ModelId;
    SELECT @Edges = COUNT(*) FROM graph.AtomGraphEdges WHERE TenantId = 424242 AND EdgeType = N'ComponentOf';
    EXEC tSQLt.AssertEquals @Expected = 2, @Actual = @Tensors;
    EXEC tSQLt.AssertEquals @Expected = 2, @Actual = @Edges;
END;
GO

CREATE PROCEDURE test_sp_GraphRecordModel.[test weight changes are numbered versions, a rollback derives from the state then too]
AS
BEGIN
    DECLARE @ModelId INT, @Versions INT, @Last INT, @Edges INT, @Before DATETIME2(7);
    EXEC test_fixtures.CreateModel @TenantId = 424242, @ModelId = @ModelId OUTPUT;
    EXEC dbo.sp_GraphRecordModel @ModelId = @ModelId, @Operation = N'update', @TenantId = 424242;
    -- CreatedAt keeps milliseconds: the waits put version 1 before @Before and version 2 after it
    WAITFOR DELAY '00:00:00.020';
    SET @Before = SYSUTCDATETIME();
    WAITFOR DELAY '00:00:00.020';
    EXEC dbo.sp_GraphRecordModel @ModelId = @ModelId, @Operation = N'update', @TenantId = 424242;
    EXEC dbo.sp_GraphRecordModel @ModelId = @ModelId, @Operation = N'rollback', @SourceTime = @Before, @TenantId = 424242;
    SELECT @Versions = COUNT(*), @Last = MAX(VersionNumber) FROM graph.AtomGraphNodes
    WHERE NodeKind = N'model-version' AND ModelId = @ModelId;
    SELECT @Edges = COUNT(*) FROM graph.AtomGraphEdges WHERE TenantId = 424242 AND CreatedBy = N'sp_RollbackWeightsToTimestamp';
    EXEC tSQLt.AssertEquals @Expected = 3, @Actual = @Versions;
    EXEC tSQLt.AssertEquals @Expected = 3, @Actual = @Last;
    EXEC tSQLt.AssertEquals @Expected = 2, @Actual = @Edges;  -- from version 2 (before) and version 1 (then)
END;
GO

CREATE PROCEDURE test_sp_GraphRecordModel.[test an operation it does not know is refused (51611)]
AS
BEGIN
    DECLARE @ModelId INT;
    EXEC test_fixtures.CreateModel @TenantId = 424242, @ModelId = @ModelId OUTPUT;
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 51611, @ExpectedMessagePattern = '%not delete%';
    EXEC dbo.sp_GraphRecordModel @ModelId = @ModelId, @Operation = N'delete', @TenantId = 424242;
END;
GO

CREATE PROCEDURE test_sp_GraphRecordModel.[test a snapshot the tenant does not have is refused (51612)]
AS
BEGIN
    EXEC test_fixtures.FakeSnapshots;
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 51612;
    EXEC dbo.sp_GraphRecordModel @ModelId = NULL, @Operation = N'snapshot', @SnapshotId = 1, @TenantId = 424242;
END;
GO

CREATE PROCEDURE test_sp_GraphRecordModel.[test another tenant's model is refused (51613)]
AS
BEGIN
    DECLARE @ModelId INT;
    EXEC test_fixtures.CreateModel @TenantId = 424243, @ModelId = @ModelId OUTPUT;
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 51613;
    EXEC dbo.sp_GraphRecordModel @ModelId = @ModelId, @Operation = N'update', @TenantId = 424242;
END;
GO

CREATE PROCEDURE test_sp_GraphRecordModel.[test a rollback without SourceTime is refused (51614)]
AS
BEGIN
    DECLARE @ModelId INT;
    EXEC test_fixtures.CreateModel @TenantId = 424242, @ModelId = @ModelId OUTPUT;
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 51614;
    EXEC dbo.sp_GraphRecordModel @ModelId = @ModelId, @Operation = N'rollback', @TenantId = 424242;
END;
GO
