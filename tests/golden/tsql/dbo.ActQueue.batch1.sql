-- kind: queue
-- The autonomous loop's ActQueue, [ActService] on it, and its message type and contract.
-- Decide and act: sp_Act's messages (sp_Hypothesize's message queues one for its cycle).

-- One queue of the autonomous loop (the <Phase>Queue objects include this, phase set): its message
-- type, contract, queue and service, each created when missing, so a re-publish changes nothing.
-- Bodies are JSON text sent as NVARCHAR, so the message type validates nothing and the reader
-- checks them. Poison message handling is off: the reader counts attempts itself
-- (dbo.AutonomousLoopAttempts) and dead-letters a message that keeps failing, so the queue is never
-- disabled. The queue is created without activation: its procedure (dbo.sp_Act, stage 7) does
-- not exist yet in stage 5, and dbo.sp_StartAutonomousLoop switches activation on (ALTER QUEUE ...
-- WITH ACTIVATION), dbo.sp_StopAutonomousLoop off.
IF NOT EXISTS (SELECT 1 FROM sys.service_message_types WHERE name = N'//Hartonomous/AutonomousLoop/ActMessage')
BEGIN
    CREATE MESSAGE TYPE [//Hartonomous/AutonomousLoop/ActMessage] AUTHORIZATION dbo VALIDATION = NONE;
END;
IF NOT EXISTS (SELECT 1 FROM sys.service_contracts WHERE name = N'//Hartonomous/AutonomousLoop/ActContract')
BEGIN
    CREATE CONTRACT [//Hartonomous/AutonomousLoop/ActContract] AUTHORIZATION dbo
        ([//Hartonomous/AutonomousLoop/ActMessage] SENT BY INITIATOR);
END;
IF NOT EXISTS (SELECT 1 FROM sys.service_queues WHERE object_id = OBJECT_ID(N'dbo.ActQueue'))
BEGIN
    CREATE QUEUE dbo.ActQueue
        WITH STATUS = ON, RETENTION = OFF, POISON_MESSAGE_HANDLING (STATUS = OFF);
END;
IF NOT EXISTS (SELECT 1 FROM sys.services WHERE name = N'ActService')
BEGIN
    CREATE SERVICE [ActService] AUTHORIZATION dbo
        ON QUEUE dbo.ActQueue ([//Hartonomous/AutonomousLoop/ActContract]);
END;
