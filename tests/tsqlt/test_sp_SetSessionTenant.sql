-- dbo.sp_SetSessionTenant's refusals: a tenant the user is not mapped to, a negative id. (Its
-- success sets SESSION_CONTEXT read-only for the whole session, past this test's transaction, so
-- the live suite tests it on a connection of its own.)
EXEC tSQLt.NewTestClass 'test_sp_SetSessionTenant';
GO

CREATE PROCEDURE test_sp_SetSessionTenant.[test a tenant the user is not mapped to is refused (50033)]
AS
BEGIN
    EXEC test_fixtures.CreateTenantUser @UserName = N'tsqlt_alice', @Role = N'app', @TenantId = 424242;
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 50033,
        @ExpectedMessage = N'sp_SetSessionTenant: tsqlt_alice may not act for tenant 424243';
    EXECUTE AS USER = N'tsqlt_alice';
    EXEC dbo.sp_SetSessionTenant @TenantId = 424243;
END;
GO

CREATE PROCEDURE test_sp_SetSessionTenant.[test a negative tenant is refused (50031)]
AS
BEGIN
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 50031, @ExpectedMessage = N'sp_SetSessionTenant: TenantId must be 0 or more';
    EXEC dbo.sp_SetSessionTenant @TenantId = -1;
END;
GO
