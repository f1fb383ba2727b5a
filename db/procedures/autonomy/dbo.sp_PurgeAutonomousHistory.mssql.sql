-- kind: procedure
-- requires: dbo.OODALoopMetrics, dbo.AutonomousCycles, dbo.AutonomousActions, dbo.AutonomousObservations, dbo.AutonomousLoopDeadLetters
-- Delete the loop's own rows older than @OlderThanDays (default LOOP_HISTORY_RETENTION_DAYS):
-- phase metrics, dead letters, and finished cycles with their snapshots and observations. Actions
-- and dbo.AutonomousImprovementHistory stay (they are the record of what the loop changed).
-- Returns the rows deleted as one row, DeletedRows. Not destructive in the catalog (purge_loop_history):
-- it deletes only the loop's own telemetry past retention, never what the loop changed nor its record
-- of it, so the loop applies it like its other maintenance. All or nothing: in a transaction of its
-- own, or in the caller's, whose rollback then undoes it.
-- SQL Server refuses ON DELETE SET NULL on an action's cycle and observation beside the cascades
-- from a cycle (multiple cascade paths), so the actions of a purged cycle lose their cycle here.
CREATE OR ALTER PROCEDURE dbo.sp_PurgeAutonomousHistory
    @OlderThanDays INT = {{ policy.LOOP_HISTORY_RETENTION_DAYS }}
WITH EXECUTE AS OWNER
AS
BEGIN
    SET NOCOUNT ON;
    DECLARE @Cutoff DATETIME2(3), @Total BIGINT = 0;
    DECLARE @OwnTransaction BIT = CASE WHEN @@TRANCOUNT = 0 THEN 1 ELSE 0 END;
    IF @OlderThanDays IS NULL OR @OlderThanDays < 1
        THROW 51460, N'sp_PurgeAutonomousHistory: OlderThanDays must be 1 or more', 1;
    SET @Cutoff = DATEADD(DAY, -@OlderThanDays, SYSUTCDATETIME());
    BEGIN TRY
        IF @OwnTransaction = 1
            BEGIN TRANSACTION;
        DELETE FROM dbo.OODALoopMetrics WHERE ExecutedAt < @Cutoff;
        SET @Total = @Total + @@ROWCOUNT;
        DELETE FROM dbo.AutonomousLoopDeadLetters WHERE DeadLetteredAt < @Cutoff;
        SET @Total = @Total + @@ROWCOUNT;
        UPDATE a
        SET CycleId = NULL, ObservationId = NULL
        FROM dbo.AutonomousActions AS a
        INNER JOIN dbo.AutonomousCycles AS c ON c.CycleId = a.CycleId
        WHERE c.FinishedAt < @Cutoff;
        UPDATE a
        SET ObservationId = NULL
        FROM dbo.AutonomousActions AS a
        INNER JOIN dbo.AutonomousObservations AS o ON o.ObservationId = a.ObservationId
        INNER JOIN dbo.AutonomousCycles AS c ON c.CycleId = o.CycleId
        WHERE c.FinishedAt < @Cutoff;
        DELETE FROM dbo.AutonomousCycles WHERE FinishedAt < @Cutoff;  -- snapshots and observations go with them
        SET @Total = @Total + @@ROWCOUNT;
        IF @OwnTransaction = 1
            COMMIT TRANSACTION;
    END TRY
    BEGIN CATCH
        IF @OwnTransaction = 1 AND XACT_STATE() <> 0
            ROLLBACK TRANSACTION;
        THROW;
    END CATCH;
    SELECT @Total AS DeletedRows;
END;
