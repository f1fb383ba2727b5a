-- dbo.fn_ResolveTenant: NULL means the session's tenant (tenant 0 for an administrator without
-- one); the session's own tenant passes; another tenant, or none at all, is a Refusal naming the
-- caller; a negative id is refused for everyone. And a procedure THROWs the refusal (50030).
EXEC tSQLt.NewTestClass 'test_fn_ResolveTenant';
GO

-- dbo.sp_ChargeUsage is a spy in this class (its own class tests it): tSQLt runs each test in a
-- transaction with a savepoint, which cannot reach the memory-optimized billing ledger (12326)
CREATE PROCEDURE test_fn_ResolveTenant.[SetUp]
AS
BEGIN
    EXEC tSQLt.SpyProcedure @ProcedureName = N'dbo.sp_ChargeUsage';
END;
GO

CREATE PROCEDURE test_fn_ResolveTenant.[test a mapped user gets its tenant and is refused another]
AS
BEGIN
    DECLARE @Default INT, @Own INT, @Other INT, @Refusal NVARCHAR(400), @NoRefusal NVARCHAR(400);
    EXEC test_fixtures.CreateTenantUser @UserName = N'tsqlt_alice', @Role = N'app', @TenantId = 424242;
    EXECUTE AS USER = N'tsqlt_alice';
    SELECT @Default = TenantId, @NoRefusal = Refusal FROM dbo.fn_ResolveTenant(NULL, N'sp_X');
    SELECT @Own = TenantId FROM dbo.fn_ResolveTenant(424242, N'sp_X');
    SELECT @Other = TenantId, @Refusal = Refusal FROM dbo.fn_ResolveTenant(424243, N'sp_X');
    REVERT;
    EXEC tSQLt.AssertEquals @Expected = 424242, @Actual = @Default;
    EXEC tSQLt.AssertEquals @Expected = NULL, @Actual = @NoRefusal;
    EXEC tSQLt.AssertEquals @Expected = 424242, @Actual = @Own;
    EXEC tSQLt.AssertEquals @Expected = NULL, @Actual = @Other;
    EXEC tSQLt.AssertEqualsString @Expected = N'sp_X: tenant 424243 is not this session''s tenant', @Actual = @Refusal;
END;
GO

CREATE PROCEDURE test_fn_ResolveTenant.[test an administrator picks any tenant, 0 by default]
AS
BEGIN
    DECLARE @Default INT, @Chosen INT, @Negative NVARCHAR(400);
    SELECT @Default = TenantId FROM dbo.fn_ResolveTenant(NULL, N'sp_X');
    SELECT @Chosen = TenantId FROM dbo.fn_ResolveTenant(424243, N'sp_X');
    SELECT @Negative = Refusal FROM dbo.fn_ResolveTenant(-1, N'sp_X');
    EXEC tSQLt.AssertEquals @Expected = 0, @Actual = @Default;
    EXEC tSQLt.AssertEquals @Expected = 424243, @Actual = @Chosen;
    EXEC tSQLt.AssertEqualsString @Expected = N'sp_X: TenantId must be 0 or more', @Actual = @Negative;
END;
GO

CREATE PROCEDURE test_fn_ResolveTenant.[test a user without a tenant is told how to get one]
AS
BEGIN
    DECLARE @Refusal NVARCHAR(400);
    EXEC test_fixtures.CreateTenantUser @UserName = N'tsqlt_nobody', @Role = N'app';
    EXECUTE AS USER = N'tsqlt_nobody';
    SELECT @Refusal = Refusal FROM dbo.fn_ResolveTenant(NULL, N'sp_X');
    REVERT;
    EXEC tSQLt.AssertEqualsString
        @Expected = N'sp_X: this session acts for no tenant (map its login to one with python -m deployer grant, or call dbo.sp_SetSessionTenant)',
        @Actual = @Refusal;
END;
GO

CREATE PROCEDURE test_fn_ResolveTenant.[test a procedure refuses a forged tenant (50030)]
AS
BEGIN
    EXEC test_fixtures.CreateTenantUser @UserName = N'tsqlt_alice', @Role = N'app', @TenantId = 424242;
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 50030,
        @ExpectedMessage = N'sp_SemanticSearch: tenant 424243 is not this session''s tenant';
    EXECUTE AS USER = N'tsqlt_alice';
    EXEC dbo.sp_SemanticSearch @query_text = N'anything', @TenantId = 424243;
END;
GO
