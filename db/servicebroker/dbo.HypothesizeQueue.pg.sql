-- kind: view
-- requires: dbo.AutonomousLoopMessages
-- On SQL Server dbo.HypothesizeQueue is a Service Broker queue; here it is the Hypothesize messages of
-- dbo.AutonomousLoopMessages, so the runbook's SELECT COUNT(*) FROM dbo.HypothesizeQueue reads the same.
CREATE OR REPLACE VIEW dbo.HypothesizeQueue AS
SELECT m.MessageId, m.MessageType, m.Body, m.EnqueuedAt, m.VisibleAt, m.Attempts, m.LastError
FROM dbo.AutonomousLoopMessages m
WHERE m.QueueName = 'HypothesizeQueue';
