-- kind: function
-- requires: dbo.AutonomousLoopSettings
-- The loop's settings in effect: dbo.AutonomousLoopSettings where a DBA set them, the package's
-- defaults (hartonomous_ext.policy) where not.
CREATE OR REPLACE FUNCTION dbo.fn_AutonomousLoopSettings()
RETURNS TABLE (Enabled smallint, IntervalSeconds integer, AutoApproveThreshold double precision,
               MaxChangesPerRun integer, RequireHumanApproval smallint, ValidationSeconds integer,
               MinValidationCalls integer, RevertTolerance double precision, LookbackHours integer,
               VisibilitySeconds integer)
LANGUAGE sql
STABLE
SET search_path = dbo, public, pg_temp
AS $$
    SELECT coalesce(s.Enabled, 1)::smallint,
           coalesce(s.IntervalSeconds, {{ policy.LOOP_INTERVAL_SECONDS }}),
           coalesce(s.AutoApproveThreshold, {{ policy.LOOP_AUTO_APPROVE_THRESHOLD }}),
           coalesce(s.MaxChangesPerRun, {{ policy.LOOP_MAX_CHANGES_PER_RUN }}),
           coalesce(s.RequireHumanApproval, 0)::smallint,
           coalesce(s.ValidationSeconds, {{ policy.LOOP_VALIDATION_SECONDS }}),
           coalesce(s.MinValidationCalls, {{ policy.LOOP_MIN_VALIDATION_CALLS }}),
           coalesce(s.RevertTolerance, {{ policy.LOOP_REVERT_TOLERANCE }}),
           coalesce(s.LookbackHours, {{ policy.LOOP_LOOKBACK_HOURS }}),
           coalesce(s.VisibilitySeconds, {{ policy.LOOP_VISIBILITY_SECONDS }})
    FROM (SELECT 1) AS one (x)
    LEFT JOIN dbo.AutonomousLoopSettings s ON s.SettingsId = 1
$$;
