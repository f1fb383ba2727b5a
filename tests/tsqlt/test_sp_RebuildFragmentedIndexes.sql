-- dbo.sp_RebuildFragmentedIndexes: a dry run records nothing; an index under @MinIndexBytes is never
-- rebuilt; the limits are checked (51440, 51441).
EXEC tSQLt.NewTestClass 'test_sp_RebuildFragmentedIndexes';
GO

CREATE PROCEDURE test_sp_RebuildFragmentedIndexes.[test a dry run records nothing]
AS
BEGIN
    DECLARE @Actions INT;
    EXEC test_autonomy_fixtures.IsolateLoop;
    EXEC dbo.sp_RebuildFragmentedIndexes @MinLeafDensity = 100, @MinIndexBytes = 0, @DryRun = 1;
    SELECT @Actions = COUNT(*) FROM dbo.AutonomousActions;
    EXEC tSQLt.AssertEquals @Expected = 0, @Actual = @Actions;
END;
GO

CREATE PROCEDURE test_sp_RebuildFragmentedIndexes.[test no index below the size limit is rebuilt]
AS
BEGIN
    DECLARE @Actions INT;
    EXEC test_autonomy_fixtures.IsolateLoop;
    EXEC dbo.sp_RebuildFragmentedIndexes @MinLeafDensity = 100, @MinIndexBytes = 1000000000000000, @DryRun = 0;
    SELECT @Actions = COUNT(*) FROM dbo.AutonomousActions;
    EXEC tSQLt.AssertEquals @Expected = 0, @Actual = @Actions;
END;
GO

CREATE PROCEDURE test_sp_RebuildFragmentedIndexes.[test a density above 100 is refused (51440)]
AS
BEGIN
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 51440,
        @ExpectedMessage = N'sp_RebuildFragmentedIndexes: MinLeafDensity must be above 0 and at most 100';
    EXEC dbo.sp_RebuildFragmentedIndexes @MinLeafDensity = 101;
END;
GO

CREATE PROCEDURE test_sp_RebuildFragmentedIndexes.[test a negative size is refused (51441)]
AS
BEGIN
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 51441,
        @ExpectedMessage = N'sp_RebuildFragmentedIndexes: MinIndexBytes must be 0 or more, DryRun 0 or 1';
    EXEC dbo.sp_RebuildFragmentedIndexes @MinIndexBytes = -1;
END;
GO
