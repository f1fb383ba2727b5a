-- kind: queue
-- The autonomous loop's AnalyzeQueue, [AnalyzeService] on it, and its message type and contract.
-- Observe: sp_Analyze's messages (the runbook's restart sends one; sp_Learn's message queues the next).

-- One queue of the autonomous loop (the <Phase>Queue objects include this, phase set): its message
-- type, contract, queue and service, each created when missing, so a re-publish changes nothing.
-- Bodies are JSON text sent as NVARCHAR, so the message type validates nothing and the reader
-- checks them. Poison message handling is off: the reader counts attempts itself
-- (dbo.AutonomousLoopAttempts) and dead-letters a message that keeps failing, so the queue is never
-- disabled. The queue is created without activation: its procedure (dbo.sp_Analyze, stage 7) does
-- not exist yet in stage 5, and dbo.sp_StartAutonomousLoop switches activation on (ALTER QUEUE ...
-- WITH ACTIVATION), dbo.sp_StopAutonomousLoop off.
IF NOT EXISTS (SELECT 1 FROM sys.service_message_types WHERE name = N'//Hartonomous/AutonomousLoop/AnalyzeMessage')
BEGIN
    CREATE MESSAGE TYPE [//Hartonomous/AutonomousLoop/AnalyzeMessage] AUTHORIZATION dbo VALIDATION = NONE;
END;
IF NOT EXISTS (SELECT 1 FROM sys.service_contracts WHERE name = N'//Hartonomous/AutonomousLoop/AnalyzeContract')
BEGIN
    CREATE CONTRACT [//Hartonomous/AutonomousLoop/AnalyzeContract] AUTHORIZATION dbo
        ([//Hartonomous/AutonomousLoop/AnalyzeMessage] SENT BY INITIATOR);
END;
IF NOT EXISTS (SELECT 1 FROM sys.service_queues WHERE object_id = OBJECT_ID(N'dbo.AnalyzeQueue'))
BEGIN
    CREATE QUEUE dbo.AnalyzeQueue
        WITH STATUS = ON, RETENTION = OFF, POISON_MESSAGE_HANDLING (STATUS = OFF);
END;
IF NOT EXISTS (SELECT 1 FROM sys.services WHERE name = N'AnalyzeService')
BEGIN
    CREATE SERVICE [AnalyzeService] AUTHORIZATION dbo
        ON QUEUE dbo.AnalyzeQueue ([//Hartonomous/AutonomousLoop/AnalyzeContract]);
END;
