-- dbo.sp_StartAutonomousLoop: it switches the loop on (AutonomousLoopSettings.Enabled = 1), switches
-- activation on for the four queues, each running its phase, and queues an Analyze unless one waits;
-- UnlessStopped = 1 leaves a loop an operator switched off as it is. ALTER QUEUE is transactional: the
-- test's rollback restores the queues.
EXEC tSQLt.NewTestClass 'test_sp_StartAutonomousLoop';
GO

CREATE PROCEDURE test_sp_StartAutonomousLoop.[test it switches the loop and each queue's activation on]
AS
BEGIN
    DECLARE @MessageId BIGINT, @Started INT, @Enabled INT, @Active INT, @Procedures INT, @Waiting INT;
    EXEC tSQLt.FakeTable @TableName = N'dbo.AutonomousLoopSettings';
    EXEC dbo.sp_StartAutonomousLoop @UnlessStopped = 0, @MessageId = @MessageId OUTPUT, @Started = @Started OUTPUT;
    SET @Enabled = (SELECT COUNT(*) FROM dbo.AutonomousLoopSettings AS s WHERE s.SettingsId = 1 AND s.Enabled = 1);
    SELECT @Active = COUNT(CASE WHEN q.is_activation_enabled = 1 AND q.is_receive_enabled = 1 AND q.max_readers = 1 THEN 1 END),
           @Procedures = COUNT(CASE WHEN q.activation_procedure LIKE N'%' + REPLACE(q.name, N'Queue', N'') + N']' THEN 1 END)
    FROM sys.service_queues AS q
    WHERE q.object_id IN (OBJECT_ID(N'dbo.AnalyzeQueue'), OBJECT_ID(N'dbo.HypothesizeQueue'), OBJECT_ID(N'dbo.ActQueue'),
                          OBJECT_ID(N'dbo.LearnQueue'));
    -- an Analyze waits now: the one queued here, or one that already waited
    SET @Waiting = CASE WHEN @MessageId IS NOT NULL OR EXISTS (
                       SELECT 1 FROM sys.conversation_endpoints AS e INNER JOIN sys.services AS v ON v.service_id = e.service_id
                       WHERE v.name = N'AnalyzeService' AND e.is_initiator = 0 AND e.state IN ('SI', 'CO', 'DI')) THEN 1 ELSE 0 END;
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @Started;
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @Enabled;
    EXEC tSQLt.AssertEquals @Expected = 4, @Actual = @Active;
    EXEC tSQLt.AssertEquals @Expected = 4, @Actual = @Procedures;
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @Waiting;
END;
GO

CREATE PROCEDURE test_sp_StartAutonomousLoop.[test an Analyze already waiting is not queued again]
AS
BEGIN
    DECLARE @First BIGINT, @Second BIGINT, @Started INT;
    EXEC tSQLt.FakeTable @TableName = N'dbo.AutonomousLoopSettings';
    EXEC dbo.sp_StartAutonomousLoop @MessageId = @First OUTPUT, @Started = @Started OUTPUT;
    EXEC dbo.sp_StartAutonomousLoop @MessageId = @Second OUTPUT, @Started = @Started OUTPUT;
    EXEC tSQLt.AssertEquals @Expected = NULL, @Actual = @Second;
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @Started;
END;
GO

CREATE PROCEDURE test_sp_StartAutonomousLoop.[test UnlessStopped leaves a loop an operator stopped as it is]
AS
BEGIN
    DECLARE @MessageId BIGINT = 5, @Started INT = 5, @Enabled INT;
    EXEC tSQLt.FakeTable @TableName = N'dbo.AutonomousLoopSettings';
    INSERT INTO dbo.AutonomousLoopSettings (SettingsId, Enabled) VALUES (1, 0);
    EXEC dbo.sp_StartAutonomousLoop @UnlessStopped = 1, @MessageId = @MessageId OUTPUT, @Started = @Started OUTPUT;
    SET @Enabled = (SELECT COUNT(*) FROM dbo.AutonomousLoopSettings AS s WHERE s.SettingsId = 1 AND s.Enabled = 0);
    EXEC tSQLt.AssertEquals @Expected = 0, @Actual = @Started;
    EXEC tSQLt.AssertEquals @Expected = NULL, @Actual = @MessageId;  -- the caller's 5 does not survive
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @Enabled;
END;
GO

CREATE PROCEDURE test_sp_StartAutonomousLoop.[test an Analyze attempts row whose conversation is gone is deleted, not obeyed]
AS
BEGIN
    DECLARE @MessageId BIGINT, @Started INT, @Orphan UNIQUEIDENTIFIER = NEWID(), @Left INT, @Pending BIT;
    EXEC tSQLt.FakeTable @TableName = N'dbo.AutonomousLoopSettings';
    EXEC tSQLt.FakeTable @TableName = N'dbo.AutonomousLoopAttempts';
    INSERT INTO dbo.AutonomousLoopAttempts (ConversationHandle, QueueName, MessageId, Body, Attempts, EnqueuedAt, RetryAt)
    VALUES (@Orphan, N'AnalyzeQueue', -1, N'{}', 0, SYSUTCDATETIME(), SYSUTCDATETIME());
    EXEC dbo.sp_StartAutonomousLoop @MessageId = @MessageId OUTPUT, @Started = @Started OUTPUT;
    SET @Left = (SELECT COUNT(*) FROM dbo.AutonomousLoopAttempts AS a WHERE a.ConversationHandle = @Orphan);
    SET @Pending = (SELECT p.Pending FROM dbo.fn_LoopAnalyzePending(NULL) AS p);
    EXEC tSQLt.AssertEquals @Expected = 0, @Actual = @Left;
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @Pending;  -- the Analyze queued now, or one that waited
END;
GO
