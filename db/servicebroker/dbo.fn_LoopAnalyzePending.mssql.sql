-- kind: function
-- requires: dbo.AnalyzeQueue, dbo.AutonomousLoopAttempts
-- engine-specific: what "an Analyze waits" means on Service Broker; PostgreSQL reads it from dbo.AutonomousLoopMessages, where a message is one row
-- 1 when a next Analyze is pending, so nobody sends another: an AnalyzeMessage in dbo.AnalyzeQueue,
-- or a delayed or retried Analyze (its dbo.AutonomousLoopAttempts row) whose conversation is still
-- live (an endpoint not closed, CD, nor in error, ER). Conversations the broker lost (NEW_BROKER,
-- END CONVERSATION WITH CLEANUP, a RECEIVE by hand, a restore) leave rows and endpoints that wait
-- for nothing: they do not count, or the loop would stop sending forever. @Except is the caller's
-- own conversation (the Analyze in work, or the one being dead-lettered), NULL for none.
-- Read without locks (the queue's reader holds them): a message being received counts or not,
-- either way at most one Analyze more.
CREATE OR ALTER FUNCTION dbo.fn_LoopAnalyzePending(@Except UNIQUEIDENTIFIER)
RETURNS TABLE
AS
RETURN
SELECT CAST(CASE WHEN EXISTS (SELECT 1 FROM dbo.AnalyzeQueue AS q WITH (NOLOCK)
                              WHERE q.message_type_name = N'//Hartonomous/AutonomousLoop/AnalyzeMessage'
                                AND (@Except IS NULL OR q.conversation_handle <> @Except))
                   OR EXISTS (SELECT 1 FROM dbo.AutonomousLoopAttempts AS a
                              INNER JOIN sys.conversation_endpoints AS e ON e.conversation_handle = a.ConversationHandle
                              WHERE a.QueueName = N'AnalyzeQueue' AND e.state NOT IN ('CD', 'ER')
                                AND (@Except IS NULL OR a.ConversationHandle <> @Except))
                 THEN 1 ELSE 0 END AS BIT) AS Pending;
