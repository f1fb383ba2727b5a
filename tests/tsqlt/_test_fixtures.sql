-- Shared fixtures of the tSQLt test classes (not a test class of a procedure: it holds no tests).
-- Loaded first by scripts/mssql-tests.sh (the name sorts before test_*.sql). Every row it writes is
-- written inside the calling test's transaction, so tSQLt rolls it back.
EXEC tSQLt.NewTestClass 'test_fixtures';
GO

-- A small stored model of @TenantId: tensors w = [1, 2] and b = [5, 6] (float32, one chunk each),
-- plus the chunk [3, 4] that tests use as w's other version. IngestionDate defaults to now.
CREATE PROCEDURE test_fixtures.CreateModel
    @TenantId INT,
    @IngestionDate DATETIME2(3) = NULL,
    @ModelId INT = NULL OUTPUT
AS
BEGIN
    SET NOCOUNT ON;
    SET @ModelId = NULL;
    INSERT INTO dbo.Models (TenantId, ModelName, ModelFormat, Architecture, ParameterCount, Config, IngestionDate,
                            TensorCount, TotalBytes)
    VALUES (@TenantId, N'tsqlt-fixture', N'safetensors', N'fixture', 4, N'{}',
            COALESCE(@IngestionDate, SYSUTCDATETIME()), 2, 16);
    SET @ModelId = SCOPE_IDENTITY();
    INSERT INTO dbo.TensorChunks (ChunkHash, ByteSize, Data)
    SELECT HASHBYTES('SHA2_256', v.Data), DATALENGTH(v.Data), v.Data
    FROM (VALUES (0x0000803F00000040), (0x0000404000008040), (0x0000A0400000C040)) AS v (Data)
    WHERE NOT EXISTS (SELECT 1 FROM dbo.TensorChunks AS k WHERE k.ChunkHash = HASHBYTES('SHA2_256', v.Data));
    INSERT INTO dbo.ModelTensors (ModelId, TensorIndex, TensorName, DType, Shape, ElementCount, ByteSize, Sha256)
    VALUES (@ModelId, 0, N'w', N'F32', N'[2]', 2, 8, HASHBYTES('SHA2_256', 0x0000803F00000040)),
           (@ModelId, 1, N'b', N'F32', N'[2]', 2, 8, HASHBYTES('SHA2_256', 0x0000A0400000C040));
    INSERT INTO dbo.ModelTensorChunks (TensorId, ChunkIndex, ChunkHash)
    SELECT t.TensorId, 0, t.Sha256 FROM dbo.ModelTensors AS t WHERE t.ModelId = @ModelId;
END;
GO

-- The chunk hash tensor @TensorName of model @ModelId maps to now (chunk 0).
CREATE FUNCTION test_fixtures.ChunkHash (@ModelId INT, @TensorName NVARCHAR(512))
RETURNS BINARY(32)
AS
BEGIN
    RETURN (SELECT c.ChunkHash
            FROM dbo.ModelTensorChunks AS c
            INNER JOIN dbo.ModelTensors AS t ON t.TensorId = c.TensorId
            WHERE t.ModelId = @ModelId AND t.TensorName = @TensorName AND c.ChunkIndex = 0);
END;
GO

-- Make model @ModelId the only model dbo.Models shows (tSQLt.FakeTable, then the model's row again),
-- so a call for "all the tenant's models" of tenant 0 sees the fixture only, whatever the database
-- holds. The model's real row stays behind the fake: the other tables' foreign keys still find it.
CREATE PROCEDURE test_fixtures.IsolateModel
    @ModelId INT
AS
BEGIN
    SET NOCOUNT ON;
    SELECT ModelId, TenantId, ModelName, ModelFormat, Architecture, ParameterCount, Config, IngestionDate, TensorCount,
           TotalBytes
    INTO #model FROM dbo.Models WHERE ModelId = @ModelId;
    EXEC tSQLt.FakeTable @TableName = N'dbo.Models', @Defaults = 1;
    INSERT INTO dbo.Models (ModelId, TenantId, ModelName, ModelFormat, Architecture, ParameterCount, Config, IngestionDate,
                            TensorCount, TotalBytes)
    SELECT ModelId, TenantId, ModelName, ModelFormat, Architecture, ParameterCount, Config, IngestionDate, TensorCount,
           TotalBytes
    FROM #model;
END;
GO

-- Snapshots of this test only: dbo.WeightSnapshots and dbo.WeightSnapshotChunks faked empty (with
-- the identity and defaults the procedures rely on), so a snapshot name the database already has
-- cannot collide with a test's.
CREATE PROCEDURE test_fixtures.FakeSnapshots
AS
BEGIN
    EXEC tSQLt.FakeTable @TableName = N'dbo.WeightSnapshots', @Identity = 1, @Defaults = 1;
    EXEC tSQLt.FakeTable @TableName = N'dbo.WeightSnapshotChunks', @Defaults = 1;
END;
GO
