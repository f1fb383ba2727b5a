-- dbo.sp_PurgeAutonomousHistory: metrics and finished cycles past retention are deleted and counted,
-- recent ones and open cycles stay, and an action of a purged cycle stays without its cycle; a
-- retention under a day is refused (51460).
EXEC tSQLt.NewTestClass 'test_sp_PurgeAutonomousHistory';
GO

CREATE PROCEDURE test_sp_PurgeAutonomousHistory.[test the old history goes and the actions stay]
AS
BEGIN
    DECLARE @Deleted TABLE (DeletedRows BIGINT);
    DECLARE @Old DATETIME2(3) = DATEADD(DAY, -400, SYSUTCDATETIME()), @OldCycle BIGINT, @ActionId BIGINT;
    DECLARE @Reported BIGINT, @Metrics INT, @Cycles INT, @ActionCycle BIGINT, @Actions INT;
    EXEC test_autonomy_fixtures.IsolateLoop;
    EXEC tSQLt.FakeTable @TableName = N'dbo.AutonomousLoopDeadLetters', @Identity = 1, @Defaults = 1;
    INSERT INTO dbo.OODALoopMetrics (Phase, ExecutedAt, DurationMs, Success, ItemsProcessed)
    VALUES (N'Act', @Old, 1, 1, 0), (N'Act', SYSUTCDATETIME(), 1, 1, 0);
    INSERT INTO dbo.AutonomousCycles (StartedAt, FinishedAt, LookbackHours) VALUES (@Old, @Old, 24);
    SET @OldCycle = SCOPE_IDENTITY();
    INSERT INTO dbo.AutonomousCycles (StartedAt, FinishedAt, LookbackHours) VALUES (@Old, NULL, 24);
    EXEC test_autonomy_fixtures.AddAction @ActionType = N'analyze_table', @Status = N'Kept', @ActionId = @ActionId OUTPUT;
    UPDATE dbo.AutonomousActions SET CycleId = @OldCycle WHERE ActionId = @ActionId;
    INSERT INTO @Deleted (DeletedRows) EXEC dbo.sp_PurgeAutonomousHistory @OlderThanDays = 180;
    SELECT @Reported = DeletedRows FROM @Deleted;
    SELECT @Metrics = COUNT(*) FROM dbo.OODALoopMetrics;
    SELECT @Cycles = COUNT(*) FROM dbo.AutonomousCycles;
    SELECT @Actions = COUNT(*), @ActionCycle = MAX(CycleId) FROM dbo.AutonomousActions;
    EXEC tSQLt.AssertEquals @Expected = 2, @Actual = @Reported;
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @Metrics;
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @Cycles;
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @Actions;
    EXEC tSQLt.AssertEquals @Expected = NULL, @Actual = @ActionCycle;
END;
GO

CREATE PROCEDURE test_sp_PurgeAutonomousHistory.[test a retention under a day is refused (51460)]
AS
BEGIN
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 51460,
        @ExpectedMessage = N'sp_PurgeAutonomousHistory: OlderThanDays must be 1 or more';
    EXEC dbo.sp_PurgeAutonomousHistory @OlderThanDays = 0;
END;
GO
