-- kind: function
-- requires: dbo.OODALoopMetrics, dbo.AutonomousCycles, dbo.AutonomousActions, dbo.AutonomousLoopDeadLetters
-- Delete the loop's own rows older than OlderThanDays (default LOOP_HISTORY_RETENTION_DAYS):
-- phase metrics, dead letters, and finished cycles with their snapshots and observations. Actions
-- and dbo.AutonomousImprovementHistory stay (they are the record of what the loop changed).
-- Returns the rows deleted. Not destructive in the catalog (purge_loop_history): it deletes only the
-- loop's own telemetry past retention, never what the loop changed nor its record of it, so the loop
-- applies it like its other maintenance.
CREATE OR REPLACE FUNCTION dbo.sp_PurgeAutonomousHistory(OlderThanDays integer DEFAULT {{ policy.LOOP_HISTORY_RETENTION_DAYS }})
RETURNS TABLE (DeletedRows bigint)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = dbo, public, pg_temp
AS $$
DECLARE
    cutoff timestamptz;
    total bigint := 0;
    n bigint;
BEGIN
    IF OlderThanDays IS NULL OR OlderThanDays < 1 THEN
        RAISE EXCEPTION 'sp_PurgeAutonomousHistory: OlderThanDays must be 1 or more' USING ERRCODE = '22023';
    END IF;
    cutoff := now() - make_interval(days => OlderThanDays);
    DELETE FROM dbo.OODALoopMetrics m WHERE m.ExecutedAt < cutoff;
    GET DIAGNOSTICS n = ROW_COUNT; total := total + n;
    DELETE FROM dbo.AutonomousLoopDeadLetters d WHERE d.DeadLetteredAt < cutoff;
    GET DIAGNOSTICS n = ROW_COUNT; total := total + n;
    DELETE FROM dbo.AutonomousCycles c WHERE c.FinishedAt < cutoff;  -- snapshots and observations go with them
    GET DIAGNOSTICS n = ROW_COUNT; total := total + n;
    RETURN QUERY SELECT total;
END
$$;
