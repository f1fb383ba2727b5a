-- kind: function
-- requires: dbo.OODALoopMetrics, dbo.AutonomousLoopMessages, dbo.AutonomousLoopDeadLetters, dbo.AutonomousActions, dbo.Atoms, dbo.fn_AutonomousLoopSettings
-- The runbook's quick health check (seed 001) as rows of Component, Status (Healthy, WARNING,
-- FAILED) and Detail: the loop's queues (PostgreSQL's stand-in for the broker), the loop's runs in
-- the last hour and their success rate over 24 hours, queue depths, dead letters, actions waiting
-- for approval, invalid indexes, and recent ingestion. `python -m deployer health` prints it.
-- A function on PostgreSQL (it returns rows): SELECT * FROM dbo.sp_HealthCheck().
CREATE OR REPLACE FUNCTION dbo.sp_HealthCheck()
RETURNS TABLE (Component text, Status text, Detail text)
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = dbo, public, pg_temp
AS $$
DECLARE
    settings record;
    runs bigint;
    failures bigint;
    last_run timestamptz;
BEGIN
    SELECT * INTO settings FROM dbo.fn_AutonomousLoopSettings();
    SELECT count(*), count(*) FILTER (WHERE m.Success = 0), max(m.ExecutedAt) INTO runs, failures, last_run
    FROM dbo.OODALoopMetrics m WHERE m.ExecutedAt >= now() - interval '24 hours';

    RETURN QUERY SELECT 'Loop queues'::text,
        CASE WHEN settings.Enabled = 0 THEN 'WARNING' ELSE 'Healthy' END,
        CASE WHEN settings.Enabled = 0 THEN 'switched off (dbo.AutonomousLoopSettings.Enabled = 0)'
             ELSE 'enabled; pg_cron runs dbo.sp_RunAutonomousLoop (python -m deployer loop status)' END;
    RETURN QUERY SELECT 'OODA Loop'::text,
        CASE WHEN last_run >= now() - greatest(interval '1 hour', 2 * make_interval(secs => settings.IntervalSeconds) + interval '2 minutes')
             THEN 'Healthy' ELSE 'FAILED' END,
        CASE WHEN last_run IS NULL THEN 'no phase has run in 24 hours'
             ELSE format('last phase run %s ago', date_trunc('second', now() - last_run)) END;
    RETURN QUERY SELECT 'OODA success rate'::text,
        CASE WHEN runs = 0 THEN 'WARNING' WHEN (runs - failures) * 100.0 / runs >= 95 THEN 'Healthy' ELSE 'FAILED' END,
        format('%s of %s phase runs succeeded in 24 hours (target: 95%%)', runs - failures, runs);
    RETURN QUERY SELECT 'Queue depth'::text,
        CASE WHEN coalesce(max(q.n), 0) < {{ policy.LOOP_QUEUE_BACKLOG }} THEN 'Healthy' ELSE 'WARNING' END,
        coalesce(string_agg(format('%s %s', q.QueueName, q.n), ', ' ORDER BY q.QueueName), 'all queues empty')
    FROM (SELECT m.QueueName, count(*) AS n FROM dbo.AutonomousLoopMessages m
          WHERE m.VisibleAt <= now() GROUP BY m.QueueName) q;
    RETURN QUERY SELECT 'Dead letters'::text,
        CASE WHEN count(*) = 0 THEN 'Healthy' ELSE 'WARNING' END,
        format('%s in 24 hours%s', count(*), coalesce('; last: ' || left(max(d.LastError), 200), ''))
    FROM dbo.AutonomousLoopDeadLetters d WHERE d.DeadLetteredAt >= now() - interval '24 hours';
    RETURN QUERY SELECT 'Pending approvals'::text,
        CASE WHEN count(*) = 0 THEN 'Healthy' ELSE 'WARNING' END,
        format('%s actions wait for sp_ApproveAction or sp_RejectAction', count(*))
    FROM dbo.AutonomousActions a WHERE a.Status = 'AwaitingApproval';
    RETURN QUERY SELECT 'Stuck actions'::text,
        CASE WHEN count(*) = 0 THEN 'Healthy' ELSE 'WARNING' END,
        format('%s actions Executing or Reverting for over an hour%s', count(*), coalesce('; last error: ' || left(max(a.ErrorMessage), 200), ''))
    FROM dbo.AutonomousActions a
    WHERE a.Status IN ('Executing', 'Reverting') AND coalesce(a.JudgedAt, a.DecidedAt, a.ProposedAt) < now() - interval '1 hour';
    -- an index being built concurrently is invalid until it is done: not a failure
    RETURN QUERY SELECT 'Indexes'::text,
        CASE WHEN count(*) FILTER (WHERE NOT x.indisvalid AND NOT building) = 0 THEN 'Healthy' ELSE 'FAILED' END,
        format('%s indexes, %s invalid, %s being built', count(*), count(*) FILTER (WHERE NOT x.indisvalid AND NOT building),
               count(*) FILTER (WHERE building))
    FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    CROSS JOIN LATERAL (SELECT EXISTS (SELECT 1 FROM pg_stat_progress_create_index p WHERE p.index_relid = x.indexrelid)
                               OR c.relname ~ '_cc(new|old)[0-9]*$' AND EXISTS (SELECT 1 FROM pg_stat_progress_create_index p
                                                                                 WHERE p.relid = x.indrelid) AS building) b
    WHERE n.nspname IN ('dbo', 'graph', 'provenance');
    RETURN QUERY SELECT 'Workers'::text,
        CASE WHEN count(*) > 0 THEN 'Healthy' ELSE 'WARNING' END,
        format('%s atoms created in the last 15 minutes', count(*))
    FROM dbo.Atoms a WHERE a.CreatedAt >= now() - interval '15 minutes';
END
$$;
