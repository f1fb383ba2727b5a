-- dbo.fn_AutonomousActionMetric: rows past retention are counted, rows within it are not; an index
-- change is measured on its statements' time instead (NULL here); a table's changed rows are a count;
-- a re-clustering is the changed share of its concept type (dbo.fn_ConceptDrift).
EXEC tSQLt.NewTestClass 'test_fn_AutonomousActionMetric';
GO

CREATE PROCEDURE test_fn_AutonomousActionMetric.[test only the loop history past retention counts]
AS
BEGIN
    DECLARE @Metric FLOAT;
    EXEC tSQLt.FakeTable @TableName = N'dbo.OODALoopMetrics', @Identity = 1, @Defaults = 1;
    INSERT INTO dbo.OODALoopMetrics (Phase, ExecutedAt, DurationMs, Success, ItemsProcessed)
    VALUES (N'Act', DATEADD(DAY, -400, SYSUTCDATETIME()), 1, 1, 0), (N'Act', DATEADD(DAY, -300, SYSUTCDATETIME()), 1, 1, 0),
           (N'Act', SYSUTCDATETIME(), 1, 1, 0);
    SET @Metric = dbo.fn_AutonomousActionMetric(N'purge_loop_history', N'dbo', N'OODALoopMetrics');
    EXEC tSQLt.AssertEquals @Expected = 2e0, @Actual = @Metric;
END;
GO

CREATE PROCEDURE test_fn_AutonomousActionMetric.[test an index change has no count]
AS
BEGIN
    DECLARE @Metric FLOAT = dbo.fn_AutonomousActionMetric(N'create_index', N'dbo', N'ix_auto_t');
    EXEC tSQLt.AssertEquals @Expected = NULL, @Actual = @Metric;
END;
GO

CREATE PROCEDURE test_fn_AutonomousActionMetric.[test a table's changed rows are a count]
AS
BEGIN
    DECLARE @Metric FLOAT = dbo.fn_AutonomousActionMetric(N'analyze_table', N'dbo', N'InferenceRequests');
    DECLARE @Counted INT = CASE WHEN @Metric >= 0 THEN 1 ELSE 0 END;
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @Counted;
END;
GO

CREATE PROCEDURE test_fn_AutonomousActionMetric.[test a reclustering is the changed share of its concept type]
AS
BEGIN
    DECLARE @Share FLOAT, @Unknown FLOAT, @Unnamed FLOAT;
    EXEC test_autonomy_fixtures.FakeConceptDrift @Added = 10, @Removed = 2;
    SET @Share = dbo.fn_AutonomousActionMetric(N'recluster_concepts', NULL, N'424242/tsqlt-drift');
    SET @Unknown = dbo.fn_AutonomousActionMetric(N'recluster_concepts', NULL, N'424242/no-such-type');
    SET @Unnamed = dbo.fn_AutonomousActionMetric(N'recluster_concepts', NULL, N'tsqlt-drift');
    EXEC tSQLt.AssertEquals @Expected = 0.3e0, @Actual = @Share;
    EXEC tSQLt.AssertEquals @Expected = NULL, @Actual = @Unknown;  -- no run of the type: nothing to measure
    EXEC tSQLt.AssertEquals @Expected = NULL, @Actual = @Unnamed;
END;
GO
