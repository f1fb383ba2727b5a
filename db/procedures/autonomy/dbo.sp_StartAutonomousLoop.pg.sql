-- kind: procedure
-- requires: dbo.AutonomousLoopSettings, dbo.AutonomousLoopMessages, dbo.sp_SendLoopMessage
-- Switch the autonomous loop on (dbo.AutonomousLoopSettings.Enabled = 1) and queue an Analyze
-- when none is queued, so a cycle starts at the dispatcher's next run; returns the message queued
-- (NULL: one was already waiting) and Started 1. UnlessStopped = 1 leaves a loop an operator
-- switched off as it is (Started 0): what a re-run publish does. `python -m deployer loop start`
-- calls it and, on PostgreSQL, schedules the dispatcher in pg_cron.
CREATE OR REPLACE PROCEDURE dbo.sp_StartAutonomousLoop(
    UnlessStopped integer DEFAULT 0,
    INOUT MessageId bigint DEFAULT NULL,
    INOUT Started integer DEFAULT NULL
)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = dbo, public, pg_temp
AS $$
BEGIN
    MessageId := NULL;
    Started := 0;
    IF UnlessStopped = 1 AND EXISTS (SELECT 1 FROM dbo.AutonomousLoopSettings s WHERE s.SettingsId = 1 AND s.Enabled = 0) THEN
        RETURN;
    END IF;
    Started := 1;
    INSERT INTO dbo.AutonomousLoopSettings AS s (SettingsId, Enabled) VALUES (1, 1)
    ON CONFLICT (SettingsId) DO UPDATE SET Enabled = 1;
    IF NOT EXISTS (SELECT 1 FROM dbo.AutonomousLoopMessages m WHERE m.QueueName = 'AnalyzeQueue') THEN
        CALL dbo.sp_SendLoopMessage('AnalyzeQueue', '{"trigger": "start"}', 0, MessageId);
    END IF;
END
$$;
