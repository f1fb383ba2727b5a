-- dbo.fn_TenantIsActive: a tenant without a policy row is active; IsActive 0 suspends it; and a
-- suspended tenant's reader sees none of its rows (the predicate asks this function).
EXEC tSQLt.NewTestClass 'test_fn_TenantIsActive';
GO

CREATE PROCEDURE test_fn_TenantIsActive.[test no row is active and IsActive 0 is suspended]
AS
BEGIN
    DECLARE @Unknown BIT, @Suspended BIT;
    INSERT INTO dbo.TenantSecurityPolicy (TenantId, IsActive) VALUES (424243, 0);
    SELECT @Unknown = IsActive FROM dbo.fn_TenantIsActive(424242);
    SELECT @Suspended = IsActive FROM dbo.fn_TenantIsActive(424243);
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @Unknown;
    EXEC tSQLt.AssertEquals @Expected = 0, @Actual = @Suspended;
END;
GO

CREATE PROCEDURE test_fn_TenantIsActive.[test a suspended tenant's reader sees nothing]
AS
BEGIN
    DECLARE @Before INT, @After INT;
    EXEC test_fixtures.CreateAtom @TenantId = 424242, @Content = 0x6D696E65;
    EXEC test_fixtures.CreateTenantUser @UserName = N'tsqlt_reader', @Role = N'reader', @TenantId = 424242;
    EXECUTE AS USER = N'tsqlt_reader';
    SELECT @Before = COUNT(*) FROM dbo.Atoms WHERE TenantId = 424242;
    REVERT;
    INSERT INTO dbo.TenantSecurityPolicy (TenantId, IsActive) VALUES (424242, 0);
    EXECUTE AS USER = N'tsqlt_reader';
    SELECT @After = COUNT(*) FROM dbo.Atoms WHERE TenantId = 424242;
    REVERT;
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @Before;
    EXEC tSQLt.AssertEquals @Expected = 0, @Actual = @After;
END;
GO
