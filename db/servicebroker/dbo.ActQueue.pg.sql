-- kind: view
-- requires: dbo.AutonomousLoopMessages
-- On SQL Server dbo.ActQueue is a Service Broker queue; here it is the Act messages of
-- dbo.AutonomousLoopMessages, so the runbook's SELECT COUNT(*) FROM dbo.ActQueue reads the same.
CREATE OR REPLACE VIEW dbo.ActQueue AS
SELECT m.MessageId, m.MessageType, m.Body, m.EnqueuedAt, m.VisibleAt, m.Attempts, m.LastError
FROM dbo.AutonomousLoopMessages m
WHERE m.QueueName = 'ActQueue';
