-- dbo.sp_HealthCheck: one row per component in a fixed order, each Healthy, WARNING or FAILED; a
-- loop switched off is a WARNING of its queues and of the loop (no phase run in 24 hours FAILS a loop
-- switched on), a recent dead letter is a WARNING, and so is an attempts row whose conversation is gone.
EXEC tSQLt.NewTestClass 'test_sp_HealthCheck';
GO

CREATE PROCEDURE test_sp_HealthCheck.[test it reports every component with a known status]
AS
BEGIN
    DECLARE @Rows INT, @Known INT, @Components NVARCHAR(4000);
    CREATE TABLE #components (Ordinal INT IDENTITY(1, 1) NOT NULL, Component NVARCHAR(64) NOT NULL, Status NVARCHAR(16) NOT NULL, Detail NVARCHAR(4000) NOT NULL);
    INSERT INTO #components (Component, Status, Detail) EXEC dbo.sp_HealthCheck;
    SELECT @Rows = COUNT(*), @Known = COUNT(CASE WHEN h.Status IN (N'Healthy', N'WARNING', N'FAILED') THEN 1 END)
    FROM #components AS h;
    SET @Components = (SELECT STRING_AGG(h.Component, N', ') WITHIN GROUP (ORDER BY h.Ordinal) FROM #components AS h);
    EXEC tSQLt.AssertEquals @Expected = 14, @Actual = @Rows;
    EXEC tSQLt.AssertEquals @Expected = 14, @Actual = @Known;
    EXEC tSQLt.AssertEqualsString
        @Expected = N'Service Broker, Loop queues, OODA Loop, OODA success rate, Queue depth, Conversations, Transmission queue, Dead letters, Pending approvals, Stuck actions, Indexes, Workers, Query Store, Orphans',
        @Actual = @Components;
END;
GO

CREATE PROCEDURE test_sp_HealthCheck.[test a loop switched off and without runs shows as such]
AS
BEGIN
    DECLARE @Queues NVARCHAR(16), @QueuesDetail NVARCHAR(4000), @Loop NVARCHAR(16), @LoopDetail NVARCHAR(4000);
    CREATE TABLE #health (Component NVARCHAR(64) NOT NULL, Status NVARCHAR(16) NOT NULL, Detail NVARCHAR(4000) NOT NULL);
    EXEC tSQLt.FakeTable @TableName = N'dbo.AutonomousLoopSettings';
    EXEC tSQLt.FakeTable @TableName = N'dbo.OODALoopMetrics';
    INSERT INTO dbo.AutonomousLoopSettings (SettingsId, Enabled) VALUES (1, 0);
    INSERT INTO #health (Component, Status, Detail) EXEC dbo.sp_HealthCheck;
    SELECT @Queues = h.Status, @QueuesDetail = h.Detail FROM #health AS h WHERE h.Component = N'Loop queues';
    SELECT @Loop = h.Status, @LoopDetail = h.Detail FROM #health AS h WHERE h.Component = N'OODA Loop';
    EXEC tSQLt.AssertEqualsString @Expected = N'WARNING', @Actual = @Queues;
    EXEC tSQLt.AssertLike @ExpectedPattern = N'switched off (dbo.AutonomousLoopSettings.Enabled = 0);%', @Actual = @QueuesDetail;
    EXEC tSQLt.AssertEqualsString @Expected = N'WARNING', @Actual = @Loop;  -- switched off on purpose
    EXEC tSQLt.AssertEqualsString @Expected = N'no phase has run in 24 hours', @Actual = @LoopDetail;
END;
GO

CREATE PROCEDURE test_sp_HealthCheck.[test a recent dead letter is a warning]
AS
BEGIN
    DECLARE @Status NVARCHAR(16), @Detail NVARCHAR(4000);
    CREATE TABLE #health (Component NVARCHAR(64) NOT NULL, Status NVARCHAR(16) NOT NULL, Detail NVARCHAR(4000) NOT NULL);
    EXEC tSQLt.FakeTable @TableName = N'dbo.AutonomousLoopDeadLetters';
    INSERT INTO dbo.AutonomousLoopDeadLetters (MessageId, QueueName, MessageType, Body, Attempts, LastError, EnqueuedAt, DeadLetteredAt)
    VALUES (1, N'AnalyzeQueue', N'//Hartonomous/AutonomousLoop/AnalyzeMessage', N'x', 1, N'malformed message body: not a JSON object',
            SYSUTCDATETIME(), SYSUTCDATETIME());
    INSERT INTO #health (Component, Status, Detail) EXEC dbo.sp_HealthCheck;
    SELECT @Status = h.Status, @Detail = h.Detail FROM #health AS h WHERE h.Component = N'Dead letters';
    EXEC tSQLt.AssertEqualsString @Expected = N'WARNING', @Actual = @Status;
    EXEC tSQLt.AssertEqualsString @Expected = N'1 in 24 hours; last: malformed message body: not a JSON object', @Actual = @Detail;
END;
GO

CREATE PROCEDURE test_sp_HealthCheck.[test an attempts row whose conversation is gone is a warning]
AS
BEGIN
    DECLARE @Status NVARCHAR(16), @Detail NVARCHAR(4000);
    CREATE TABLE #health (Component NVARCHAR(64) NOT NULL, Status NVARCHAR(16) NOT NULL, Detail NVARCHAR(4000) NOT NULL);
    EXEC tSQLt.FakeTable @TableName = N'dbo.AutonomousLoopAttempts';
    INSERT INTO dbo.AutonomousLoopAttempts (ConversationHandle, QueueName, MessageId, Body, Attempts, EnqueuedAt, RetryAt)
    VALUES (NEWID(), N'AnalyzeQueue', -1, N'{}', 0, SYSUTCDATETIME(), SYSUTCDATETIME());
    INSERT INTO #health (Component, Status, Detail) EXEC dbo.sp_HealthCheck;
    SELECT @Status = h.Status, @Detail = h.Detail FROM #health AS h WHERE h.Component = N'Orphans';
    EXEC tSQLt.AssertEqualsString @Expected = N'WARNING', @Actual = @Status;
    EXEC tSQLt.AssertLike @ExpectedPattern = N'1 attempts rows whose conversation is gone or closed, %', @Actual = @Detail;
END;
GO
