-- kind: view
-- requires: dbo.AutonomousLoopMessages
-- On SQL Server dbo.LearnQueue is a Service Broker queue; here it is the Learn messages of
-- dbo.AutonomousLoopMessages, so the runbook's SELECT COUNT(*) FROM dbo.LearnQueue reads the same.
CREATE OR REPLACE VIEW dbo.LearnQueue AS
SELECT m.MessageId, m.MessageType, m.Body, m.EnqueuedAt, m.VisibleAt, m.Attempts, m.LastError
FROM dbo.AutonomousLoopMessages m
WHERE m.QueueName = 'LearnQueue';
