-- kind: procedure
-- requires: dbo.AutonomousLoopMessages
-- Put a message on one of the loop's queues (AnalyzeQueue, HypothesizeQueue, ActQueue, LearnQueue),
-- visible after DelaySeconds. The runbook's restart on PostgreSQL:
--   CALL dbo.sp_SendLoopMessage('AnalyzeQueue', '{"trigger": "manual"}');
-- The body is kept as sent; the dispatcher reads it as JSON and dead-letters what is not.
CREATE OR REPLACE PROCEDURE dbo.sp_SendLoopMessage(
    QueueName text,
    Body text DEFAULT '{}',
    DelaySeconds double precision DEFAULT 0,
    INOUT MessageId bigint DEFAULT NULL
)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = dbo, public, pg_temp
AS $$
BEGIN
    IF QueueName IS NULL OR QueueName NOT IN ('AnalyzeQueue', 'HypothesizeQueue', 'ActQueue', 'LearnQueue') THEN
        RAISE EXCEPTION 'sp_SendLoopMessage: QueueName must be AnalyzeQueue, HypothesizeQueue, ActQueue or LearnQueue, not %',
            coalesce(QueueName, 'NULL') USING ERRCODE = '22023';
    END IF;
    IF Body IS NULL OR octet_length(Body) > 65536 THEN
        RAISE EXCEPTION 'sp_SendLoopMessage: Body must be given and at most 64 KiB' USING ERRCODE = '22023';
    END IF;
    IF DelaySeconds IS NULL OR DelaySeconds < 0 OR DelaySeconds > 31536000 OR DelaySeconds = 'NaN' THEN
        RAISE EXCEPTION 'sp_SendLoopMessage: DelaySeconds must be between 0 and 31536000' USING ERRCODE = '22023';
    END IF;
    INSERT INTO dbo.AutonomousLoopMessages AS m (QueueName, MessageType, Body, VisibleAt)
    VALUES (QueueName, '//Hartonomous/AutonomousLoop/' || replace(QueueName, 'Queue', 'Message'), Body,
            now() + make_interval(secs => DelaySeconds))
    RETURNING m.MessageId INTO sp_SendLoopMessage.MessageId;
END
$$;
