-- kind: function
-- requires: dbo.AutonomousLoopSettings
-- The loop's settings in effect: dbo.AutonomousLoopSettings where a DBA set them, the package's
-- defaults (hartonomous_ext.policy) where not. Inline, so a phase reads it as one more join.
CREATE OR ALTER FUNCTION dbo.fn_AutonomousLoopSettings()
RETURNS TABLE
AS
RETURN
SELECT CAST(COALESCE(s.Enabled, 1) AS BIT) AS Enabled,
       COALESCE(s.IntervalSeconds, {{ policy.LOOP_INTERVAL_SECONDS }}) AS IntervalSeconds,
       CAST(COALESCE(s.AutoApproveThreshold, {{ policy.LOOP_AUTO_APPROVE_THRESHOLD }}) AS FLOAT) AS AutoApproveThreshold,
       COALESCE(s.MaxChangesPerRun, {{ policy.LOOP_MAX_CHANGES_PER_RUN }}) AS MaxChangesPerRun,
       CAST(COALESCE(s.RequireHumanApproval, 0) AS BIT) AS RequireHumanApproval,
       COALESCE(s.ValidationSeconds, {{ policy.LOOP_VALIDATION_SECONDS }}) AS ValidationSeconds,
       COALESCE(s.MinValidationCalls, {{ policy.LOOP_MIN_VALIDATION_CALLS }}) AS MinValidationCalls,
       CAST(COALESCE(s.RevertTolerance, {{ policy.LOOP_REVERT_TOLERANCE }}) AS FLOAT) AS RevertTolerance,
       COALESCE(s.LookbackHours, {{ policy.LOOP_LOOKBACK_HOURS }}) AS LookbackHours,
       COALESCE(s.VisibilitySeconds, {{ policy.LOOP_VISIBILITY_SECONDS }}) AS VisibilitySeconds
FROM (SELECT 1 AS x) AS one
LEFT JOIN dbo.AutonomousLoopSettings AS s ON s.SettingsId = 1;
