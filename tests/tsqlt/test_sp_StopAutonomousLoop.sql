-- dbo.sp_StopAutonomousLoop: it switches the loop off (AutonomousLoopSettings.Enabled = 0) and each
-- queue's activation off, the queues still receiving (their messages wait); it works on a loop that
-- never started (no settings row, no activation yet). The test's rollback restores the queues.
EXEC tSQLt.NewTestClass 'test_sp_StopAutonomousLoop';
GO

CREATE PROCEDURE test_sp_StopAutonomousLoop.[test it switches the loop and activation off and the queues keep receiving]
AS
BEGIN
    DECLARE @MessageId BIGINT, @Started INT, @Disabled INT, @Inactive INT, @Receiving INT;
    EXEC tSQLt.FakeTable @TableName = N'dbo.AutonomousLoopSettings';
    EXEC dbo.sp_StartAutonomousLoop @MessageId = @MessageId OUTPUT, @Started = @Started OUTPUT;
    EXEC dbo.sp_StopAutonomousLoop;
    SET @Disabled = (SELECT COUNT(*) FROM dbo.AutonomousLoopSettings AS s WHERE s.SettingsId = 1 AND s.Enabled = 0);
    SELECT @Inactive = COUNT(CASE WHEN q.is_activation_enabled = 0 THEN 1 END),
           @Receiving = COUNT(CASE WHEN q.is_receive_enabled = 1 AND q.is_enqueue_enabled = 1 THEN 1 END)
    FROM sys.service_queues AS q
    WHERE q.object_id IN (OBJECT_ID(N'dbo.AnalyzeQueue'), OBJECT_ID(N'dbo.HypothesizeQueue'), OBJECT_ID(N'dbo.ActQueue'),
                          OBJECT_ID(N'dbo.LearnQueue'));
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @Disabled;
    EXEC tSQLt.AssertEquals @Expected = 4, @Actual = @Inactive;
    EXEC tSQLt.AssertEquals @Expected = 4, @Actual = @Receiving;
END;
GO

CREATE PROCEDURE test_sp_StopAutonomousLoop.[test it stops a loop that never started]
AS
BEGIN
    DECLARE @Rows INT, @Disabled INT;
    EXEC tSQLt.FakeTable @TableName = N'dbo.AutonomousLoopSettings';
    EXEC dbo.sp_StopAutonomousLoop;
    SELECT @Rows = COUNT(*), @Disabled = COUNT(CASE WHEN s.Enabled = 0 THEN 1 END) FROM dbo.AutonomousLoopSettings AS s;
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @Rows;
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @Disabled;
END;
GO
