-- dbo.sp_AutonomousImprovement: a dry run leaves nothing behind (no cycle, no action: the loop could
-- not pick anything up later) and hands back no cycle; its switches and area are checked (51430, 51431).
EXEC tSQLt.NewTestClass 'test_sp_AutonomousImprovement';
GO

CREATE PROCEDURE test_sp_AutonomousImprovement.[test a dry run leaves nothing behind]
AS
BEGIN
    DECLARE @CyclesBefore INT, @ActionsBefore INT, @CyclesAfter INT, @ActionsAfter INT, @CycleId BIGINT;
    SELECT @CyclesBefore = COUNT(*) FROM dbo.AutonomousCycles;
    SELECT @ActionsBefore = COUNT(*) FROM dbo.AutonomousActions;
    -- (its report is a result set; not captured: INSERT ... EXEC refuses the rollback inside)
    EXEC dbo.sp_AutonomousImprovement @DryRun = 1, @TargetArea = N'all', @Debug = 1, @CycleId = @CycleId OUTPUT;
    SELECT @CyclesAfter = COUNT(*) FROM dbo.AutonomousCycles;
    SELECT @ActionsAfter = COUNT(*) FROM dbo.AutonomousActions;
    EXEC tSQLt.AssertEquals @Expected = @CyclesBefore, @Actual = @CyclesAfter;
    EXEC tSQLt.AssertEquals @Expected = @ActionsBefore, @Actual = @ActionsAfter;
    EXEC tSQLt.AssertEquals @Expected = NULL, @Actual = @CycleId;
END;
GO

CREATE PROCEDURE test_sp_AutonomousImprovement.[test an unknown area is refused (51431)]
AS
BEGIN
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 51431,
        @ExpectedMessage = N'sp_AutonomousImprovement: TargetArea must be performance, maintenance or all, not security';
    EXEC dbo.sp_AutonomousImprovement @TargetArea = N'security';
END;
GO

CREATE PROCEDURE test_sp_AutonomousImprovement.[test a switch other than 0 or 1 is refused (51430)]
AS
BEGIN
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 51430,
        @ExpectedMessage = N'sp_AutonomousImprovement: DryRun, RequireHumanApproval and Debug are 0 or 1';
    EXEC dbo.sp_AutonomousImprovement @DryRun = 2;
END;
GO
