-- dbo.sp_RollbackWeightsToTimestamp @TargetDateTime, @ModelId (NULL: all the tenant's models),
-- @DryRun = 1, @TenantId: puts the weights back as dbo.ModelTensorChunks' system-time history had
-- them at @TargetDateTime (UTC); returns ModelName, TensorName, ChunksChanged per tensor that differs.
-- 50331: no such model for the tenant; 50332: a time before the model was ingested; 50333: no time.
-- Rows a test writes all carry its transaction's start as their period, so one test gives tensor w
-- a past by writing a history row itself (system versioning off and on again, in its transaction).
EXEC tSQLt.NewTestClass 'test_sp_RollbackWeightsToTimestamp';
GO

-- tensor w of model @ModelId mapped to [3, 4] from 2025-01-01 to 2025-06-01 (then [1, 2], now)
CREATE PROCEDURE test_sp_RollbackWeightsToTimestamp.[GiveTensorWAPast]
    @ModelId INT
AS
BEGIN
    DECLARE @TensorId BIGINT;
    SELECT @TensorId = TensorId FROM dbo.ModelTensors WHERE ModelId = @ModelId AND TensorName = N'w';
    -- dynamic SQL: a statement that writes the history table compiles only while versioning is off
    EXEC sys.sp_executesql N'
ALTER TABLE dbo.ModelTensorChunks SET (SYSTEM_VERSIONING = OFF);
INSERT INTO dbo.ModelTensorChunksHistory (TensorId, ChunkIndex, ChunkHash, ValidFrom, ValidTo)
VALUES (@TensorId, 0, HASHBYTES(''SHA2_256'', 0x0000404000008040), ''2025-01-01'', ''2025-06-01'');
ALTER TABLE dbo.ModelTensorChunks SET (SYSTEM_VERSIONING = ON (HISTORY_TABLE = dbo.ModelTensorChunksHistory));',
        N'@TensorId BIGINT', @TensorId = @TensorId;
END;
GO

CREATE PROCEDURE test_sp_RollbackWeightsToTimestamp.[test a dry run lists the tensor that differs and changes nothing]
AS
BEGIN
    DECLARE @ModelId INT, @Hash BINARY(32), @Now BINARY(32) = HASHBYTES('SHA2_256', 0x0000803F00000040);
    EXEC test_fixtures.CreateModel @TenantId = 424242, @IngestionDate = '2024-12-01', @ModelId = @ModelId OUTPUT;
    EXEC test_sp_RollbackWeightsToTimestamp.[GiveTensorWAPast] @ModelId = @ModelId;
    CREATE TABLE #actual (ModelName NVARCHAR(256), TensorName NVARCHAR(512), ChunksChanged INT);
    INSERT INTO #actual (ModelName, TensorName, ChunksChanged)
    EXEC dbo.sp_RollbackWeightsToTimestamp @TargetDateTime = '2025-03-01', @ModelId = @ModelId, @DryRun = 1,
        @TenantId = 424242;
    SELECT TOP (0) * INTO #expected FROM #actual;
    INSERT INTO #expected (ModelName, TensorName, ChunksChanged) VALUES (N'tsqlt-fixture', N'w', 1);
    EXEC tSQLt.AssertEqualsTable '#expected', '#actual';
    SET @Hash = test_fixtures.ChunkHash(@ModelId, N'w');
    EXEC tSQLt.AssertEquals @Expected = @Now, @Actual = @Hash;
END;
GO

CREATE PROCEDURE test_sp_RollbackWeightsToTimestamp.[test a rollback puts the tensor back and rehashes it]
AS
BEGIN
    DECLARE @ModelId INT, @Hash BINARY(32), @Sha BINARY(32), @Then BINARY(32) = HASHBYTES('SHA2_256', 0x0000404000008040);
    EXEC test_fixtures.CreateModel @TenantId = 424242, @IngestionDate = '2024-12-01', @ModelId = @ModelId OUTPUT;
    EXEC test_sp_RollbackWeightsToTimestamp.[GiveTensorWAPast] @ModelId = @ModelId;
    CREATE TABLE #actual (ModelName NVARCHAR(256), TensorName NVARCHAR(512), ChunksChanged INT);
    INSERT INTO #actual (ModelName, TensorName, ChunksChanged)
    EXEC dbo.sp_RollbackWeightsToTimestamp @TargetDateTime = '2025-03-01', @ModelId = @ModelId, @DryRun = 0,
        @TenantId = 424242;
    SET @Hash = test_fixtures.ChunkHash(@ModelId, N'w');
    SELECT @Sha = Sha256 FROM dbo.ModelTensors WHERE ModelId = @ModelId AND TensorName = N'w';
    EXEC tSQLt.AssertEquals @Expected = @Then, @Actual = @Hash;
    EXEC tSQLt.AssertEquals @Expected = @Then, @Actual = @Sha;
END;
GO

CREATE PROCEDURE test_sp_RollbackWeightsToTimestamp.[test the seed call is a dry run over tenant 0 that changes nothing]
AS
BEGIN
    DECLARE @ModelId INT, @Before INT, @After INT;
    EXEC test_fixtures.CreateModel @TenantId = 0, @IngestionDate = '2025-01-01', @ModelId = @ModelId OUTPUT;
    EXEC test_fixtures.IsolateModel @ModelId = @ModelId;
    SELECT @Before = CHECKSUM_AGG(CHECKSUM(TensorId, ChunkIndex, ChunkHash)) FROM dbo.ModelTensorChunks;
    CREATE TABLE #actual (ModelName NVARCHAR(256), TensorName NVARCHAR(512), ChunksChanged INT);
    -- docs seed 003, "Temporal Weight Operations", as written
    -- Rollback to specific timestamp (dry run)
    INSERT INTO #actual (ModelName, TensorName, ChunksChanged)
    EXEC dbo.sp_RollbackWeightsToTimestamp
        @TargetDateTime = '2025-11-08 10:00:00',
        @ModelId = NULL,
        @DryRun = 1;
    SELECT @After = CHECKSUM_AGG(CHECKSUM(TensorId, ChunkIndex, ChunkHash)) FROM dbo.ModelTensorChunks;
    EXEC tSQLt.AssertEquals @Expected = @Before, @Actual = @After;
    -- the fixture's chunk map has no history before this transaction: nothing to put back
    EXEC tSQLt.AssertEmptyTable '#actual';
END;
GO

CREATE PROCEDURE test_sp_RollbackWeightsToTimestamp.[test a model the tenant does not have is refused (50331)]
AS
BEGIN
    DECLARE @ModelId INT;
    EXEC test_fixtures.CreateModel @TenantId = 424243, @ModelId = @ModelId OUTPUT;
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 50331;
    EXEC dbo.sp_RollbackWeightsToTimestamp @TargetDateTime = '2025-03-01', @ModelId = @ModelId, @TenantId = 424242;
END;
GO

CREATE PROCEDURE test_sp_RollbackWeightsToTimestamp.[test a time before the model was ingested is refused (50332)]
AS
BEGIN
    DECLARE @ModelId INT;
    EXEC test_fixtures.CreateModel @TenantId = 424242, @IngestionDate = '2025-01-01', @ModelId = @ModelId OUTPUT;
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 50332, @ExpectedMessagePattern = '%was ingested at 2025-01-01%';
    EXEC dbo.sp_RollbackWeightsToTimestamp @TargetDateTime = '2024-06-01', @ModelId = @ModelId, @TenantId = 424242;
END;
GO

CREATE PROCEDURE test_sp_RollbackWeightsToTimestamp.[test a NULL time is refused (50333)]
AS
BEGIN
    DECLARE @ModelId INT;
    EXEC test_fixtures.CreateModel @TenantId = 424242, @ModelId = @ModelId OUTPUT;
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 50333;
    EXEC dbo.sp_RollbackWeightsToTimestamp @TargetDateTime = NULL, @ModelId = @ModelId, @TenantId = 424242;
END;
GO
