-- dbo.sp_ProcessLoopMessages: a queue name not of the loop is refused (51221), and so is a call from
-- inside a running reader (51222: a phase must not read its queue again); a body that is not a
-- JSON object ends in dbo.AutonomousLoopDeadLetters with a failure row in dbo.OODALoopMetrics, and
-- the chain of phases it broke gets an Analyze after IntervalSeconds; a loop switched off reads
-- nothing. The reader runs in the test's transaction (its own transactions nest in it), which
-- tSQLt rolls back; it reads until its queue stays empty for a second. The NoTransaction test (tSQLt
-- 1.0.8043 or later, which undoes its fakes and spies afterwards) runs the reader outside any
-- transaction, as activation does, to exercise its doomed branch, and ends the conversation it
-- leaves behind (the delayed retry) WITH CLEANUP.
EXEC tSQLt.NewTestClass 'test_sp_ProcessLoopMessages';
GO

CREATE PROCEDURE test_sp_ProcessLoopMessages.[test a queue name not of the loop is refused (51221)]
AS
BEGIN
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 51221,
        @ExpectedMessage = N'sp_ProcessLoopMessages: QueueName must be AnalyzeQueue, HypothesizeQueue, ActQueue or LearnQueue, not NULL';
    EXEC dbo.sp_ProcessLoopMessages @QueueName = NULL;
END;
GO

