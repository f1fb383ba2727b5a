-- kind: function
-- requires: dbo.AutonomousLoopMessages, dbo.AutonomousLoopDeadLetters, dbo.AutonomousCycles, dbo.fn_AutonomousLoopSettings, dbo.sp_SendLoopMessage
-- engine-specific: PostgreSQL's RECEIVE for the loop's queue table (pgmq's read with a visibility timeout); SQL Server uses Service Broker activation instead, and its RECEIVE is dbo.sp_ReceiveLoopMessage
-- Claim the next visible message of the loop's queues: count the attempt and hide it for
-- VisibilitySeconds, so it comes back if its reader dies. The caller commits before it works on
-- it. No message visible: a row with MessageId NULL and NextVisibleAt, the time the next one
-- shows (NULL: none is queued); when none is queued at all and no cycle started for two
-- IntervalSeconds (the chain broke: a dead letter, a restore), it first queues an Analyze.
CREATE OR REPLACE FUNCTION dbo.fn_ClaimLoopMessage()
RETURNS TABLE (MessageId bigint, QueueName text, Attempts integer, NextVisibleAt timestamptz)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = dbo, public, pg_temp
AS $$
DECLARE
    sent bigint;  -- the INOUT MessageId of sp_SendLoopMessage
    settings record;
BEGIN
    SELECT * INTO settings FROM dbo.fn_AutonomousLoopSettings();
    IF settings.Enabled = 0 THEN
        RETURN;
    END IF;
    -- a message back after its last attempt never finished (cancelled, terminated, crashed: no
    -- handler ran to count it) is set aside here, before it is handed out again
    WITH dead AS (
        DELETE FROM dbo.AutonomousLoopMessages m
        WHERE m.Attempts >= {{ policy.LOOP_MAX_ATTEMPTS }} AND m.VisibleAt <= clock_timestamp()
        RETURNING m.*
    )
    INSERT INTO dbo.AutonomousLoopDeadLetters (MessageId, QueueName, MessageType, Body, Attempts, LastError, EnqueuedAt)
    SELECT d.MessageId, d.QueueName, d.MessageType, d.Body, d.Attempts,
           coalesce(d.LastError || '; ', '') || 'its last attempt never finished (cancelled, terminated or crashed)', d.EnqueuedAt
    FROM dead d;
    RETURN QUERY
    UPDATE dbo.AutonomousLoopMessages m
    SET Attempts = m.Attempts + 1, VisibleAt = clock_timestamp() + make_interval(secs => settings.VisibilitySeconds)
    WHERE m.MessageId = (SELECT c.MessageId FROM dbo.AutonomousLoopMessages c
                         WHERE c.VisibleAt <= clock_timestamp()
                         ORDER BY c.VisibleAt, c.MessageId LIMIT 1 FOR UPDATE SKIP LOCKED)
    RETURNING m.MessageId, m.QueueName, m.Attempts, NULL::timestamptz;
    IF FOUND THEN
        RETURN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM dbo.AutonomousLoopMessages)
       AND coalesce((SELECT max(c.StartedAt) FROM dbo.AutonomousCycles c), '-infinity')
           < now() - make_interval(secs => 2 * settings.IntervalSeconds) THEN
        CALL dbo.sp_SendLoopMessage('AnalyzeQueue', '{"trigger": "dispatcher"}', 0, sent);
    END IF;
    RETURN QUERY SELECT NULL::bigint, NULL::text, NULL::integer, min(m.VisibleAt) FROM dbo.AutonomousLoopMessages m;
END
$$;
