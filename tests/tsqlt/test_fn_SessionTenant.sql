-- dbo.fn_SessionTenant: the one tenant a user is mapped to; none for a user mapped to several
-- (until it chooses with sp_SetSessionTenant, which the live suite tests: a read-only session
-- context would outlive this test's transaction) or to none.
EXEC tSQLt.NewTestClass 'test_fn_SessionTenant';
GO

CREATE PROCEDURE test_fn_SessionTenant.[test a user mapped to one tenant acts for it]
AS
BEGIN
    DECLARE @TenantId INT;
    EXEC test_fixtures.CreateTenantUser @UserName = N'tsqlt_alice', @Role = N'app', @TenantId = 424242;
    EXECUTE AS USER = N'tsqlt_alice';
    SELECT @TenantId = TenantId FROM dbo.fn_SessionTenant();
    REVERT;
    EXEC tSQLt.AssertEquals @Expected = 424242, @Actual = @TenantId;
END;
GO

CREATE PROCEDURE test_fn_SessionTenant.[test a user mapped to several or none acts for no tenant]
AS
BEGIN
    DECLARE @Several INT = -1, @None INT = -1;
    EXEC test_fixtures.CreateTenantUser @UserName = N'tsqlt_svc', @Role = N'app', @TenantId = 424242;
    EXEC test_fixtures.CreateTenantUser @UserName = N'tsqlt_svc', @TenantId = 424243;
    EXEC test_fixtures.CreateTenantUser @UserName = N'tsqlt_nobody', @Role = N'app';
    EXECUTE AS USER = N'tsqlt_svc';
    SELECT @Several = TenantId FROM dbo.fn_SessionTenant();
    REVERT;
    EXECUTE AS USER = N'tsqlt_nobody';
    SELECT @None = TenantId FROM dbo.fn_SessionTenant();
    REVERT;
    EXEC tSQLt.AssertEquals @Expected = NULL, @Actual = @Several;
    EXEC tSQLt.AssertEquals @Expected = NULL, @Actual = @None;
END;
GO
