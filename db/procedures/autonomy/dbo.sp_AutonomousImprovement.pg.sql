-- kind: procedure
-- requires: dbo.sp_Analyze, dbo.sp_Hypothesize, dbo.sp_Act, dbo.sp_Learn, dbo.sp_ExecuteOnlineActions, dbo.AutonomousObservations, dbo.AutonomousActions
-- One cycle of the loop on demand (seed 003), outside the queues: observe, propose, act, run the
-- online actions, judge what is due. TargetArea performance or maintenance limits what is
-- observed and proposed (NULL or all: everything). DryRun = 1 reports (NOTICE) what the cycle
-- would do and rolls it all back; RequireHumanApproval = 1 leaves every candidate waiting for
-- sp_ApproveAction; MaxChangesPerRun caps what it applies; Debug = 1 reports (NOTICE) each
-- observation and candidate of the cycle. CALL it outside a transaction block unless DryRun = 1
-- (it commits before the online actions). It runs as its caller (PostgreSQL refuses COMMIT in a
-- SECURITY DEFINER procedure); the phases run as their owner.
CREATE OR REPLACE PROCEDURE dbo.sp_AutonomousImprovement(
    DryRun integer DEFAULT 1,
    MaxChangesPerRun integer DEFAULT 1,
    RequireHumanApproval integer DEFAULT 1,
    TargetArea text DEFAULT 'performance',
    Debug integer DEFAULT 0,
    INOUT CycleId bigint DEFAULT NULL
)
LANGUAGE plpgsql
AS $$
DECLARE
    area text := lower(coalesce(nullif(TargetArea, ''), 'all'));
    item record;
    run_started constant timestamptz := pg_catalog.now();
BEGIN
    IF DryRun IS NULL OR DryRun NOT IN (0, 1) OR coalesce(RequireHumanApproval, 0) NOT IN (0, 1)
       OR coalesce(Debug, 0) NOT IN (0, 1) THEN
        RAISE EXCEPTION 'sp_AutonomousImprovement: DryRun, RequireHumanApproval and Debug are 0 or 1' USING ERRCODE = '22023';
    END IF;
    IF area NOT IN ('performance', 'maintenance', 'all') THEN
        RAISE EXCEPTION 'sp_AutonomousImprovement: TargetArea must be performance, maintenance or all, not %', TargetArea
            USING ERRCODE = '22023';
    END IF;
    IF DryRun = 1 THEN
        -- everything a cycle would record, reported and then rolled back: a dry run leaves nothing
        -- the loop could pick up and apply later
        BEGIN
            CALL dbo.sp_Analyze(NULL, CASE area WHEN 'all' THEN 'full' ELSE area END, NULL, CycleId, 'sp_AutonomousImprovement');
            CALL dbo.sp_Hypothesize(NULL, CycleId, area);
            IF Debug = 1 THEN
                FOR item IN SELECT format('observed %s: %s = %s (baseline %s)', o.Kind, o.TargetObject, o.Metric,
                                          coalesce(o.Baseline::text, '-')) AS line
                            FROM dbo.AutonomousObservations o WHERE o.CycleId = sp_AutonomousImprovement.CycleId
                            ORDER BY o.ObservationId LOOP
                    RAISE NOTICE '%', item.line;
                END LOOP;
            END IF;
            CALL dbo.sp_Act(NULL, NULL, MaxChangesPerRun, RequireHumanApproval, 1, CycleId);
            RAISE EXCEPTION 'hartonomous dry run';
        EXCEPTION WHEN raise_exception THEN
            IF SQLERRM <> 'hartonomous dry run' THEN
                RAISE;
            END IF;
        END;
        CycleId := NULL;  -- rolled back with the rest
        RETURN;
    END IF;
    CALL dbo.sp_Analyze(NULL, CASE area WHEN 'all' THEN 'full' ELSE area END, NULL, CycleId, 'sp_AutonomousImprovement');
    CALL dbo.sp_Hypothesize(NULL, CycleId, area);
    IF Debug = 1 THEN
        FOR item IN SELECT format('observed %s: %s = %s (baseline %s)', o.Kind, o.TargetObject, o.Metric,
                                  coalesce(o.Baseline::text, '-')) AS line
                    FROM dbo.AutonomousObservations o WHERE o.CycleId = sp_AutonomousImprovement.CycleId
                    ORDER BY o.ObservationId LOOP
            RAISE NOTICE '%', item.line;
        END LOOP;
    END IF;
    CALL dbo.sp_Act(NULL, NULL, MaxChangesPerRun, RequireHumanApproval, 0, CycleId);
    COMMIT;
    CALL dbo.sp_ExecuteOnlineActions();
    CALL dbo.sp_Learn(NULL, CycleId);
    COMMIT;
    CALL dbo.sp_ExecuteOnlineActions();
    IF Debug = 1 THEN
        FOR item IN SELECT a.ActionId, a.ActionType, a.Status, coalesce(a.StatusReason, a.ErrorMessage, '') AS why
                    FROM dbo.AutonomousActions a WHERE greatest(a.ProposedAt, a.DecidedAt, a.AppliedAt, a.JudgedAt) >= run_started
                    ORDER BY a.ActionId LOOP
            RAISE NOTICE 'action %: % is % %', item.ActionId, item.ActionType, item.Status, item.why;
        END LOOP;
    END IF;
END
$$;
