-- kind: procedure
-- requires: dbo.AutonomousActions, dbo.AutonomousActionCatalog, dbo.OODALoopMetrics, dbo.fn_AutonomousLoopSettings, dbo.fn_AutonomousActionCatalog, dbo.fn_ApprovalReason, dbo.fn_AutonomousActionStatement, dbo.fn_AutonomousActionMetric, dbo.fn_StatementCounters, dbo.fn_MeanStatementMs, dbo.fn_TableStatements, dbo.AutonomousSnapshots
-- Decide and act (seed 003's phase 3). Approved actions run first, then Proposed ones by score:
-- each that is allowlisted, not destructive and scores at least AutoApproveThreshold runs, up to
-- MaxChangesPerRun in all; the others wait in AwaitingApproval (sp_ApproveAction, sp_RejectAction)
-- with the reason, or stay Proposed when only the run's limit stopped them. Before an action runs
-- its before-state is recorded: the mean time of the statements it should speed up (since the
-- previous cycle's snapshot), or the count it should bring down. Actions that must run outside a
-- transaction (CREATE INDEX CONCURRENTLY, VACUUM, batch procedures) are marked Executing and run
-- by dbo.sp_ExecuteOnlineActions in a session of their own; the others run here.
-- DryRun = 1 records nothing and reports (NOTICE) what would run.
CREATE OR REPLACE PROCEDURE dbo.sp_Act(
    TenantId integer DEFAULT NULL,
    AutoApproveThreshold double precision DEFAULT NULL,
    MaxChangesPerRun integer DEFAULT NULL,
    RequireHumanApproval integer DEFAULT NULL,
    DryRun integer DEFAULT 0,
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
    threshold double precision;
    max_changes integer;
    require_human integer;
    act record;
    catalog_row record;
    waiting text;
    applied integer := 0;
    handled integer := 0;
    queryids text[];
    baseline jsonb;
    now_counters jsonb;
    before_metric double precision;
    before_calls bigint;
    statement text;
BEGIN
    SELECT * INTO settings FROM dbo.fn_AutonomousLoopSettings();
    threshold := coalesce(AutoApproveThreshold, settings.AutoApproveThreshold);
    max_changes := coalesce(MaxChangesPerRun, settings.MaxChangesPerRun);
    require_human := coalesce(RequireHumanApproval, settings.RequireHumanApproval);
    IF threshold < 0 OR threshold > 10 THEN
        RAISE EXCEPTION 'sp_Act: AutoApproveThreshold must be between 0 and 10, not %', threshold USING ERRCODE = '22023';
    END IF;
    IF max_changes < 0 OR max_changes > 100 THEN
        RAISE EXCEPTION 'sp_Act: MaxChangesPerRun must be between 0 and 100, not %', max_changes USING ERRCODE = '22023';
    END IF;
    IF require_human NOT IN (0, 1) OR DryRun IS NULL OR DryRun NOT IN (0, 1) THEN
        RAISE EXCEPTION 'sp_Act: RequireHumanApproval and DryRun are 0 or 1' USING ERRCODE = '22023';
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('hartonomous.autonomous_loop'));

    FOR act IN SELECT a.* FROM dbo.AutonomousActions a
               WHERE a.Status IN ('Approved', 'Proposed')
               ORDER BY (a.Status = 'Approved') DESC, a.Score DESC, a.ActionId
               FOR UPDATE LOOP
        handled := handled + 1;
        SELECT c.IsAllowlisted, k.IsOnline, k.IsDestructive INTO catalog_row
        FROM dbo.AutonomousActionCatalog c JOIN dbo.fn_AutonomousActionCatalog() k ON k.ActionType = c.ActionType
        WHERE c.ActionType = act.ActionType;
        IF act.Status = 'Proposed' THEN
            waiting := dbo.fn_ApprovalReason(act.ActionType, act.Score, threshold, require_human, catalog_row.IsAllowlisted);
            IF waiting IS NOT NULL THEN
                IF DryRun = 1 THEN
                    RAISE NOTICE 'sp_Act: would hold action % (% %) for approval: %', act.ActionId, act.ActionType, act.Command, waiting;
                ELSE
                    UPDATE dbo.AutonomousActions a SET Status = 'AwaitingApproval', StatusReason = waiting
                    WHERE a.ActionId = act.ActionId;
                END IF;
                CONTINUE;
            END IF;
        ELSIF catalog_row.IsAllowlisted = 0 THEN
            UPDATE dbo.AutonomousActions a SET Status = 'Failed', StatusReason = 'its action type was switched off after approval',
                   JudgedAt = now()
            WHERE a.ActionId = act.ActionId;
            CONTINUE;
        END IF;
        IF applied >= max_changes THEN
            CONTINUE;  -- stays as it is for the next cycle
        END IF;
        applied := applied + 1;
        statement := dbo.fn_AutonomousActionStatement(act.ActionType, act.TargetSchema, act.TargetName,
                                                      act.TargetColumns, act.Parameters, 0::smallint);
        IF DryRun = 1 THEN
            RAISE NOTICE 'sp_Act: would run action % (%, score %): %', act.ActionId, act.ActionType, act.Score, statement;
            CONTINUE;
        END IF;

        -- the before-state: statements' mean time since the previous cycle, or the count to bring down
        before_metric := NULL;
        before_calls := NULL;
        IF act.ActionType IN ('create_index', 'drop_index') THEN
            IF act.ActionType = 'create_index' THEN
                SELECT array_agg(v) INTO queryids FROM jsonb_array_elements_text(act.Parameters->'statements') v;
            ELSE
                SELECT array_agg(t.QueryId) INTO queryids FROM dbo.fn_TableStatements(act.Parameters->>'table', 5) t;
            END IF;
            queryids := coalesce(queryids, '{}');
            now_counters := dbo.fn_StatementCounters(queryids);
            SELECT coalesce(jsonb_object_agg(s.ObjectName, s.Counters), '{}'::jsonb) INTO baseline
            FROM dbo.AutonomousSnapshots s
            WHERE s.Kind = 'statement' AND s.ObjectName = ANY (queryids)
              -- the cycle before the latest: the latest is this cycle's own, taken a moment ago
              AND s.CycleId = (SELECT max(p.CycleId) FROM dbo.AutonomousSnapshots p
                               WHERE p.CycleId < (SELECT max(l.CycleId) FROM dbo.AutonomousSnapshots l));
            SELECT m.MeanMs, m.Calls INTO before_metric, before_calls FROM dbo.fn_MeanStatementMs(baseline, now_counters) m;
            IF before_metric IS NULL THEN  -- nothing ran since the snapshot: the statements' mean since statistics began
                SELECT m.MeanMs, m.Calls INTO before_metric, before_calls FROM dbo.fn_MeanStatementMs('{}'::jsonb, now_counters) m;
            END IF;
            UPDATE dbo.AutonomousActions a
            SET BeforeState = jsonb_build_object('statements', now_counters, 'mean_ms', before_metric, 'calls', before_calls),
                MetricBefore = before_metric
            WHERE a.ActionId = act.ActionId;
        ELSE
            before_metric := dbo.fn_AutonomousActionMetric(act.ActionType, act.TargetSchema, act.TargetName);
            UPDATE dbo.AutonomousActions a SET BeforeState = jsonb_build_object('metric', before_metric), MetricBefore = before_metric
            WHERE a.ActionId = act.ActionId;
        END IF;

        IF catalog_row.IsOnline = 1 THEN
            UPDATE dbo.AutonomousActions a SET Status = 'Executing', DecidedAt = coalesce(a.DecidedAt, now()),
                   DecidedBy = coalesce(a.DecidedBy, 'sp_Act')
            WHERE a.ActionId = act.ActionId;
        ELSE
            BEGIN
                EXECUTE statement;
                UPDATE dbo.AutonomousActions a
                SET Status = 'Applied', AppliedAt = now(), DecidedAt = coalesce(a.DecidedAt, now()),
                    DecidedBy = coalesce(a.DecidedBy, 'sp_Act'), ValidateAfter = now()
                WHERE a.ActionId = act.ActionId;
            EXCEPTION WHEN OTHERS THEN
                UPDATE dbo.AutonomousActions a SET Status = 'Failed', ErrorMessage = SQLERRM, JudgedAt = now()
                WHERE a.ActionId = act.ActionId;
                INSERT INTO dbo.AutonomousImprovementHistory (ActionId, CycleId, ActionType, TargetObject, Verdict, Detail)
                VALUES (act.ActionId, act.CycleId, act.ActionType, concat_ws('.', act.TargetSchema, act.TargetName), 'failed',
                        jsonb_build_object('error', SQLERRM, 'statement', statement));
                UPDATE dbo.AutonomousActionCatalog c SET FailedCount = c.FailedCount + 1 WHERE c.ActionType = act.ActionType;
            END;
        END IF;
    END LOOP;

    IF coalesce(DryRun, 0) = 0 THEN
        INSERT INTO dbo.OODALoopMetrics (CycleId, Phase, DurationMs, Success, ItemsProcessed)
        VALUES (sp_Act.CycleId, 'Act', 1000 * extract(epoch FROM clock_timestamp() - started), 1, applied);
    END IF;
END
$$;