CREATE PROCEDURE test_sp_ProcessLoopMessages.[test a reader refuses to start inside another (51222)]
AS
BEGIN
    DECLARE @Error INT, @Left SQL_VARIANT;
    -- a reader one level up, in the transaction it reads in (tSQLt's)
    EXEC sys.sp_set_session_context @key = N'hartonomous.loop_dispatch', @value = N'AnalyzeQueue@1';
    BEGIN TRY
        EXEC dbo.sp_ProcessLoopMessages @QueueName = N'AnalyzeQueue';
    END TRY
    BEGIN CATCH
        SET @Error = ERROR_NUMBER();
    END CATCH;
    EXEC sys.sp_set_session_context @key = N'hartonomous.loop_dispatch', @value = NULL;
    EXEC tSQLt.AssertEquals @Expected = 51222, @Actual = @Error;
END;
GO

CREATE PROCEDURE test_sp_ProcessLoopMessages.[test a body that is not a JSON object is dead-lettered]
AS
BEGIN
    DECLARE @MessageId BIGINT, @Rows INT, @Attempts INT, @Error NVARCHAR(4000), @Type NVARCHAR(256), @Failures INT,
            @Restart INT, @Left SQL_VARIANT;
    EXEC tSQLt.FakeTable @TableName = N'dbo.AutonomousLoopSettings';
    EXEC tSQLt.FakeTable @TableName = N'dbo.AutonomousLoopDeadLetters';
    EXEC tSQLt.FakeTable @TableName = N'dbo.OODALoopMetrics';
    EXEC tSQLt.FakeTable @TableName = N'dbo.AutonomousLoopAttempts';
    EXEC dbo.sp_SendLoopMessage @QueueName = N'HypothesizeQueue', @Body = N'this is not json', @MessageId = @MessageId OUTPUT;
    EXEC dbo.sp_ProcessLoopMessages @QueueName = N'HypothesizeQueue';
    SELECT @Rows = COUNT(*), @Attempts = MAX(d.Attempts), @Error = MAX(d.LastError), @Type = MAX(d.MessageType)
    FROM dbo.AutonomousLoopDeadLetters AS d
    WHERE d.QueueName = N'HypothesizeQueue' AND d.Body = N'this is not json';
    SET @Failures = (SELECT COUNT(*) FROM dbo.OODALoopMetrics AS m
                     WHERE m.Phase = N'Hypothesize' AND m.Success = 0 AND m.ErrorMessage LIKE N'malformed message body%');
    SET @Restart = (SELECT COUNT(*) FROM dbo.AutonomousLoopAttempts AS a WHERE a.QueueName = N'AnalyzeQueue');
    SET @Left = SESSION_CONTEXT(N'hartonomous.loop_dispatch');
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @Rows;
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @Attempts;
    EXEC tSQLt.AssertEqualsString @Expected = N'malformed message body: not a JSON object', @Actual = @Error;
    EXEC tSQLt.AssertEqualsString @Expected = N'//Hartonomous/AutonomousLoop/HypothesizeMessage', @Actual = @Type;
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @Failures;
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @Restart;
    EXEC tSQLt.AssertEquals @Expected = NULL, @Actual = @Left;  -- the session is no reader's any more
END;
GO

CREATE PROCEDURE test_sp_ProcessLoopMessages.[test a loop switched off reads nothing]
AS
BEGIN
    DECLARE @MessageId BIGINT, @Handle UNIQUEIDENTIFIER, @Type NVARCHAR(256), @Body NVARCHAR(MAX), @Sequence BIGINT;
    DECLARE @Tries INT = 0, @Found BIT = 0, @DeadLetters INT;
    EXEC tSQLt.FakeTable @TableName = N'dbo.AutonomousLoopSettings';
    EXEC tSQLt.FakeTable @TableName = N'dbo.AutonomousLoopDeadLetters';
    INSERT INTO dbo.AutonomousLoopSettings (SettingsId, Enabled) VALUES (1, 0);
    EXEC dbo.sp_SendLoopMessage @QueueName = N'LearnQueue', @Body = N'not json either', @MessageId = @MessageId OUTPUT;
    EXEC dbo.sp_ProcessLoopMessages @QueueName = N'LearnQueue';
    WHILE @Found = 0 AND @Tries < 100
    BEGIN
        SET @Tries = @Tries + 1;
        EXEC dbo.sp_ReceiveLoopMessage @QueueName = N'LearnQueue', @TimeoutMs = 0, @Handle = @Handle OUTPUT,
            @MessageType = @Type OUTPUT, @Body = @Body OUTPUT, @Sequence = @Sequence OUTPUT;
        IF @Handle IS NULL
            BREAK;
        IF @Body = N'not json either'
            SET @Found = 1;
    END;
    SET @DeadLetters = (SELECT COUNT(*) FROM dbo.AutonomousLoopDeadLetters);
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @Found;
    EXEC tSQLt.AssertEquals @Expected = 0, @Actual = @DeadLetters;
END;
GO

CREATE PROCEDURE test_sp_ProcessLoopMessages.[test a key an uncatchable error left behind is cleared, not obeyed]
AS
BEGIN
    DECLARE @Error INT, @Left SQL_VARIANT;
    EXEC tSQLt.FakeTable @TableName = N'dbo.AutonomousLoopSettings';
    INSERT INTO dbo.AutonomousLoopSettings (SettingsId, Enabled) VALUES (1, 0);
    -- a reader at a nesting level no ancestor of this call has: it is gone
    EXEC sys.sp_set_session_context @key = N'hartonomous.loop_dispatch', @value = N'LearnQueue@99';
    BEGIN TRY
        EXEC dbo.sp_ProcessLoopMessages @QueueName = N'LearnQueue';
    END TRY
    BEGIN CATCH
        SET @Error = ERROR_NUMBER();
    END CATCH;
    SET @Left = SESSION_CONTEXT(N'hartonomous.loop_dispatch');
    EXEC sys.sp_set_session_context @key = N'hartonomous.loop_dispatch', @value = NULL;
    EXEC tSQLt.AssertEquals @Expected = NULL, @Actual = @Error;
    EXEC tSQLt.AssertEquals @Expected = NULL, @Actual = @Left;
END;
GO

CREATE PROCEDURE test_sp_ProcessLoopMessages.[test an orphaned Analyze attempts row does not stop the restart]
AS
BEGIN
    DECLARE @MessageId BIGINT, @Orphan UNIQUEIDENTIFIER = NEWID(), @Restart INT;
    EXEC tSQLt.FakeTable @TableName = N'dbo.AutonomousLoopSettings';
    EXEC tSQLt.FakeTable @TableName = N'dbo.AutonomousLoopDeadLetters';
    EXEC tSQLt.FakeTable @TableName = N'dbo.OODALoopMetrics';
    EXEC tSQLt.FakeTable @TableName = N'dbo.AutonomousLoopAttempts';
    -- what NEW_BROKER or END CONVERSATION WITH CLEANUP leaves: a row whose conversation is gone
    INSERT INTO dbo.AutonomousLoopAttempts (ConversationHandle, QueueName, MessageId, Body, Attempts, EnqueuedAt, RetryAt)
    VALUES (@Orphan, N'AnalyzeQueue', -1, N'{}', 0, SYSUTCDATETIME(), SYSUTCDATETIME());
    EXEC dbo.sp_SendLoopMessage @QueueName = N'ActQueue', @Body = N'[1]', @MessageId = @MessageId OUTPUT;
    EXEC dbo.sp_ProcessLoopMessages @QueueName = N'ActQueue';
    SET @Restart = (SELECT COUNT(*) FROM dbo.AutonomousLoopAttempts AS a
                    WHERE a.QueueName = N'AnalyzeQueue' AND a.ConversationHandle <> @Orphan);
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @Restart;
END;
GO

CREATE PROCEDURE test_sp_ProcessLoopMessages.[test a Service Broker Error is dead-lettered and the chain restarts]
AS
BEGIN
    DECLARE @MessageId BIGINT, @Target UNIQUEIDENTIFIER, @Rows INT, @Error NVARCHAR(4000), @Restart INT, @Failures INT;
    EXEC tSQLt.FakeTable @TableName = N'dbo.AutonomousLoopSettings';
    EXEC tSQLt.FakeTable @TableName = N'dbo.AutonomousLoopDeadLetters';
    EXEC tSQLt.FakeTable @TableName = N'dbo.OODALoopMetrics';
    EXEC tSQLt.FakeTable @TableName = N'dbo.AutonomousLoopAttempts';
    EXEC dbo.sp_SendLoopMessage @QueueName = N'HypothesizeQueue', @Body = N'{"cycle": 7}', @MessageId = @MessageId OUTPUT;
    SELECT @Target = q.conversation_handle FROM dbo.HypothesizeQueue AS q
    WHERE q.message_type_name = N'//Hartonomous/AutonomousLoop/HypothesizeMessage'
      AND TRY_CAST(JSON_VALUE(CAST(q.message_body AS NVARCHAR(MAX)), '$.message_id') AS BIGINT) = @MessageId;
    -- the target's side fails: its phase message is deleted, an Error reaches the initiator's side
    END CONVERSATION @Target WITH ERROR = 4711 DESCRIPTION = N'test: the dialog failed';
    EXEC dbo.sp_ProcessLoopMessages @QueueName = N'HypothesizeQueue';
    SELECT @Rows = COUNT(*), @Error = MAX(d.LastError) FROM dbo.AutonomousLoopDeadLetters AS d WHERE d.QueueName = N'HypothesizeQueue';
    SET @Failures = (SELECT COUNT(*) FROM dbo.OODALoopMetrics AS m WHERE m.Phase = N'Hypothesize' AND m.Success = 0);
    SET @Restart = (SELECT COUNT(*) FROM dbo.AutonomousLoopAttempts AS a WHERE a.QueueName = N'AnalyzeQueue');
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @Rows;
    EXEC tSQLt.AssertLike @ExpectedPattern = N'Service Broker ended the conversation with an error:%', @Actual = @Error;
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @Failures;
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @Restart;
END;
GO

--[@tSQLt:NoTransaction](DEFAULT)
CREATE PROCEDURE test_sp_ProcessLoopMessages.[test an action whose error doomed the Act phase is recorded failed with the attempt]
AS
BEGIN
    DECLARE @MessageId BIGINT, @ActionId BIGINT, @Status NVARCHAR(16), @Error NVARCHAR(4000), @Judged INT, @Verdict NVARCHAR(16);
    DECLARE @Failed INT, @Attempts INT, @Left NVARCHAR(4000), @Handle UNIQUEIDENTIFIER;
    EXEC test_autonomy_fixtures.IsolateLoop;
    EXEC tSQLt.FakeTable @TableName = N'dbo.AutonomousLoopSettings';
    EXEC tSQLt.FakeTable @TableName = N'dbo.AutonomousLoopDeadLetters';
    EXEC tSQLt.FakeTable @TableName = N'dbo.AutonomousLoopAttempts';
    EXEC test_autonomy_fixtures.AddAction @ActionType = N'analyze_table', @Status = N'Approved', @Score = 9,
        @TargetSchema = N'dbo', @TargetName = N'InferenceRequests', @ActionId = @ActionId OUTPUT;
    -- what sp_Act does when an action's error dooms the activation loop's transaction: it names the
    -- action in the session context and the error goes on (a conversion error dooms the transaction)
    EXEC tSQLt.SpyProcedure @ProcedureName = N'dbo.sp_Act', @CommandToExecute = N'
        DECLARE @Key NVARCHAR(4000) = (SELECT MAX(a.ActionId) AS action, N''tsqlt: doomed'' AS error
                                       FROM dbo.AutonomousActions AS a FOR JSON PATH, WITHOUT_ARRAY_WRAPPER);
        EXEC sys.sp_set_session_context @key = N''hartonomous.doomed_action'', @value = @Key;
        DECLARE @Doom INT = CAST(N''doom'' AS INT);';
    EXEC dbo.sp_SendLoopMessage @QueueName = N'ActQueue', @Body = N'{"cycle": 1}', @MessageId = @MessageId OUTPUT;
    -- outside any transaction, as activation runs it: the doomed branch rolls back, then counts the
    -- attempt (the message comes back and waits out its retry delay on a conversation of its own)
    EXEC dbo.sp_ProcessLoopMessages @QueueName = N'ActQueue';
    SELECT @Status = Status, @Error = LEFT(ErrorMessage, 4000), @Judged = CASE WHEN JudgedAt IS NULL THEN 0 ELSE 1 END
    FROM dbo.AutonomousActions WHERE ActionId = @ActionId;
    SELECT @Verdict = MAX(Verdict) FROM dbo.AutonomousImprovementHistory WHERE ActionId = @ActionId;
    SELECT @Failed = FailedCount FROM dbo.AutonomousActionCatalog WHERE ActionType = N'analyze_table';
    SELECT @Attempts = MAX(Attempts) FROM dbo.AutonomousLoopAttempts WHERE MessageId = @MessageId;
    SET @Left = CAST(SESSION_CONTEXT(N'hartonomous.doomed_action') AS NVARCHAR(4000));
    -- the delayed retry's conversation (and its timer) go before anything is asserted
    EXEC sys.sp_set_session_context @key = N'hartonomous.doomed_action', @value = NULL;
    WHILE 1 = 1
    BEGIN
        SET @Handle = (SELECT TOP (1) a.ConversationHandle FROM dbo.AutonomousLoopAttempts AS a
                       INNER JOIN sys.conversation_endpoints AS e ON e.conversation_handle = a.ConversationHandle);
        IF @Handle IS NULL
            BREAK;
        END CONVERSATION @Handle WITH CLEANUP;
    END;
    EXEC tSQLt.AssertEqualsString @Expected = N'Failed', @Actual = @Status;
    EXEC tSQLt.AssertLike @ExpectedPattern = N'its error doomed the phase''s transaction: tsqlt: doomed', @Actual = @Error;
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @Judged;  -- the cooldown starts from JudgedAt
    EXEC tSQLt.AssertEqualsString @Expected = N'failed', @Actual = @Verdict;
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @Failed;
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @Attempts;  -- counted once, with the record
    EXEC tSQLt.AssertEqualsString @Expected = NULL, @Actual = @Left;  -- recorded once
END;
GO
