-- kind: procedure
-- requires: dbo.AutonomousLoopMessages, dbo.AutonomousLoopDeadLetters, dbo.OODALoopMetrics, dbo.fn_AutonomousLoopSettings, dbo.sp_Analyze, dbo.sp_Hypothesize, dbo.sp_Act, dbo.sp_Learn, dbo.sp_SendLoopMessage
-- engine-specific: the work of PostgreSQL's dispatcher for one claimed message; SQL Server uses Service Broker activation instead, and its activation loop (dbo.sp_ProcessLoopMessages) does this work for each message it receives
-- Do the work of a message dbo.fn_ClaimLoopMessage claimed (Attempts: as claimed; a message
-- claimed again since is left alone), in the caller's transaction: run its phase, send the next
-- phase's message and delete this one, all or nothing. A body that is not a JSON object goes to
-- dbo.AutonomousLoopDeadLetters at once; a phase that fails is retried after LOOP_RETRY_SECONDS, then twice that,
-- and dead-lettered at its LOOP_MAX_ATTEMPTS-th failure, each failure a row of
-- dbo.OODALoopMetrics. sp_Learn's message queues the next Analyze IntervalSeconds later.
CREATE OR REPLACE PROCEDURE dbo.sp_ProcessLoopMessage(MessageId bigint, Attempts integer)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = dbo, public, pg_temp
AS $$
DECLARE
    sent bigint;  -- the INOUT MessageId of sp_SendLoopMessage
    settings record;
    msg record;
    body jsonb;
    malformed text;
    failure text;
    cycle bigint;
    tenant integer;
    scope text;
    lookback integer;
    started constant timestamptz := clock_timestamp();
BEGIN
    SELECT m.* INTO msg FROM dbo.AutonomousLoopMessages m
    WHERE m.MessageId = sp_ProcessLoopMessage.MessageId AND m.Attempts = sp_ProcessLoopMessage.Attempts
    FOR UPDATE SKIP LOCKED;
    IF NOT FOUND THEN
        RETURN;  -- done, or claimed again by another dispatcher
    END IF;
    SELECT * INTO settings FROM dbo.fn_AutonomousLoopSettings();
    BEGIN
        body := msg.Body::jsonb;
        IF jsonb_typeof(body) <> 'object' THEN
            RAISE EXCEPTION 'JSON, but not an object';
        END IF;
        cycle := (body->>'cycle')::bigint;
        tenant := (body->>'tenant')::integer;
        scope := coalesce(body->>'scope', 'full');
        lookback := (body->>'lookback_hours')::integer;
    EXCEPTION WHEN OTHERS THEN
        malformed := 'malformed message body: ' || SQLERRM;
    END;
    IF malformed IS NULL THEN
        BEGIN
            IF msg.QueueName = 'AnalyzeQueue' THEN
                CALL dbo.sp_Analyze(tenant, scope, lookback, cycle, coalesce(body->>'trigger', 'loop'));
                CALL dbo.sp_SendLoopMessage('HypothesizeQueue', jsonb_build_object('cycle', cycle, 'tenant', tenant)::text, 0, sent);
            ELSIF msg.QueueName = 'HypothesizeQueue' THEN
                CALL dbo.sp_Hypothesize(tenant, cycle);
                CALL dbo.sp_SendLoopMessage('ActQueue', jsonb_build_object('cycle', cycle, 'tenant', tenant)::text, 0, sent);
            ELSIF msg.QueueName = 'ActQueue' THEN
                CALL dbo.sp_Act(tenant, NULL, NULL, NULL, 0, cycle);
                CALL dbo.sp_SendLoopMessage('LearnQueue', jsonb_build_object('cycle', cycle, 'tenant', tenant)::text, 0, sent);
            ELSE
                CALL dbo.sp_Learn(tenant, cycle);
                IF NOT EXISTS (SELECT 1 FROM dbo.AutonomousLoopMessages m
                               WHERE m.QueueName = 'AnalyzeQueue' AND m.MessageId <> msg.MessageId) THEN
                    CALL dbo.sp_SendLoopMessage('AnalyzeQueue', jsonb_build_object('tenant', tenant)::text, settings.IntervalSeconds, sent);
                END IF;
            END IF;
            DELETE FROM dbo.AutonomousLoopMessages m WHERE m.MessageId = msg.MessageId;
            RETURN;
        EXCEPTION WHEN OTHERS THEN
            failure := SQLERRM;
        END;
    END IF;
    INSERT INTO dbo.OODALoopMetrics (CycleId, Phase, DurationMs, Success, ErrorMessage)
    VALUES (cycle, replace(msg.QueueName, 'Queue', ''), 1000 * extract(epoch FROM clock_timestamp() - started), 0,
            coalesce(malformed, failure));
    IF malformed IS NOT NULL OR msg.Attempts >= {{ policy.LOOP_MAX_ATTEMPTS }} THEN
        INSERT INTO dbo.AutonomousLoopDeadLetters (MessageId, QueueName, MessageType, Body, Attempts, LastError, EnqueuedAt)
        VALUES (msg.MessageId, msg.QueueName, msg.MessageType, msg.Body, msg.Attempts, coalesce(malformed, failure), msg.EnqueuedAt);
        DELETE FROM dbo.AutonomousLoopMessages m WHERE m.MessageId = msg.MessageId;
    ELSE
        UPDATE dbo.AutonomousLoopMessages m
        SET LastError = failure,
            VisibleAt = clock_timestamp() + make_interval(secs => {{ policy.LOOP_RETRY_SECONDS }} * power(2, msg.Attempts - 1))
        WHERE m.MessageId = msg.MessageId;
    END IF;
END
$$;
