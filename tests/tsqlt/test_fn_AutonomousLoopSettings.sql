-- dbo.fn_AutonomousLoopSettings: one row; without a settings row, the package's defaults
-- (hartonomous_ext.policy LOOP_*); with one, its values where set and the defaults where NULL.
EXEC tSQLt.NewTestClass 'test_fn_AutonomousLoopSettings';
GO

CREATE PROCEDURE test_fn_AutonomousLoopSettings.[test without a settings row it gives the package defaults]
AS
BEGIN
    DECLARE @Rows INT, @Enabled BIT, @Interval INT, @Threshold FLOAT, @Changes INT, @Human BIT, @Lookback INT;
    DECLARE @On BIT = 1, @Off BIT = 0, @DefaultThreshold FLOAT = 3.0;
    EXEC tSQLt.FakeTable @TableName = N'dbo.AutonomousLoopSettings', @Defaults = 1;
    SELECT @Rows = COUNT(*) OVER (), @Enabled = s.Enabled, @Interval = s.IntervalSeconds, @Threshold = s.AutoApproveThreshold,
           @Changes = s.MaxChangesPerRun, @Human = s.RequireHumanApproval, @Lookback = s.LookbackHours
    FROM dbo.fn_AutonomousLoopSettings() AS s;
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @Rows;
    EXEC tSQLt.AssertEquals @Expected = @On, @Actual = @Enabled;
    EXEC tSQLt.AssertEquals @Expected = 900, @Actual = @Interval;
    EXEC tSQLt.AssertEquals @Expected = @DefaultThreshold, @Actual = @Threshold;
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @Changes;
    EXEC tSQLt.AssertEquals @Expected = @Off, @Actual = @Human;
    EXEC tSQLt.AssertEquals @Expected = 24, @Actual = @Lookback;
END;
GO

CREATE PROCEDURE test_fn_AutonomousLoopSettings.[test a DBA's values win where set and the defaults fill the rest]
AS
BEGIN
    DECLARE @Interval INT, @Threshold FLOAT, @Human BIT, @Lookback INT, @Validation INT;
    DECLARE @On BIT = 1, @Set FLOAT = 7.5;
    EXEC tSQLt.FakeTable @TableName = N'dbo.AutonomousLoopSettings', @Defaults = 1;
    INSERT INTO dbo.AutonomousLoopSettings (SettingsId, IntervalSeconds, AutoApproveThreshold, RequireHumanApproval)
    VALUES (1, 60, 7.5, 1);
    SELECT @Interval = s.IntervalSeconds, @Threshold = s.AutoApproveThreshold, @Human = s.RequireHumanApproval,
           @Lookback = s.LookbackHours, @Validation = s.ValidationSeconds
    FROM dbo.fn_AutonomousLoopSettings() AS s;
    EXEC tSQLt.AssertEquals @Expected = 60, @Actual = @Interval;
    EXEC tSQLt.AssertEquals @Expected = @Set, @Actual = @Threshold;
    EXEC tSQLt.AssertEquals @Expected = @On, @Actual = @Human;
    EXEC tSQLt.AssertEquals @Expected = 24, @Actual = @Lookback;
    EXEC tSQLt.AssertEquals @Expected = 300, @Actual = @Validation;
END;
GO
