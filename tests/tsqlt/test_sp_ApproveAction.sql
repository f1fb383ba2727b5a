-- dbo.sp_ApproveAction: an action waiting for approval becomes Approved, with who decided; an action
-- that does not exist is refused (51420), and so is one past deciding (51421).
EXEC tSQLt.NewTestClass 'test_sp_ApproveAction';
GO

CREATE PROCEDURE test_sp_ApproveAction.[test an action awaiting approval becomes Approved]
AS
BEGIN
    DECLARE @ActionId BIGINT, @Status NVARCHAR(16), @DecidedBy NVARCHAR(128), @Reason NVARCHAR(4000);
    EXEC test_autonomy_fixtures.IsolateLoop;
    EXEC test_autonomy_fixtures.AddAction @ActionType = N'drop_index', @Status = N'AwaitingApproval',
        @TargetSchema = N'dbo', @TargetName = N'ix_tsqlt', @ActionId = @ActionId OUTPUT;
    EXEC dbo.sp_ApproveAction @ActionId = @ActionId, @Comment = N'tsqlt says yes';
    SELECT @Status = Status, @DecidedBy = DecidedBy, @Reason = StatusReason FROM dbo.AutonomousActions WHERE ActionId = @ActionId;
    EXEC tSQLt.AssertEqualsString @Expected = N'Approved', @Actual = @Status;
    EXEC tSQLt.AssertEqualsString @Expected = N'tsqlt says yes', @Actual = @Reason;
    EXEC tSQLt.AssertNotEquals @Expected = NULL, @Actual = @DecidedBy;
END;
GO

CREATE PROCEDURE test_sp_ApproveAction.[test an action that does not exist is refused (51420)]
AS
BEGIN
    EXEC test_autonomy_fixtures.IsolateLoop;
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 51420,
        @ExpectedMessage = N'sp_ApproveAction: action 987654321 does not exist';
    EXEC dbo.sp_ApproveAction @ActionId = 987654321;
END;
GO

CREATE PROCEDURE test_sp_ApproveAction.[test an action past deciding is refused (51421)]
AS
BEGIN
    DECLARE @ActionId BIGINT, @Message NVARCHAR(2048);
    EXEC test_autonomy_fixtures.IsolateLoop;
    EXEC test_autonomy_fixtures.AddAction @ActionType = N'analyze_table', @Status = N'Kept', @ActionId = @ActionId OUTPUT;
    SET @Message = CONCAT(N'sp_ApproveAction: action ', @ActionId, N' is Kept, not awaiting approval');
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 51421, @ExpectedMessage = @Message;
    EXEC dbo.sp_ApproveAction @ActionId = @ActionId;
END;
GO
