-- dbo.sp_Act: a destructive candidate waits for approval whatever its score; an approved action runs
-- first, with its before-state recorded; approving a waiting action makes the next run apply it; a
-- rejected action never runs; a failing action is recorded Failed (history, catalog record) and
-- the run goes on; an index action is only decided and recorded Executing (dbo.sp_ExecuteOnlineActions
-- builds it after the phase commits: every test runs inside tSQLt's transaction, so nothing is built);
-- an action type the statement function cannot build is that action's failure (51405), not a doomed
-- transaction; an action named as having doomed an earlier run of the session is recorded Failed
-- first and never run; the limits are checked (51400, 51401). The loop's record is faked empty
-- (test_autonomy_fixtures.IsolateLoop); the actions run on dbo.InferenceRequests' statistics.
EXEC tSQLt.NewTestClass 'test_sp_Act';
GO

CREATE PROCEDURE test_sp_Act.[test a destructive candidate waits for approval]
AS
BEGIN
    DECLARE @ActionId BIGINT, @Status NVARCHAR(16), @Reason NVARCHAR(4000);
    EXEC test_autonomy_fixtures.IsolateLoop;
    EXEC test_autonomy_fixtures.AddAction @ActionType = N'drop_index', @Status = N'Proposed', @Score = 10,
        @TargetSchema = N'dbo', @TargetName = N'ix_tsqlt_unused',
        @Parameters = N'{"table": "InferenceRequests", "definition": {"unique": false, "clustered": false, "keys": [{"column": "StartTime", "descending": false}]}}',
        @ActionId = @ActionId OUTPUT;
    EXEC dbo.sp_Act @AutoApproveThreshold = 0, @MaxChangesPerRun = 5, @RequireHumanApproval = 0, @DryRun = 0;
    SELECT @Status = Status, @Reason = StatusReason FROM dbo.AutonomousActions WHERE ActionId = @ActionId;
    EXEC tSQLt.AssertEqualsString @Expected = N'AwaitingApproval', @Actual = @Status;
    EXEC tSQLt.AssertEqualsString @Expected = N'it is destructive', @Actual = @Reason;
END;
GO

CREATE PROCEDURE test_sp_Act.[test an approved action runs and its before-state is recorded]
AS
BEGIN
    DECLARE @ActionId BIGINT, @Status NVARCHAR(16), @HasBefore INT, @Due INT, @Items INT;
    EXEC test_autonomy_fixtures.IsolateLoop;
    EXEC test_autonomy_fixtures.AddAction @ActionType = N'analyze_table', @Status = N'Approved', @Score = 0,
        @TargetSchema = N'dbo', @TargetName = N'InferenceRequests', @ActionId = @ActionId OUTPUT;
    EXEC dbo.sp_Act @MaxChangesPerRun = 1, @DryRun = 0;
    SELECT @Status = Status,
           @HasBefore = CASE WHEN MetricBefore IS NOT NULL AND ISJSON(BeforeState) = 1 THEN 1 ELSE 0 END,
           @Due = CASE WHEN AppliedAt IS NOT NULL AND ValidateAfter IS NOT NULL THEN 1 ELSE 0 END
    FROM dbo.AutonomousActions WHERE ActionId = @ActionId;
    SELECT @Items = ItemsProcessed FROM dbo.OODALoopMetrics WHERE Phase = N'Act';
    EXEC tSQLt.AssertEqualsString @Expected = N'Applied', @Actual = @Status;
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @HasBefore;
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @Due;
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @Items;
END;
GO

CREATE PROCEDURE test_sp_Act.[test a waiting action approved by a person is applied by the next run]
AS
BEGIN
    DECLARE @ActionId BIGINT, @First NVARCHAR(16), @Status NVARCHAR(16);
    EXEC test_autonomy_fixtures.IsolateLoop;
    EXEC test_autonomy_fixtures.AddAction @ActionType = N'analyze_table', @Status = N'Proposed', @Score = 9,
        @TargetSchema = N'dbo', @TargetName = N'InferenceRequests', @ActionId = @ActionId OUTPUT;
    EXEC dbo.sp_Act @RequireHumanApproval = 1, @DryRun = 0;
    SELECT @First = Status FROM dbo.AutonomousActions WHERE ActionId = @ActionId;
    EXEC dbo.sp_ApproveAction @ActionId = @ActionId;
    EXEC dbo.sp_Act @RequireHumanApproval = 1, @DryRun = 0;
    SELECT @Status = Status FROM dbo.AutonomousActions WHERE ActionId = @ActionId;
    EXEC tSQLt.AssertEqualsString @Expected = N'AwaitingApproval', @Actual = @First;
    EXEC tSQLt.AssertEqualsString @Expected = N'Applied', @Actual = @Status;
END;
GO

CREATE PROCEDURE test_sp_Act.[test a failing action is recorded failed and the run goes on]
AS
BEGIN
    DECLARE @Broken BIGINT, @Good BIGINT, @BrokenStatus NVARCHAR(16), @GoodStatus NVARCHAR(16), @Verdict NVARCHAR(16), @Failed INT;
    EXEC test_autonomy_fixtures.IsolateLoop;
    EXEC test_autonomy_fixtures.AddAction @ActionType = N'analyze_table', @Status = N'Approved', @Score = 2,
        @TargetSchema = N'dbo', @TargetName = N'NoSuchTable_tsqlt', @ActionId = @Broken OUTPUT;
    EXEC test_autonomy_fixtures.AddAction @ActionType = N'analyze_table', @Status = N'Approved', @Score = 1,
        @TargetSchema = N'dbo', @TargetName = N'InferenceRequests', @ActionId = @Good OUTPUT;
    EXEC dbo.sp_Act @MaxChangesPerRun = 2, @DryRun = 0;
    SELECT @BrokenStatus = Status FROM dbo.AutonomousActions WHERE ActionId = @Broken;
    SELECT @GoodStatus = Status FROM dbo.AutonomousActions WHERE ActionId = @Good;
    SELECT @Verdict = Verdict FROM dbo.AutonomousImprovementHistory WHERE ActionId = @Broken;
    SELECT @Failed = FailedCount FROM dbo.AutonomousActionCatalog WHERE ActionType = N'analyze_table';
    EXEC tSQLt.AssertEqualsString @Expected = N'Failed', @Actual = @BrokenStatus;
    EXEC tSQLt.AssertEqualsString @Expected = N'failed', @Actual = @Verdict;
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @Failed;
    EXEC tSQLt.AssertEqualsString @Expected = N'Applied', @Actual = @GoodStatus;
END;
GO

CREATE PROCEDURE test_sp_Act.[test a dry run changes nothing]
AS
BEGIN
    DECLARE @ActionId BIGINT, @Status NVARCHAR(16), @Metrics INT;
    EXEC test_autonomy_fixtures.IsolateLoop;
    EXEC test_autonomy_fixtures.AddAction @ActionType = N'analyze_table', @Status = N'Approved',
        @TargetSchema = N'dbo', @TargetName = N'InferenceRequests', @ActionId = @ActionId OUTPUT;
    EXEC dbo.sp_Act @MaxChangesPerRun = 1, @DryRun = 1;
    SELECT @Status = Status FROM dbo.AutonomousActions WHERE ActionId = @ActionId;
    SELECT @Metrics = COUNT(*) FROM dbo.OODALoopMetrics;
    EXEC tSQLt.AssertEqualsString @Expected = N'Approved', @Actual = @Status;
    EXEC tSQLt.AssertEquals @Expected = 0, @Actual = @Metrics;
END;
GO

CREATE PROCEDURE test_sp_Act.[test a threshold above 10 is refused (51400)]
AS
BEGIN
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 51400,
        @ExpectedMessage = N'sp_Act: AutoApproveThreshold must be between 0 and 10, not 11';
    EXEC dbo.sp_Act @AutoApproveThreshold = 11, @DryRun = 1;
END;
GO

CREATE PROCEDURE test_sp_Act.[test more than 100 changes a run is refused (51401)]
AS
BEGIN
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 51401,
        @ExpectedMessage = N'sp_Act: MaxChangesPerRun must be between 0 and 100, not 101';
    EXEC dbo.sp_Act @MaxChangesPerRun = 101, @DryRun = 1;
END;
GO

CREATE PROCEDURE test_sp_Act.[test an index action is only recorded Executing: nothing is built in the phase]
AS
BEGIN
    DECLARE @ActionId BIGINT, @Status NVARCHAR(16), @HasBefore INT, @Built INT;
    EXEC test_autonomy_fixtures.IsolateLoop;
    EXEC test_autonomy_fixtures.AddAction @ActionType = N'create_index', @Status = N'Approved', @Score = 9,
        @TargetSchema = N'dbo', @TargetName = N'ix_auto_tsqlt_decided', @TargetColumns = N'["StartTime"]',
        @Parameters = N'{"table": "InferenceRequests", "statements": []}', @ActionId = @ActionId OUTPUT;
    EXEC dbo.sp_Act @MaxChangesPerRun = 1, @DryRun = 0;
    SELECT @Status = Status, @HasBefore = CASE WHEN ISJSON(BeforeState) = 1 AND AppliedAt IS NULL THEN 1 ELSE 0 END
    FROM dbo.AutonomousActions WHERE ActionId = @ActionId;
    SELECT @Built = COUNT(*) FROM sys.indexes WHERE name = N'ix_auto_tsqlt_decided';
    EXEC tSQLt.AssertEqualsString @Expected = N'Executing', @Actual = @Status;
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @HasBefore;
    EXEC tSQLt.AssertEquals @Expected = 0, @Actual = @Built;
END;
GO

CREATE PROCEDURE test_sp_Act.[test an action type with no statement is recorded failed (51405) and the run goes on]
AS
BEGIN
    DECLARE @Broken BIGINT, @Good BIGINT, @BrokenStatus NVARCHAR(16), @Error NVARCHAR(4000), @GoodStatus NVARCHAR(16);
    DECLARE @Verdict NVARCHAR(16), @Failed INT, @Judged INT;
    EXEC test_autonomy_fixtures.IsolateLoop;
    -- vacuum_table is PostgreSQL-only: dbo.fn_AutonomousActionStatement gives NULL for it
    EXEC test_autonomy_fixtures.AddAction @ActionType = N'vacuum_table', @Status = N'Approved', @Score = 2,
        @TargetSchema = N'dbo', @TargetName = N'InferenceRequests', @ActionId = @Broken OUTPUT;
    EXEC test_autonomy_fixtures.AddAction @ActionType = N'analyze_table', @Status = N'Approved', @Score = 1,
        @TargetSchema = N'dbo', @TargetName = N'InferenceRequests', @ActionId = @Good OUTPUT;
    EXEC dbo.sp_Act @MaxChangesPerRun = 2, @DryRun = 0;
    SELECT @BrokenStatus = Status, @Error = LEFT(ErrorMessage, 4000), @Judged = CASE WHEN JudgedAt IS NULL THEN 0 ELSE 1 END
    FROM dbo.AutonomousActions WHERE ActionId = @Broken;
    SELECT @GoodStatus = Status FROM dbo.AutonomousActions WHERE ActionId = @Good;
    SELECT @Verdict = Verdict FROM dbo.AutonomousImprovementHistory WHERE ActionId = @Broken;
    SELECT @Failed = FailedCount FROM dbo.AutonomousActionCatalog WHERE ActionType = N'vacuum_table';
    EXEC tSQLt.AssertEqualsString @Expected = N'Failed', @Actual = @BrokenStatus;
    EXEC tSQLt.AssertLike @ExpectedPattern = N'sp_Act: no statement can be built for vacuum_table%', @Actual = @Error;
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @Judged;  -- the cooldown starts from JudgedAt
    EXEC tSQLt.AssertEqualsString @Expected = N'failed', @Actual = @Verdict;
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @Failed;
    EXEC tSQLt.AssertEqualsString @Expected = N'Applied', @Actual = @GoodStatus;
END;
GO

CREATE PROCEDURE test_sp_Act.[test an action that doomed an earlier run of the session is recorded failed, not run again]
AS
BEGIN
    DECLARE @ActionId BIGINT, @Status NVARCHAR(16), @Error NVARCHAR(4000), @Verdict NVARCHAR(16), @Failed INT, @Left NVARCHAR(4000);
    DECLARE @Doomed NVARCHAR(4000);
    EXEC test_autonomy_fixtures.IsolateLoop;
    EXEC test_autonomy_fixtures.AddAction @ActionType = N'analyze_table', @Status = N'Approved', @Score = 9,
        @TargetSchema = N'dbo', @TargetName = N'InferenceRequests', @ActionId = @ActionId OUTPUT;
    -- what sp_Act leaves when an action's error doomed the activation loop's transaction
    SET @Doomed = CONCAT(N'{"action": ', @ActionId, N', "error": "tsqlt: doomed"}');
    EXEC sys.sp_set_session_context @key = N'hartonomous.doomed_action', @value = @Doomed;
    EXEC dbo.sp_Act @MaxChangesPerRun = 1, @DryRun = 0;
    SELECT @Status = Status, @Error = LEFT(ErrorMessage, 4000) FROM dbo.AutonomousActions WHERE ActionId = @ActionId;
    SELECT @Verdict = Verdict FROM dbo.AutonomousImprovementHistory WHERE ActionId = @ActionId;
    SELECT @Failed = FailedCount FROM dbo.AutonomousActionCatalog WHERE ActionType = N'analyze_table';
    SET @Left = CAST(SESSION_CONTEXT(N'hartonomous.doomed_action') AS NVARCHAR(4000));
    EXEC tSQLt.AssertEqualsString @Expected = N'Failed', @Actual = @Status;
    EXEC tSQLt.AssertLike @ExpectedPattern = N'%doomed%tsqlt: doomed%', @Actual = @Error;
    EXEC tSQLt.AssertEqualsString @Expected = N'failed', @Actual = @Verdict;
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @Failed;
    EXEC tSQLt.AssertEqualsString @Expected = NULL, @Actual = @Left;  -- recorded once
END;
GO
