-- One queue of the autonomous loop (the <Phase>Queue objects include this, phase set): its message
-- type, contract, queue and service, each created when missing, so a re-publish changes nothing.
-- Bodies are JSON text sent as NVARCHAR, so the message type validates nothing and the reader
-- checks them. Poison message handling is off: the reader counts attempts itself
-- (dbo.AutonomousLoopAttempts) and dead-letters a message that keeps failing, so the queue is never
-- disabled. The queue is created without activation: its procedure (dbo.sp_{{ phase }}, stage 7) does
-- not exist yet in stage 5, and dbo.sp_StartAutonomousLoop switches activation on (ALTER QUEUE ...
-- WITH ACTIVATION), dbo.sp_StopAutonomousLoop off.
IF NOT EXISTS (SELECT 1 FROM sys.service_message_types WHERE name = N'//Hartonomous/AutonomousLoop/{{ phase }}Message')
BEGIN
    CREATE MESSAGE TYPE [//Hartonomous/AutonomousLoop/{{ phase }}Message] AUTHORIZATION dbo VALIDATION = NONE;
END;
IF NOT EXISTS (SELECT 1 FROM sys.service_contracts WHERE name = N'//Hartonomous/AutonomousLoop/{{ phase }}Contract')
BEGIN
    CREATE CONTRACT [//Hartonomous/AutonomousLoop/{{ phase }}Contract] AUTHORIZATION dbo
        ([//Hartonomous/AutonomousLoop/{{ phase }}Message] SENT BY INITIATOR);
END;
IF NOT EXISTS (SELECT 1 FROM sys.service_queues WHERE object_id = OBJECT_ID(N'dbo.{{ phase }}Queue'))
BEGIN
    CREATE QUEUE dbo.{{ phase }}Queue
        WITH STATUS = ON, RETENTION = OFF, POISON_MESSAGE_HANDLING (STATUS = OFF);
END;
IF NOT EXISTS (SELECT 1 FROM sys.services WHERE name = N'{{ phase }}Service')
BEGIN
    CREATE SERVICE [{{ phase }}Service] AUTHORIZATION dbo
        ON QUEUE dbo.{{ phase }}Queue ([//Hartonomous/AutonomousLoop/{{ phase }}Contract]);
END;
