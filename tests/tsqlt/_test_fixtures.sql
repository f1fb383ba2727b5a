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
    EXEC test_fixtures.UnbindTenantAccess;
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
    EXEC test_fixtures.UnbindTenantAccess;
    EXEC tSQLt.FakeTable @TableName = N'dbo.WeightSnapshots', @Identity = 1, @Defaults = 1;
    EXEC tSQLt.FakeTable @TableName = N'dbo.WeightSnapshotChunks', @Defaults = 1;
END;
GO

-- What row-level security binds, gone for this test (the test's transaction brings it back):
-- tSQLt.FakeTable renames a table, which SCHEMABINDING refuses while dbo.TenantAccessPolicy and the
-- parent-table predicate functions are bound to it. Tests run as dbo, whom the policy lets see
-- every tenant anyway; the tenancy classes test the policy itself.
CREATE PROCEDURE test_fixtures.UnbindTenantAccess
AS
BEGIN
    SET NOCOUNT ON;
    IF OBJECT_ID(N'dbo.TenantAccessPolicy', N'SP') IS NOT NULL
        DROP SECURITY POLICY dbo.TenantAccessPolicy;
    DROP FUNCTION IF EXISTS dbo.fn_AtomAccessPredicate;
    DROP FUNCTION IF EXISTS dbo.fn_ModelAccessPredicate;
    DROP FUNCTION IF EXISTS dbo.fn_TensorAccessPredicate;
    DROP FUNCTION IF EXISTS dbo.fn_SegmentAccessPredicate;
    DROP FUNCTION IF EXISTS dbo.fn_SnapshotAccessPredicate;
END;
GO

-- A database user without a login for this test, a member of the database's role @Role (admin,
-- app, reader, system; NULL: none) and mapped to @TenantId (NULL: no tenant); repeat the call with
-- another @TenantId to map it to several. Tests then EXECUTE AS USER = @UserName ... REVERT.
CREATE PROCEDURE test_fixtures.CreateTenantUser
    @UserName SYSNAME,
    @Role SYSNAME = NULL,
    @TenantId INT = NULL
AS
BEGIN
    SET NOCOUNT ON;
    DECLARE @Statement NVARCHAR(600);
    IF DATABASE_PRINCIPAL_ID(@UserName) IS NULL
    BEGIN
        SET @Statement = CONCAT(N'CREATE USER ', QUOTENAME(@UserName), N' WITHOUT LOGIN;');
        EXEC sys.sp_executesql @Statement;
    END;
    IF @Role IS NOT NULL
    BEGIN
        SET @Statement = CONCAT(N'ALTER ROLE ', QUOTENAME(CONCAT(DB_NAME(), N'_', @Role)), N' ADD MEMBER ',
                                QUOTENAME(@UserName), N';');
        EXEC sys.sp_executesql @Statement;
    END;
    IF @TenantId IS NOT NULL
        INSERT INTO dbo.TenantPrincipals (PrincipalName, TenantId) VALUES (@UserName, @TenantId);
END;
GO

-- An atom of @TenantId with content @Content, written as dbo (the policy lets dbo write any tenant).
CREATE PROCEDURE test_fixtures.CreateAtom
    @TenantId INT,
    @Content VARBINARY(MAX),
    @AtomId BIGINT = NULL OUTPUT
AS
BEGIN
    SET NOCOUNT ON;
    SET @AtomId = NULL;
    INSERT INTO dbo.Atoms (TenantId, ContentHash, ContentType, Modality, ContentSize)
    VALUES (@TenantId, HASHBYTES('SHA2_256', @Content), N'text/plain', N'text', DATALENGTH(@Content));
    SET @AtomId = SCOPE_IDENTITY();
END;
GO

-- A rate plan named @PlanName charging @UnitRate per unit of @Operation with @MonthlyQuotaUnits a
-- month (NULL: none), and tenant @TenantId on it.
CREATE PROCEDURE test_fixtures.CreateRatePlan
    @TenantId INT,
    @PlanName NVARCHAR(100),
    @Operation VARCHAR(32),
    @UnitRate DECIMAL(19, 9),
    @MonthlyQuotaUnits BIGINT = NULL
AS
BEGIN
    SET NOCOUNT ON;
    DECLARE @RatePlanId INT;
    INSERT INTO dbo.BillingRatePlans (PlanName) VALUES (@PlanName);
    SET @RatePlanId = SCOPE_IDENTITY();
    INSERT INTO dbo.BillingRates (RatePlanId, Operation, UnitRate, MonthlyQuotaUnits)
    VALUES (@RatePlanId, @Operation, @UnitRate, @MonthlyQuotaUnits);
    INSERT INTO dbo.BillingAccounts (TenantId, RatePlanId) VALUES (@TenantId, @RatePlanId);
END;
GO

-- The clean-up of a test marked --[@tSQLt:NoTransaction]('test_fixtures.RollbackOpen') (tSQLt
-- 1.0.8043 and later): a test that touches the memory-optimized billing ledger cannot run in tSQLt's
-- transaction, whose savepoint such a transaction refuses (error 12326); it opens its own and rolls
-- it back itself (a procedure must end with the transaction count it began with, error 266). This is
-- the net for a test that failed to: it then reports an error in its clean-up, and the next test
-- does not start inside that transaction.
CREATE PROCEDURE test_fixtures.RollbackOpen
AS
BEGIN
    IF @@TRANCOUNT > 0
        ROLLBACK TRANSACTION;
END;
GO
