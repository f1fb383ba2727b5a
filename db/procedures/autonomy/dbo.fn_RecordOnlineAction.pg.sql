-- kind: function
-- requires: dbo.AutonomousActions, dbo.AutonomousActionCatalog, dbo.AutonomousImprovementHistory, dbo.OODALoopMetrics, dbo.fn_AutonomousLoopSettings, dbo.fn_StatementCounters
-- engine-specific: the bookkeeping of PostgreSQL's online actions, which run in a second session; SQL Server's sp_Act and sp_Learn record their own, in the session that ran the action
-- Record how an online action ended (Failure NULL: it succeeded). An action Executing becomes
-- Applied, its validation window starting now and its statements' counters read again (the
-- window measures only time with the change in place), or Failed; one Reverting becomes Reverted,
-- or stays Reverting with the revert's error, to be tried again. One row of dbo.OODALoopMetrics (phase Online) each.
CREATE OR REPLACE FUNCTION dbo.fn_RecordOnlineAction(ActionId bigint, Failure text, StartedAt timestamptz)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = dbo, public, pg_temp
AS $$
DECLARE
    act record;
    settings record;
BEGIN
    SELECT * INTO settings FROM dbo.fn_AutonomousLoopSettings();
    SELECT a.* INTO act FROM dbo.AutonomousActions a
    WHERE a.ActionId = fn_RecordOnlineAction.ActionId AND a.Status IN ('Executing', 'Reverting') FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'fn_RecordOnlineAction: action % is not Executing or Reverting', coalesce(ActionId::text, 'NULL')
            USING ERRCODE = '55000';
    END IF;
    IF act.Status = 'Executing' AND Failure IS NULL THEN
        UPDATE dbo.AutonomousActions a
        SET Status = 'Applied', AppliedAt = now(),
            ValidateAfter = now() + CASE WHEN a.ActionType IN ('create_index', 'drop_index')
                                         THEN make_interval(secs => settings.ValidationSeconds) ELSE interval '0' END,
            BeforeState = CASE WHEN a.ActionType IN ('create_index', 'drop_index')
                               THEN a.BeforeState || jsonb_build_object('statements',
                                    dbo.fn_StatementCounters(ARRAY(SELECT jsonb_object_keys(a.BeforeState->'statements'))))
                               ELSE a.BeforeState END
        WHERE a.ActionId = act.ActionId;
    ELSIF act.Status = 'Executing' THEN
        UPDATE dbo.AutonomousActions a SET Status = 'Failed', ErrorMessage = Failure, JudgedAt = now()
        WHERE a.ActionId = act.ActionId;
        INSERT INTO dbo.AutonomousImprovementHistory (ActionId, CycleId, ActionType, TargetObject, Verdict, Detail)
        VALUES (act.ActionId, act.CycleId, act.ActionType, concat_ws('.', act.TargetSchema, act.TargetName), 'failed',
                jsonb_build_object('error', Failure, 'statement', act.Command));
        UPDATE dbo.AutonomousActionCatalog c SET FailedCount = c.FailedCount + 1 WHERE c.ActionType = act.ActionType;
    ELSE
        -- a revert that failed stays Reverting: the regression it undoes must not stay
        UPDATE dbo.AutonomousActions a
        SET Status = CASE WHEN Failure IS NULL THEN 'Reverted' ELSE 'Reverting' END,
            ErrorMessage = CASE WHEN Failure IS NULL THEN a.ErrorMessage ELSE 'the revert failed (tried again next run): ' || Failure END
        WHERE a.ActionId = act.ActionId;
    END IF;
    INSERT INTO dbo.OODALoopMetrics (CycleId, Phase, DurationMs, Success, ItemsProcessed, ErrorMessage)
    VALUES (act.CycleId, 'Online', 1000 * extract(epoch FROM clock_timestamp() - StartedAt), (Failure IS NULL)::integer, 1, Failure);
END
$$;
