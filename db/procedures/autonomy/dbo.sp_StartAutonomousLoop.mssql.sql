-- kind: procedure
-- requires: dbo.AutonomousLoopSettings, dbo.AutonomousLoopAttempts, dbo.sp_SendLoopMessage, dbo.fn_LoopAnalyzePending, dbo.AnalyzeQueue, dbo.HypothesizeQueue, dbo.ActQueue, dbo.LearnQueue, dbo.sp_Analyze, dbo.sp_Hypothesize, dbo.sp_Act, dbo.sp_Learn
-- Switch the autonomous loop on (dbo.AutonomousLoopSettings.Enabled = 1, each queue receiving and
-- its activation on: Service Broker starts dbo.sp_<Phase> when its queue holds a message) and queue
-- an Analyze when none waits, so a cycle starts now; MessageId returns the message queued (NULL: one
-- was already waiting), Started 1. UnlessStopped = 1 leaves a loop an operator switched off as it is
-- (Started 0): what a re-run publish does. `python -m deployer loop start` calls it.
-- Activation is switched on here, not when the queues are created (stage 5): the phase procedures it
-- names are created later (stage 7), and the queue's activation must name a procedure that exists.
-- Each queue is altered first, and only when it differs (ALTER QUEUE takes a schema lock a reader
-- of the queue blocks), under LOCK_TIMEOUT, before the settings row is locked: never a settings
-- lock held while waiting for a whole Act. Attempts rows for AnalyzeQueue whose conversation is
-- gone (NEW_BROKER, END CONVERSATION WITH CLEANUP, a restore) are deleted before deciding whether an
-- Analyze is pending (dbo.fn_LoopAnalyzePending).
CREATE OR ALTER PROCEDURE dbo.sp_StartAutonomousLoop
    @UnlessStopped INT = 0,
    @MessageId BIGINT = NULL OUTPUT,
    @Started INT = NULL OUTPUT
WITH EXECUTE AS OWNER
AS
BEGIN
    SET NOCOUNT ON;
    SET XACT_ABORT ON;
    SET @MessageId = NULL;
    SET @Started = 0;
    SET LOCK_TIMEOUT 10000;  -- a reader in the middle of an Act holds its queue: fail, do not hang
    IF @UnlessStopped = 1 AND EXISTS (SELECT 1 FROM dbo.AutonomousLoopSettings AS s WHERE s.SettingsId = 1 AND s.Enabled = 0)
        RETURN;
    SET @Started = 1;
    -- STATUS = ON as well: a queue someone disabled would take messages nobody reads
    IF NOT EXISTS (SELECT 1 FROM sys.service_queues AS q WHERE q.object_id = OBJECT_ID(N'dbo.AnalyzeQueue')
                   AND q.is_receive_enabled = 1 AND q.is_enqueue_enabled = 1 AND q.is_activation_enabled = 1
                   AND q.max_readers = 1 AND OBJECT_ID(q.activation_procedure) = OBJECT_ID(N'dbo.sp_Analyze'))
        ALTER QUEUE dbo.AnalyzeQueue WITH STATUS = ON,
            ACTIVATION (STATUS = ON, PROCEDURE_NAME = dbo.sp_Analyze, MAX_QUEUE_READERS = 1, EXECUTE AS OWNER);
    IF NOT EXISTS (SELECT 1 FROM sys.service_queues AS q WHERE q.object_id = OBJECT_ID(N'dbo.HypothesizeQueue')
                   AND q.is_receive_enabled = 1 AND q.is_enqueue_enabled = 1 AND q.is_activation_enabled = 1
                   AND q.max_readers = 1 AND OBJECT_ID(q.activation_procedure) = OBJECT_ID(N'dbo.sp_Hypothesize'))
        ALTER QUEUE dbo.HypothesizeQueue WITH STATUS = ON,
            ACTIVATION (STATUS = ON, PROCEDURE_NAME = dbo.sp_Hypothesize, MAX_QUEUE_READERS = 1, EXECUTE AS OWNER);
    IF NOT EXISTS (SELECT 1 FROM sys.service_queues AS q WHERE q.object_id = OBJECT_ID(N'dbo.ActQueue')
                   AND q.is_receive_enabled = 1 AND q.is_enqueue_enabled = 1 AND q.is_activation_enabled = 1
                   AND q.max_readers = 1 AND OBJECT_ID(q.activation_procedure) = OBJECT_ID(N'dbo.sp_Act'))
        ALTER QUEUE dbo.ActQueue WITH STATUS = ON,
            ACTIVATION (STATUS = ON, PROCEDURE_NAME = dbo.sp_Act, MAX_QUEUE_READERS = 1, EXECUTE AS OWNER);
    IF NOT EXISTS (SELECT 1 FROM sys.service_queues AS q WHERE q.object_id = OBJECT_ID(N'dbo.LearnQueue')
                   AND q.is_receive_enabled = 1 AND q.is_enqueue_enabled = 1 AND q.is_activation_enabled = 1
                   AND q.max_readers = 1 AND OBJECT_ID(q.activation_procedure) = OBJECT_ID(N'dbo.sp_Learn'))
        ALTER QUEUE dbo.LearnQueue WITH STATUS = ON,
            ACTIVATION (STATUS = ON, PROCEDURE_NAME = dbo.sp_Learn, MAX_QUEUE_READERS = 1, EXECUTE AS OWNER);
    BEGIN TRANSACTION;
        UPDATE dbo.AutonomousLoopSettings WITH (UPDLOCK, HOLDLOCK) SET Enabled = 1 WHERE SettingsId = 1;
        IF @@ROWCOUNT = 0
            INSERT INTO dbo.AutonomousLoopSettings (SettingsId, Enabled) VALUES (1, 1);
        -- an Analyze whose conversation the broker lost waits for nothing: its row goes
        DELETE a FROM dbo.AutonomousLoopAttempts AS a
        WHERE a.QueueName = N'AnalyzeQueue'
          AND NOT EXISTS (SELECT 1 FROM sys.conversation_endpoints AS e
                          WHERE e.conversation_handle = a.ConversationHandle AND e.state NOT IN ('CD', 'ER'));
        IF NOT EXISTS (SELECT 1 FROM dbo.fn_LoopAnalyzePending(NULL) AS p WHERE p.Pending = 1)
            EXEC dbo.sp_SendLoopMessage @QueueName = N'AnalyzeQueue', @Body = N'{"trigger": "start"}', @DelaySeconds = 0,
                @MessageId = @MessageId OUTPUT;
    COMMIT TRANSACTION;
END;
