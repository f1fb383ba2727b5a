-- kind: procedure
-- requires: dbo.AutonomousActions, dbo.AutonomousActionCatalog, dbo.AutonomousImprovementHistory, dbo.AutonomousCycles, dbo.OODALoopMetrics, dbo.fn_AutonomousLoopSettings, dbo.fn_AutonomousActionCatalog, dbo.fn_JudgeAction, dbo.fn_AutonomousActionMetric, dbo.fn_StatementCounters, dbo.fn_MeanStatementMs
-- Learn (seed 003's phase 4): judge each Applied action once its validation window has passed.
-- Creating or dropping an index is measured on the mean time of its statements since it was applied, against
-- the mean before, once they ran MinValidationCalls times (or LOOP_MAX_VALIDATION_SECONDS passed);
-- a maintenance action on the count it should have brought down. The verdict
-- (hartonomous_ext.autonomy.judge) keeps the action, or, when it made things worse by more than
-- RevertTolerance, marks it Reverting for dbo.sp_ExecuteOnlineActions to undo. Each verdict is a
-- row of dbo.AutonomousImprovementHistory and counts in its type's record, which the next scores
-- read. Then the cycle is finished.
CREATE OR REPLACE PROCEDURE dbo.sp_Learn(
    TenantId integer DEFAULT NULL,
    INOUT CycleId bigint DEFAULT NULL
)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = dbo, public, pg_temp
SET lock_timeout = '5s'                 -- never queue behind a DBA's DDL, nor make it queue
SET pg_stat_statements.track = 'none'  -- the loop's own statements are not the workload it measures
AS $$
DECLARE
    started constant timestamptz := clock_timestamp();
    settings record;
    act record;
    after_counters jsonb;
    after_metric double precision;
    after_calls bigint;
    judged record;
    metric_name text;
    handled integer := 0;
BEGIN
    SELECT * INTO settings FROM dbo.fn_AutonomousLoopSettings();
    PERFORM pg_advisory_xact_lock(hashtext('hartonomous.autonomous_loop'));

    FOR act IN SELECT a.* FROM dbo.AutonomousActions a
               WHERE a.Status = 'Applied' AND a.ValidateAfter <= now()
               ORDER BY a.ActionId FOR UPDATE LOOP
        IF act.ActionType IN ('create_index', 'drop_index') THEN
            metric_name := 'statement mean ms';
            after_counters := dbo.fn_StatementCounters(ARRAY(SELECT jsonb_object_keys(act.BeforeState->'statements')));
            SELECT m.MeanMs, m.Calls INTO after_metric, after_calls
            FROM dbo.fn_MeanStatementMs(act.BeforeState->'statements', after_counters) m;
            IF after_calls < settings.MinValidationCalls
               AND act.AppliedAt > now() - interval '{{ policy.LOOP_MAX_VALIDATION_SECONDS }} seconds' THEN
                CONTINUE;  -- not enough executions yet to judge
            END IF;
        ELSE
            metric_name := 'count';
            after_metric := dbo.fn_AutonomousActionMetric(act.ActionType, act.TargetSchema, act.TargetName);
            after_calls := NULL;
            after_counters := NULL;
        END IF;
        SELECT * INTO judged FROM dbo.fn_JudgeAction(act.ActionType, act.MetricBefore, after_metric, settings.RevertTolerance);
        UPDATE dbo.AutonomousActions a
        SET Status = CASE WHEN judged.Verdict = 'reverted' THEN 'Reverting' ELSE 'Kept' END,
            StatusReason = CASE WHEN judged.Verdict = 'regressed'
                                THEN 'worse after it ran, and the catalog has no revert for it' ELSE a.StatusReason END,
            MetricAfter = after_metric, JudgedAt = now(),
            AfterState = jsonb_build_object('metric', after_metric, 'calls', after_calls, 'statements', after_counters)
        WHERE a.ActionId = act.ActionId;
        INSERT INTO dbo.AutonomousImprovementHistory (ActionId, CycleId, ActionType, TargetObject, Verdict, MetricName,
                                                      MetricBefore, MetricAfter, ImprovementPct, Detail)
        VALUES (act.ActionId, act.CycleId, act.ActionType, concat_ws('.', act.TargetSchema, act.TargetName), judged.Verdict,
                metric_name, act.MetricBefore, after_metric, round((100 * judged.Improvement)::numeric, 2),
                jsonb_build_object('calls_after', after_calls, 'command', act.Command,
                                   'revert', CASE WHEN judged.Verdict = 'reverted' THEN act.RevertCommand END));
        UPDATE dbo.AutonomousActionCatalog c
        SET KeptCount = c.KeptCount + judged.CountsAsKept,
            FailedCount = c.FailedCount + CASE WHEN judged.Verdict IN ('reverted', 'regressed') THEN 1 ELSE 0 END
        WHERE c.ActionType = act.ActionType;
        handled := handled + 1;
    END LOOP;

    UPDATE dbo.AutonomousCycles c SET FinishedAt = now()
    WHERE c.FinishedAt IS NULL AND (sp_Learn.CycleId IS NULL OR c.CycleId <= sp_Learn.CycleId);
    INSERT INTO dbo.OODALoopMetrics (CycleId, Phase, DurationMs, Success, ItemsProcessed)
    VALUES (sp_Learn.CycleId, 'Learn', 1000 * extract(epoch FROM clock_timestamp() - started), 1, handled);
END
$$;
