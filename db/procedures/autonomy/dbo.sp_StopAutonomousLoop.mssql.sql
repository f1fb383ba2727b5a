-- kind: procedure
-- requires: dbo.AutonomousLoopSettings, dbo.AnalyzeQueue, dbo.HypothesizeQueue, dbo.ActQueue, dbo.LearnQueue, dbo.sp_Analyze, dbo.sp_Hypothesize, dbo.sp_Act, dbo.sp_Learn
-- Switch the autonomous loop off (dbo.AutonomousLoopSettings.Enabled = 0, and each queue's
-- activation off): queued messages wait, no phase runs, until dbo.sp_StartAutonomousLoop. A reader
-- already running stops before its next message. `python -m deployer loop stop` calls it.
-- The queues keep receiving (STATUS stays ON): what is sent meanwhile waits to be read.
-- Each queue is altered first, and only when it differs (ALTER QUEUE takes a schema lock a reader
-- of the queue blocks), under LOCK_TIMEOUT, before the settings row is locked.
CREATE OR ALTER PROCEDURE dbo.sp_StopAutonomousLoop
WITH EXECUTE AS OWNER
AS
BEGIN
    SET NOCOUNT ON;
    SET XACT_ABORT ON;
    SET LOCK_TIMEOUT 10000;  -- a reader in the middle of an Act holds its queue: fail, do not hang
    -- the whole activation, not STATUS alone: a queue that never had one (the loop never
    -- started) gets its procedure named, switched off
    IF NOT EXISTS (SELECT 1 FROM sys.service_queues AS q WHERE q.object_id = OBJECT_ID(N'dbo.AnalyzeQueue')
                   AND q.is_activation_enabled = 0 AND OBJECT_ID(q.activation_procedure) = OBJECT_ID(N'dbo.sp_Analyze'))
        ALTER QUEUE dbo.AnalyzeQueue WITH
            ACTIVATION (STATUS = OFF, PROCEDURE_NAME = dbo.sp_Analyze, MAX_QUEUE_READERS = 1, EXECUTE AS OWNER);
    IF NOT EXISTS (SELECT 1 FROM sys.service_queues AS q WHERE q.object_id = OBJECT_ID(N'dbo.HypothesizeQueue')
                   AND q.is_activation_enabled = 0 AND OBJECT_ID(q.activation_procedure) = OBJECT_ID(N'dbo.sp_Hypothesize'))
        ALTER QUEUE dbo.HypothesizeQueue WITH
            ACTIVATION (STATUS = OFF, PROCEDURE_NAME = dbo.sp_Hypothesize, MAX_QUEUE_READERS = 1, EXECUTE AS OWNER);
    IF NOT EXISTS (SELECT 1 FROM sys.service_queues AS q WHERE q.object_id = OBJECT_ID(N'dbo.ActQueue')
                   AND q.is_activation_enabled = 0 AND OBJECT_ID(q.activation_procedure) = OBJECT_ID(N'dbo.sp_Act'))
        ALTER QUEUE dbo.ActQueue WITH
            ACTIVATION (STATUS = OFF, PROCEDURE_NAME = dbo.sp_Act, MAX_QUEUE_READERS = 1, EXECUTE AS OWNER);
    IF NOT EXISTS (SELECT 1 FROM sys.service_queues AS q WHERE q.object_id = OBJECT_ID(N'dbo.LearnQueue')
                   AND q.is_activation_enabled = 0 AND OBJECT_ID(q.activation_procedure) = OBJECT_ID(N'dbo.sp_Learn'))
        ALTER QUEUE dbo.LearnQueue WITH
            ACTIVATION (STATUS = OFF, PROCEDURE_NAME = dbo.sp_Learn, MAX_QUEUE_READERS = 1, EXECUTE AS OWNER);
    BEGIN TRANSACTION;
        UPDATE dbo.AutonomousLoopSettings WITH (UPDLOCK, HOLDLOCK) SET Enabled = 0 WHERE SettingsId = 1;
        IF @@ROWCOUNT = 0
            INSERT INTO dbo.AutonomousLoopSettings (SettingsId, Enabled) VALUES (1, 0);
    COMMIT TRANSACTION;
END;
