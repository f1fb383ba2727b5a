-- dbo.sp_RestoreWeightSnapshot @SnapshotName, @DryRun = 0, @TenantId: puts the weights back as the
-- snapshot recorded them (with @DryRun only lists what would change); returns ModelName, TensorName,
-- ChunksChanged per tensor that differs. 50321: no such snapshot for the tenant.
EXEC tSQLt.NewTestClass 'test_sp_RestoreWeightSnapshot';
GO

CREATE PROCEDURE test_sp_RestoreWeightSnapshot.[test the seed calls: snapshot, change, restore]
AS
BEGIN
    DECLARE @ModelId INT, @Changed INT, @Hash BINARY(32), @Sha BINARY(32), @Original BINARY(32);
    SET @Original = HASHBYTES('SHA2_256', 0x0000803F00000040);
    EXEC test_fixtures.CreateModel @TenantId = 0, @ModelId = @ModelId OUTPUT;
    EXEC test_fixtures.IsolateModel @ModelId = @ModelId;
    EXEC test_fixtures.FakeSnapshots;
    -- docs seed 003, "Temporal Weight Operations", as written
    EXEC dbo.sp_CreateWeightSnapshot
        @SnapshotName = 'BeforeExperiment',
        @ModelId = NULL,
        @Description = 'Baseline weights before RL training';
    EXEC dbo.sp_UpdateTensor @ModelId = @ModelId, @TensorName = N'w', @Data = 0x0000404000008040, @TenantId = 0,
        @ChunksChanged = @Changed OUTPUT;
    CREATE TABLE #actual (ModelName NVARCHAR(256), TensorName NVARCHAR(512), ChunksChanged INT);
    -- Restore from snapshot
    INSERT INTO #actual (ModelName, TensorName, ChunksChanged)
    EXEC dbo.sp_RestoreWeightSnapshot
        @SnapshotName = 'BeforeExperiment',
        @DryRun = 0;
    SELECT TOP (0) * INTO #expected FROM #actual;
    INSERT INTO #expected (ModelName, TensorName, ChunksChanged) VALUES (N'tsqlt-fixture', N'w', 1);
    EXEC tSQLt.AssertEqualsTable '#expected', '#actual';
    SET @Hash = test_fixtures.ChunkHash(@ModelId, N'w');
    SELECT @Sha = Sha256 FROM dbo.ModelTensors WHERE ModelId = @ModelId AND TensorName = N'w';
    EXEC tSQLt.AssertEquals @Expected = @Original, @Actual = @Hash;
    EXEC tSQLt.AssertEquals @Expected = @Original, @Actual = @Sha;
END;
GO

CREATE PROCEDURE test_sp_RestoreWeightSnapshot.[test a dry run lists the change and changes nothing]
AS
BEGIN
    DECLARE @ModelId INT, @SnapshotId INT, @Changed INT, @Hash BINARY(32), @Changed2 BINARY(32);
    SET @Changed2 = HASHBYTES('SHA2_256', 0x0000404000008040);
    EXEC test_fixtures.CreateModel @TenantId = 424242, @ModelId = @ModelId OUTPUT;
    EXEC test_fixtures.FakeSnapshots;
    EXEC dbo.sp_CreateWeightSnapshot @SnapshotName = N'tsqlt-before', @ModelId = @ModelId, @TenantId = 424242,
        @SnapshotId = @SnapshotId OUTPUT;
    EXEC dbo.sp_UpdateTensor @ModelId = @ModelId, @TensorName = N'w', @Data = 0x0000404000008040, @TenantId = 424242,
        @ChunksChanged = @Changed OUTPUT;
    CREATE TABLE #actual (ModelName NVARCHAR(256), TensorName NVARCHAR(512), ChunksChanged INT);
    INSERT INTO #actual (ModelName, TensorName, ChunksChanged)
    EXEC dbo.sp_RestoreWeightSnapshot @SnapshotName = N'tsqlt-before', @DryRun = 1, @TenantId = 424242;
    SELECT TOP (0) * INTO #expected FROM #actual;
    INSERT INTO #expected (ModelName, TensorName, ChunksChanged) VALUES (N'tsqlt-fixture', N'w', 1);
    EXEC tSQLt.AssertEqualsTable '#expected', '#actual';
    SET @Hash = test_fixtures.ChunkHash(@ModelId, N'w');
    EXEC tSQLt.AssertEquals @Expected = @Changed2, @Actual = @Hash;
END;
GO

CREATE PROCEDURE test_sp_RestoreWeightSnapshot.[test restoring unchanged weights changes nothing]
AS
BEGIN
    DECLARE @ModelId INT, @SnapshotId INT;
    EXEC test_fixtures.CreateModel @TenantId = 424242, @ModelId = @ModelId OUTPUT;
    EXEC test_fixtures.FakeSnapshots;
    EXEC dbo.sp_CreateWeightSnapshot @SnapshotName = N'tsqlt-before', @ModelId = @ModelId, @TenantId = 424242,
        @SnapshotId = @SnapshotId OUTPUT;
    CREATE TABLE #actual (ModelName NVARCHAR(256), TensorName NVARCHAR(512), ChunksChanged INT);
    INSERT INTO #actual (ModelName, TensorName, ChunksChanged)
    EXEC dbo.sp_RestoreWeightSnapshot @SnapshotName = N'tsqlt-before', @TenantId = 424242;
    EXEC tSQLt.AssertEmptyTable '#actual';
END;
GO

CREATE PROCEDURE test_sp_RestoreWeightSnapshot.[test a snapshot name the tenant does not have is refused (50321)]
AS
BEGIN
    EXEC test_fixtures.FakeSnapshots;
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 50321;
    EXEC dbo.sp_RestoreWeightSnapshot @SnapshotName = N'tsqlt-no-such-snapshot', @TenantId = 424242;
END;
GO

CREATE PROCEDURE test_sp_RestoreWeightSnapshot.[test another tenant's snapshot is refused (50321)]
AS
BEGIN
    DECLARE @ModelId INT, @SnapshotId INT;
    EXEC test_fixtures.CreateModel @TenantId = 424243, @ModelId = @ModelId OUTPUT;
    EXEC test_fixtures.FakeSnapshots;
    EXEC dbo.sp_CreateWeightSnapshot @SnapshotName = N'tsqlt-theirs', @ModelId = @ModelId, @TenantId = 424243,
        @SnapshotId = @SnapshotId OUTPUT;
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 50321;
    EXEC dbo.sp_RestoreWeightSnapshot @SnapshotName = N'tsqlt-theirs', @TenantId = 424242;
END;
GO
