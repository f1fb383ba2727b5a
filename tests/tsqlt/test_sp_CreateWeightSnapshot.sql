-- dbo.sp_CreateWeightSnapshot @SnapshotName, @ModelId (NULL: all the tenant's models), @Description,
-- @TenantId, @SnapshotId OUTPUT: records the chunk map of every tensor under a name unique within
-- the tenant. 50301: the model does not exist for the tenant; 50302: the name is taken; 50303: the
-- name is empty or too long; 50304: the tenant has no models. Fixture: test_fixtures.CreateModel.
EXEC tSQLt.NewTestClass 'test_sp_CreateWeightSnapshot';
GO

CREATE PROCEDURE test_sp_CreateWeightSnapshot.[test the seed call snapshots every model of tenant 0]
AS
BEGIN
    DECLARE @ModelId INT, @Snapshots INT;
    EXEC test_fixtures.CreateModel @TenantId = 0, @ModelId = @ModelId OUTPUT;
    EXEC test_fixtures.IsolateModel @ModelId = @ModelId;
    EXEC test_fixtures.FakeSnapshots;
    -- docs seed 003, "Temporal Weight Operations", as written
    -- Create snapshot before risky experiment
    EXEC dbo.sp_CreateWeightSnapshot
        @SnapshotName = 'BeforeExperiment',
        @ModelId = NULL,
        @Description = 'Baseline weights before RL training';
    SELECT @Snapshots = COUNT(*) FROM dbo.WeightSnapshots WHERE SnapshotName = N'BeforeExperiment';
    IF @Snapshots < 1
        EXEC tSQLt.Fail 'no snapshot named BeforeExperiment was recorded';
    SELECT c.TensorId, c.ChunkIndex, c.ChunkHash
    INTO #actual
    FROM dbo.WeightSnapshotChunks AS c
    INNER JOIN dbo.WeightSnapshots AS s ON s.SnapshotId = c.SnapshotId
    WHERE s.SnapshotName = N'BeforeExperiment';
    SELECT c.TensorId, c.ChunkIndex, c.ChunkHash
    INTO #expected
    FROM dbo.ModelTensorChunks AS c
    INNER JOIN dbo.ModelTensors AS t ON t.TensorId = c.TensorId
    WHERE t.ModelId = @ModelId;
    EXEC tSQLt.AssertEqualsTable '#expected', '#actual';
END;
GO

CREATE PROCEDURE test_sp_CreateWeightSnapshot.[test a snapshot of one model records its chunk map and count]
AS
BEGIN
    DECLARE @ModelId INT, @SnapshotId INT, @Count INT;
    EXEC test_fixtures.CreateModel @TenantId = 424242, @ModelId = @ModelId OUTPUT;
    EXEC test_fixtures.FakeSnapshots;
    EXEC dbo.sp_CreateWeightSnapshot @SnapshotName = N'tsqlt-before', @ModelId = @ModelId, @Description = N'a test',
        @TenantId = 424242, @SnapshotId = @SnapshotId OUTPUT;
    SELECT @Count = ChunkCount FROM dbo.WeightSnapshots WHERE SnapshotId = @SnapshotId;
    EXEC tSQLt.AssertEquals @Expected = 2, @Actual = @Count;
    SELECT TensorId, ChunkIndex, ChunkHash INTO #actual FROM dbo.WeightSnapshotChunks WHERE SnapshotId = @SnapshotId;
    SELECT c.TensorId, c.ChunkIndex, c.ChunkHash
    INTO #expected
    FROM dbo.ModelTensorChunks AS c
    INNER JOIN dbo.ModelTensors AS t ON t.TensorId = c.TensorId
    WHERE t.ModelId = @ModelId;
    EXEC tSQLt.AssertEqualsTable '#expected', '#actual';
END;
GO

CREATE PROCEDURE test_sp_CreateWeightSnapshot.[test a later weight change does not change the snapshot]
AS
BEGIN
    DECLARE @ModelId INT, @SnapshotId INT, @Changed INT, @Recorded BINARY(32), @Original BINARY(32);
    SET @Original = HASHBYTES('SHA2_256', 0x0000803F00000040);
    EXEC test_fixtures.CreateModel @TenantId = 424242, @ModelId = @ModelId OUTPUT;
    EXEC test_fixtures.FakeSnapshots;
    EXEC dbo.sp_CreateWeightSnapshot @SnapshotName = N'tsqlt-before', @ModelId = @ModelId, @TenantId = 424242,
        @SnapshotId = @SnapshotId OUTPUT;
    EXEC dbo.sp_UpdateTensor @ModelId = @ModelId, @TensorName = N'w', @Data = 0x0000404000008040, @TenantId = 424242,
        @ChunksChanged = @Changed OUTPUT;
    SELECT @Recorded = c.ChunkHash
    FROM dbo.WeightSnapshotChunks AS c
    INNER JOIN dbo.ModelTensors AS t ON t.TensorId = c.TensorId
    WHERE c.SnapshotId = @SnapshotId AND t.TensorName = N'w';
    EXEC tSQLt.AssertEquals @Expected = @Original, @Actual = @Recorded;
END;
GO

CREATE PROCEDURE test_sp_CreateWeightSnapshot.[test a name already taken is refused (50302)]
AS
BEGIN
    DECLARE @ModelId INT, @SnapshotId INT;
    EXEC test_fixtures.CreateModel @TenantId = 424242, @ModelId = @ModelId OUTPUT;
    EXEC test_fixtures.FakeSnapshots;
    EXEC dbo.sp_CreateWeightSnapshot @SnapshotName = N'tsqlt-twice', @ModelId = @ModelId, @TenantId = 424242,
        @SnapshotId = @SnapshotId OUTPUT;
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 50302, @ExpectedMessagePattern = '%tsqlt-twice%';
    EXEC dbo.sp_CreateWeightSnapshot @SnapshotName = N'tsqlt-twice', @ModelId = @ModelId, @TenantId = 424242,
        @SnapshotId = @SnapshotId OUTPUT;
END;
GO

CREATE PROCEDURE test_sp_CreateWeightSnapshot.[test another tenant's model is refused (50301)]
AS
BEGIN
    DECLARE @ModelId INT, @SnapshotId INT;
    EXEC test_fixtures.CreateModel @TenantId = 424243, @ModelId = @ModelId OUTPUT;
    EXEC test_fixtures.FakeSnapshots;
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 50301;
    EXEC dbo.sp_CreateWeightSnapshot @SnapshotName = N'tsqlt-theirs', @ModelId = @ModelId, @TenantId = 424242,
        @SnapshotId = @SnapshotId OUTPUT;
END;
GO

CREATE PROCEDURE test_sp_CreateWeightSnapshot.[test a NULL name is refused (50303)]
AS
BEGIN
    DECLARE @ModelId INT, @SnapshotId INT;
    EXEC test_fixtures.CreateModel @TenantId = 424242, @ModelId = @ModelId OUTPUT;
    EXEC test_fixtures.FakeSnapshots;
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 50303;
    EXEC dbo.sp_CreateWeightSnapshot @SnapshotName = NULL, @ModelId = @ModelId, @TenantId = 424242,
        @SnapshotId = @SnapshotId OUTPUT;
END;
GO

CREATE PROCEDURE test_sp_CreateWeightSnapshot.[test a name longer than 256 characters is refused (50303)]
AS
BEGIN
    DECLARE @ModelId INT, @SnapshotId INT, @Long NVARCHAR(4000) = REPLICATE(N'n', 257);
    EXEC test_fixtures.CreateModel @TenantId = 424242, @ModelId = @ModelId OUTPUT;
    EXEC test_fixtures.FakeSnapshots;
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 50303, @ExpectedMessagePattern = '%1 to 256 characters%';
    EXEC dbo.sp_CreateWeightSnapshot @SnapshotName = @Long, @ModelId = @ModelId, @TenantId = 424242,
        @SnapshotId = @SnapshotId OUTPUT;
END;
GO

CREATE PROCEDURE test_sp_CreateWeightSnapshot.[test a tenant without models has nothing to snapshot (50304)]
AS
BEGIN
    DECLARE @SnapshotId INT;
    EXEC test_fixtures.UnbindTenantAccess;
    EXEC tSQLt.FakeTable @TableName = N'dbo.Models';
    EXEC test_fixtures.FakeSnapshots;
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 50304, @ExpectedMessagePattern = '%tenant 424242 has no models%';
    EXEC dbo.sp_CreateWeightSnapshot @SnapshotName = N'tsqlt-nothing', @TenantId = 424242, @SnapshotId = @SnapshotId OUTPUT;
END;
GO
