-- kind: setting
-- engine-specific: the numbers of the loop's Service Broker messages (a message_id in each body); PostgreSQL numbers them by the identity of dbo.AutonomousLoopMessages
-- A sequence: the deployer has no kind of its own for one, and a setting is what fits (guarded, so
-- applying it again changes nothing; no table to compare). dbo.sp_SendLoopMessage takes a number
-- for every message it sends, dbo.sp_ProcessLoopMessages for a message sent without one (the
-- runbook's restart), so dead letters and retries name the message. The cache may skip numbers
-- after a restart of the server; the numbers only need to be distinct.
IF NOT EXISTS (SELECT 1 FROM sys.sequences WHERE object_id = OBJECT_ID(N'dbo.AutonomousLoopMessageIds'))
BEGIN
    CREATE SEQUENCE dbo.AutonomousLoopMessageIds AS BIGINT START WITH 1 INCREMENT BY 1 MINVALUE 1 NO CYCLE CACHE 50;
END;
