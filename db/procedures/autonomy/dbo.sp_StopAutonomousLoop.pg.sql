-- kind: procedure
-- requires: dbo.AutonomousLoopSettings
-- Switch the autonomous loop off (dbo.AutonomousLoopSettings.Enabled = 0): queued messages wait,
-- no phase runs, until dbo.sp_StartAutonomousLoop. `python -m deployer loop stop` calls it and,
-- on PostgreSQL, removes the dispatcher's pg_cron job.
CREATE OR REPLACE PROCEDURE dbo.sp_StopAutonomousLoop()
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = dbo, public, pg_temp
AS $$
BEGIN
    INSERT INTO dbo.AutonomousLoopSettings AS s (SettingsId, Enabled) VALUES (1, 0)
    ON CONFLICT (SettingsId) DO UPDATE SET Enabled = 0;
END
$$;
