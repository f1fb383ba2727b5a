-- dbo.sp_RejectAction: an action waiting for approval (or Approved and not yet run) becomes
-- Rejected and never runs; an action that does not exist is refused (51425), one past deciding too (51426).
EXEC tSQLt.NewTestClass 'test_sp_RejectAction';
GO

CREATE PROCEDURE test_sp_RejectAction.[test an approved action is rejected and never runs]
AS
BEGIN
    DECLARE @ActionId BIGINT, @Status NVARCHAR(16), @Applied INT;
    EXEC test_autonomy_fixtures.IsolateLoop;
    EXEC test_autonomy_fixtures.AddAction @ActionType = N'analyze_table', @Status = N'Approved',
        @TargetSchema = N'dbo', @TargetName = N'InferenceRequests', @ActionId = @ActionId OUTPUT;
    EXEC dbo.sp_RejectAction @ActionId = @ActionId, @Comment = N'tsqlt says no';
    EXEC dbo.sp_Act @AutoApproveThreshold = 0, @MaxChangesPerRun = 5, @RequireHumanApproval = 0, @DryRun = 0;
    SELECT @Status = Status, @Applied = CASE WHEN AppliedAt IS NULL THEN 0 ELSE 1 END
    FROM dbo.AutonomousActions WHERE ActionId = @ActionId;
    EXEC tSQLt.AssertEqualsString @Expected = N'Rejected', @Actual = @Status;
    EXEC tSQLt.AssertEquals @Expected = 0, @Actual = @Applied;
END;
GO

CREATE PROCEDURE test_sp_RejectAction.[test an action that does not exist is refused (51425)]
AS
BEGIN
    EXEC test_autonomy_fixtures.IsolateLoop;
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 51425,
        @ExpectedMessage = N'sp_RejectAction: action 987654321 does not exist';
    EXEC dbo.sp_RejectAction @ActionId = 987654321;
END;
GO

CREATE PROCEDURE test_sp_RejectAction.[test an applied action is past deciding (51426)]
AS
BEGIN
    DECLARE @ActionId BIGINT, @Message NVARCHAR(2048);
    EXEC test_autonomy_fixtures.IsolateLoop;
    EXEC test_autonomy_fixtures.AddAction @ActionType = N'analyze_table', @Status = N'Applied', @ActionId = @ActionId OUTPUT;
    SET @Message = CONCAT(N'sp_RejectAction: action ', @ActionId, N' is Applied, past deciding');
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 51426, @ExpectedMessage = @Message;
    EXEC dbo.sp_RejectAction @ActionId = @ActionId;
END;
GO
