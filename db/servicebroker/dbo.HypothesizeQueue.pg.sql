-- kind: view
-- requires: dbo.AutonomousLoopMessages
-- engine-specific: on SQL Server dbo.HypothesizeQueue is a Service Broker queue; here it is the Hypothesize messages of dbo.AutonomousLoopMessages, so the runbook's SELECT COUNT(*) FROM dbo.HypothesizeQueue reads the same; the SQL Server side of the autonomous loop is not written yet (issue #12)
CREATE OR REPLACE VIEW dbo.HypothesizeQueue AS
SELECT m.MessageId, m.MessageType, m.Body, m.EnqueuedAt, m.VisibleAt, m.Attempts, m.LastError
FROM dbo.AutonomousLoopMessages m
WHERE m.QueueName = 'HypothesizeQueue';
