-- Shared fixtures of the autonomous loop's test classes (no tests). The loop's record is faked
-- empty, with the identities and defaults the procedures rely on, so what a database already holds
-- (its own actions, cycles and catalog counts) cannot decide a test; every action type is in the
-- faked catalog, allowlisted, with no record.
EXEC tSQLt.NewTestClass 'test_autonomy_fixtures';
GO

CREATE PROCEDURE test_autonomy_fixtures.IsolateLoop
AS
BEGIN
    SET NOCOUNT ON;
    EXEC tSQLt.FakeTable @TableName = N'dbo.AutonomousActions', @Identity = 1, @Defaults = 1;
    EXEC tSQLt.FakeTable @TableName = N'dbo.AutonomousActionCatalog', @Defaults = 1;
    EXEC tSQLt.FakeTable @TableName = N'dbo.AutonomousImprovementHistory', @Identity = 1, @Defaults = 1;
    EXEC tSQLt.FakeTable @TableName = N'dbo.OODALoopMetrics', @Identity = 1, @Defaults = 1;
    EXEC tSQLt.FakeTable @TableName = N'dbo.AutonomousCycles', @Identity = 1, @Defaults = 1;
    INSERT INTO dbo.AutonomousActionCatalog (ActionType, IsAllowlisted, KeptCount, FailedCount)
    VALUES (N'create_index', 1, 0, 0), (N'drop_index', 1, 0, 0), (N'reindex_index', 1, 0, 0), (N'analyze_table', 1, 0, 0),
           (N'vacuum_table', 1, 0, 0), (N'refit_projections', 1, 0, 0), (N'rebuild_vector_index', 1, 0, 0),
           (N'archive_inference_requests', 1, 0, 0), (N'archive_billing_usage', 1, 0, 0), (N'purge_loop_history', 1, 0, 0);
END;
GO

-- One action in @Status; Command is a label (the procedures rebuild the statement from the typed columns).
CREATE PROCEDURE test_autonomy_fixtures.AddAction
    @ActionType NVARCHAR(64),
    @Status NVARCHAR(16),
    @TargetSchema NVARCHAR(128) = NULL,
    @TargetName NVARCHAR(128) = NULL,
    @TargetColumns NVARCHAR(400) = NULL,
    @Parameters NVARCHAR(MAX) = NULL,
    @Score FLOAT = 5,
    @ExpectedGain FLOAT = 0.9,
    @MetricBefore FLOAT = NULL,
    @BeforeState NVARCHAR(MAX) = NULL,
    @AppliedAt DATETIME2(3) = NULL,
    @ValidateAfter DATETIME2(3) = NULL,
    @ActionId BIGINT = NULL OUTPUT
AS
BEGIN
    SET NOCOUNT ON;
    SET @ActionId = NULL;
    INSERT INTO dbo.AutonomousActions (ActionType, TargetSchema, TargetName, TargetColumns, Parameters, Command, ExpectedGain,
                                       Score, Status, MetricBefore, BeforeState, AppliedAt, ValidateAfter)
    VALUES (@ActionType, @TargetSchema, @TargetName, @TargetColumns, @Parameters, N'-- tsqlt', @ExpectedGain, @Score, @Status,
            @MetricBefore, @BeforeState, @AppliedAt, @ValidateAfter);
    SET @ActionId = SCOPE_IDENTITY();
END;
GO
