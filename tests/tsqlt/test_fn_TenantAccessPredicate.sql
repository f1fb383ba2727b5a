-- dbo.fn_TenantAccessPredicate and dbo.TenantAccessPolicy: a row is visible to its tenant's users
-- and to administrators only; a reader sees its tenant's atoms and their embeddings; writing a row
-- into another tenant is blocked; an app user has no table permission at all.
EXEC tSQLt.NewTestClass 'test_fn_TenantAccessPredicate';
GO

CREATE PROCEDURE test_fn_TenantAccessPredicate.[test the session's tenant and administrators pass]
AS
BEGIN
    DECLARE @Own INT, @Other INT, @Admin INT;
    EXEC test_fixtures.CreateTenantUser @UserName = N'tsqlt_alice', @Role = N'app', @TenantId = 424242;
    EXECUTE AS USER = N'tsqlt_alice';
    SELECT @Own = COUNT(*) FROM dbo.fn_TenantAccessPredicate(424242);
    SELECT @Other = COUNT(*) FROM dbo.fn_TenantAccessPredicate(424243);
    REVERT;
    SELECT @Admin = COUNT(*) FROM dbo.fn_TenantAccessPredicate(424243);
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @Own;
    EXEC tSQLt.AssertEquals @Expected = 0, @Actual = @Other;
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @Admin;
END;
GO

CREATE PROCEDURE test_fn_TenantAccessPredicate.[test a reader sees its tenant's rows only]
AS
BEGIN
    DECLARE @Mine BIGINT, @Theirs BIGINT, @Atoms INT, @Foreign INT;
    EXEC test_fixtures.CreateAtom @TenantId = 424242, @Content = 0x6D696E65, @AtomId = @Mine OUTPUT;
    EXEC test_fixtures.CreateAtom @TenantId = 424243, @Content = 0x7468656972, @AtomId = @Theirs OUTPUT;
    EXEC test_fixtures.CreateTenantUser @UserName = N'tsqlt_reader', @Role = N'reader', @TenantId = 424242;
    EXECUTE AS USER = N'tsqlt_reader';
    SELECT @Atoms = COUNT(*) FROM dbo.Atoms WHERE AtomId IN (@Mine, @Theirs);
    SELECT @Foreign = COUNT(*) FROM dbo.Atoms WHERE TenantId = 424243;
    REVERT;
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @Atoms;
    EXEC tSQLt.AssertEquals @Expected = 0, @Actual = @Foreign;
END;
GO

CREATE PROCEDURE test_fn_TenantAccessPredicate.[test a row written into another tenant is blocked]
AS
BEGIN
    EXEC test_fixtures.CreateTenantUser @UserName = N'tsqlt_alice', @Role = N'app', @TenantId = 424242;
    -- the block predicate, not a missing permission, must refuse it: grant the insert for this test
    GRANT INSERT ON dbo.IngestionJobs TO tsqlt_alice;
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 33504;  -- "The attempted operation failed because the target object ... has a block predicate"
    EXECUTE AS USER = N'tsqlt_alice';
    INSERT INTO dbo.IngestionJobs (TenantId, JobType) VALUES (424243, N'tsqlt');
END;
GO

CREATE PROCEDURE test_fn_TenantAccessPredicate.[test an app user has no table permission]
AS
BEGIN
    -- asked outside this (dbo-owned) test procedure's ownership chain: HAS_PERMS_BY_NAME, and a
    -- dynamic statement, which the chain does not cover
    DECLARE @CanSelect INT, @CanInsert INT;
    EXEC test_fixtures.CreateTenantUser @UserName = N'tsqlt_alice', @Role = N'app', @TenantId = 424242;
    EXECUTE AS USER = N'tsqlt_alice';
    SELECT @CanSelect = HAS_PERMS_BY_NAME(N'dbo.Atoms', N'OBJECT', N'SELECT'),
           @CanInsert = HAS_PERMS_BY_NAME(N'dbo.IngestionJobs', N'OBJECT', N'INSERT');
    REVERT;
    EXEC tSQLt.AssertEquals @Expected = 0, @Actual = @CanSelect;
    EXEC tSQLt.AssertEquals @Expected = 0, @Actual = @CanInsert;
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 229;  -- "The SELECT permission was denied on the object"
    EXECUTE AS USER = N'tsqlt_alice';
    EXEC (N'SELECT COUNT(*) FROM dbo.Atoms;');
END;
GO
