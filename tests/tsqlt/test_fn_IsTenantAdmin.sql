-- dbo.fn_IsTenantAdmin: 1 for dbo (the test runs as dbo) and for members of <database>_admin; 0 for
-- anyone else, members of the other roles included.
EXEC tSQLt.NewTestClass 'test_fn_IsTenantAdmin';
GO

CREATE PROCEDURE test_fn_IsTenantAdmin.[test dbo and the admin role are administrators]
AS
BEGIN
    DECLARE @IsAdmin BIT;
    SELECT @IsAdmin = IsAdmin FROM dbo.fn_IsTenantAdmin();
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @IsAdmin;
    EXEC test_fixtures.CreateTenantUser @UserName = N'tsqlt_boss', @Role = N'admin';
    EXECUTE AS USER = N'tsqlt_boss';
    SELECT @IsAdmin = IsAdmin FROM dbo.fn_IsTenantAdmin();
    REVERT;
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @IsAdmin;
END;
GO

CREATE PROCEDURE test_fn_IsTenantAdmin.[test an app or reader user is not]
AS
BEGIN
    DECLARE @App BIT, @Reader BIT, @Nobody BIT;
    EXEC test_fixtures.CreateTenantUser @UserName = N'tsqlt_app', @Role = N'app', @TenantId = 424242;
    EXEC test_fixtures.CreateTenantUser @UserName = N'tsqlt_reader', @Role = N'reader', @TenantId = 424242;
    EXEC test_fixtures.CreateTenantUser @UserName = N'tsqlt_nobody';
    EXECUTE AS USER = N'tsqlt_app';
    SELECT @App = IsAdmin FROM dbo.fn_IsTenantAdmin();
    REVERT;
    EXECUTE AS USER = N'tsqlt_reader';
    SELECT @Reader = IsAdmin FROM dbo.fn_IsTenantAdmin();
    REVERT;
    EXECUTE AS USER = N'tsqlt_nobody';
    SELECT @Nobody = IsAdmin FROM dbo.fn_IsTenantAdmin();
    REVERT;
    EXEC tSQLt.AssertEquals @Expected = 0, @Actual = @App;
    EXEC tSQLt.AssertEquals @Expected = 0, @Actual = @Reader;
    EXEC tSQLt.AssertEquals @Expected = 0, @Actual = @Nobody;
END;
GO
