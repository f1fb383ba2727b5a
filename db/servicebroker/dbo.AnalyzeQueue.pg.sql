-- kind: view
-- requires: dbo.AutonomousLoopMessages
-- On SQL Server dbo.AnalyzeQueue is a Service Broker queue; here it is the Analyze messages of
-- dbo.AutonomousLoopMessages, so the runbook's SELECT COUNT(*) FROM dbo.AnalyzeQueue reads the same.
CREATE OR REPLACE VIEW dbo.AnalyzeQueue AS
SELECT m.MessageId, m.MessageType, m.Body, m.EnqueuedAt, m.VisibleAt, m.Attempts, m.LastError
FROM dbo.AutonomousLoopMessages m
WHERE m.QueueName = 'AnalyzeQueue';
