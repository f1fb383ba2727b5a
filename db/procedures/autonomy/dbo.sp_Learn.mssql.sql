-- kind: procedure
-- requires: dbo.sp_ExecuteOnlineActions, dbo.AutonomousActions, dbo.AutonomousActionCatalog, dbo.AutonomousImprovementHistory, dbo.AutonomousCycles, dbo.OODALoopMetrics, dbo.fn_AutonomousLoopSettings, dbo.fn_AutonomousActionMetric, dbo.fn_TableStatementMs, dbo.LearnQueue, hartonomous_ext
-- Learn (seed 003's phase 4): judge each Applied action once its validation window has passed.
-- Creating or dropping an index is measured on the mean time of the statements measured before it
-- (Query Store, dbo.fn_TableStatementMs) over the executions since it was applied, once they ran
-- MinValidationCalls times (or LOOP_MAX_VALIDATION_SECONDS passed); a maintenance action on the count
-- it should have brought down (dbo.fn_AutonomousActionMetric). The verdicts come from
-- hartonomous_ext.autonomy.judge_actions, in one external script per run: kept, or, when the action
-- made things worse by more than RevertTolerance, marked Reverting for dbo.sp_ExecuteOnlineActions
-- to undo, as PostgreSQL does: the revert (dbo.fn_AutonomousActionStatement's @Revert = 1 statement;
-- a dropped index comes back from the definition recorded when it was proposed, online where the
-- edition allows) is index DDL, and runs after this phase commits, in a transaction of its own,
-- never holding its locks until a reader commits; one that fails stays Reverting with the error,
-- and the next run tries it again. This phase executes nothing: its only per-action step is the
-- set-based verdict, so no single action's error can doom its transaction. Each verdict is a row of
-- dbo.AutonomousImprovementHistory and counts in its type's record, which the next scores read.
-- Then the cycle is finished. Called outside a transaction, it commits and then calls
-- dbo.sp_ExecuteOnlineActions itself (the activation loop does after it commits a Learn message).
-- Activation calls it with every parameter at its default: it then reads its queue (dbo.LearnQueue).
CREATE OR ALTER PROCEDURE dbo.sp_Learn
    @TenantId INT = NULL,
    @CycleId BIGINT = NULL OUTPUT
WITH EXECUTE AS OWNER
AS
BEGIN
    SET NOCOUNT ON;
    SET @CycleId = NULLIF(@CycleId, 0);  -- also an input (the cycle it finishes); there is no cycle 0
    IF @TenantId IS NULL AND @CycleId IS NULL AND (SESSION_CONTEXT(N'hartonomous.loop_dispatch') IS NULL OR @@NESTLEVEL = 1)  -- not run by the dispatcher (it calls phases nested; a key at level 1 is stale)
       AND EXISTS (SELECT 1 FROM dbo.LearnQueue WITH (NOLOCK))
    BEGIN
        EXEC dbo.sp_ProcessLoopMessages @QueueName = N'LearnQueue';
        RETURN;
    END;
    SET XACT_ABORT OFF;
    SET LOCK_TIMEOUT 5000;  -- never queue behind a DBA's DDL, nor make it queue
    DECLARE @Started DATETIME2(7) = SYSUTCDATETIME(), @Now DATETIME2(3) = SYSUTCDATETIME();
    DECLARE @OwnTransaction BIT = CASE WHEN @@TRANCOUNT = 0 THEN 1 ELSE 0 END;
    DECLARE @MinCalls INT, @Tolerance FLOAT, @Lock INT, @Handled INT = 0, @Message NVARCHAR(2048);
    DECLARE @Rows NVARCHAR(MAX), @Verdicts NVARCHAR(MAX), @Problem NVARCHAR(2048);
    DECLARE @Due TABLE (
        Ordinal INT IDENTITY(1, 1) PRIMARY KEY, ActionId BIGINT NOT NULL UNIQUE, CycleId BIGINT NULL, Status NVARCHAR(16) NOT NULL,
        ActionType NVARCHAR(64) NOT NULL, TargetSchema NVARCHAR(128) NULL, TargetName NVARCHAR(128) NULL,
        TargetColumns NVARCHAR(400) NULL, Parameters NVARCHAR(MAX) NULL, Command NVARCHAR(MAX) NULL,
        RevertCommand NVARCHAR(MAX) NULL, BeforeState NVARCHAR(MAX) NULL, MetricBefore FLOAT NULL, AppliedAt DATETIME2(3) NULL,
        MetricName NVARCHAR(64) NULL, MetricAfter FLOAT NULL, CallsAfter BIGINT NULL, Ready BIT NOT NULL DEFAULT (1),
        Verdict NVARCHAR(16) NULL, Improvement FLOAT NULL, CountsAsKept INT NULL);

    SELECT @MinCalls = s.MinValidationCalls, @Tolerance = s.RevertTolerance FROM dbo.fn_AutonomousLoopSettings() AS s;

    BEGIN TRY
        IF @OwnTransaction = 1
            BEGIN TRANSACTION;
        -- one phase of the loop at a time (PostgreSQL: its advisory transaction lock)
        EXEC @Lock = sys.sp_getapplock @Resource = N'hartonomous.autonomous_loop', @LockMode = N'Exclusive',
            @LockOwner = N'Transaction';
        IF @Lock < 0
            THROW 51410, N'sp_Learn: another phase of the autonomous loop holds hartonomous.autonomous_loop', 1;

        -- due for a verdict (a revert that failed before stays Reverting: sp_ExecuteOnlineActions tries it again)
        INSERT INTO @Due (ActionId, CycleId, Status, ActionType, TargetSchema, TargetName, TargetColumns, Parameters, Command,
                          RevertCommand, BeforeState, MetricBefore, AppliedAt)
        SELECT a.ActionId, a.CycleId, a.Status, a.ActionType, a.TargetSchema, a.TargetName, a.TargetColumns, a.Parameters,
               a.Command, a.RevertCommand, a.BeforeState, a.MetricBefore, a.AppliedAt
        FROM dbo.AutonomousActions AS a WITH (UPDLOCK, HOLDLOCK)
        WHERE a.Status = N'Applied' AND a.ValidateAfter <= @Now
        ORDER BY a.ActionId;

        UPDATE d
        SET MetricName = N'statement mean ms', MetricAfter = m.MeanMs, CallsAfter = m.Calls,
            -- not enough executions yet to judge, unless the window has reached its longest
            Ready = CASE WHEN m.Calls < @MinCalls
                              AND d.AppliedAt > DATEADD(SECOND, -{{ policy.LOOP_MAX_VALIDATION_SECONDS }}, @Now) THEN 0 ELSE 1 END
        FROM @Due AS d
        CROSS APPLY dbo.fn_TableStatementMs(JSON_VALUE(d.Parameters, N'$.table'),
                                            COALESCE(JSON_QUERY(d.BeforeState, N'$.statements'), N'[]'), d.AppliedAt, @Now) AS m
        WHERE d.Status = N'Applied' AND d.ActionType IN (N'create_index', N'drop_index');
        UPDATE @Due
        SET MetricName = N'count', MetricAfter = dbo.fn_AutonomousActionMetric(ActionType, TargetSchema, TargetName)
        WHERE Status = N'Applied' AND ActionType NOT IN (N'create_index', N'drop_index');
        DELETE FROM @Due WHERE Ready = 0;

        IF EXISTS (SELECT 1 FROM @Due WHERE Status = N'Applied')
        BEGIN
            SET @Rows = (SELECT d.ActionId, d.ActionType, d.MetricBefore, d.MetricAfter, @Tolerance AS Tolerance
                         FROM @Due AS d WHERE d.Status = N'Applied' ORDER BY d.Ordinal
                         FOR JSON PATH);
            EXEC sys.sp_execute_external_script
                @language = N'Python',
                @script = N'
from hartonomous_ext import autonomy
# every OUTPUT parameter gets a value: one left unset (or None) stops BxlServer; empty reads back as NULL
verdicts, problem = "[]", ""
try:
    verdicts = autonomy.judge_actions(rows_json)
except (ValueError, KeyError) as exc:
    problem = str(exc)
',
                @params = N'@rows_json NVARCHAR(MAX), @verdicts NVARCHAR(MAX) OUTPUT, @problem NVARCHAR(2048) OUTPUT',
                @rows_json = @Rows, @verdicts = @Verdicts OUTPUT, @problem = @Problem OUTPUT
            WITH RESULT SETS NONE;
            SET @Problem = NULLIF(@Problem, N'');
            IF @Problem IS NOT NULL
            BEGIN
                SET @Message = CONCAT(N'sp_Learn: ', @Problem);
                THROW 51411, @Message, 1;
            END;
            UPDATE d
            SET Verdict = v.Verdict, Improvement = v.Improvement, CountsAsKept = v.CountsAsKept
            FROM @Due AS d
            INNER JOIN OPENJSON(@Verdicts) WITH (ActionId BIGINT, Verdict NVARCHAR(16), Improvement FLOAT, CountsAsKept INT) AS v
                ON v.ActionId = d.ActionId
            WHERE d.Status = N'Applied';

            UPDATE a
            SET Status = CASE WHEN d.Verdict = N'reverted' THEN N'Reverting' ELSE N'Kept' END,
                StatusReason = CASE WHEN d.Verdict = N'regressed'
                                    THEN N'worse after it ran, and the catalog has no revert for it' ELSE a.StatusReason END,
                MetricAfter = d.MetricAfter, JudgedAt = @Now,
                AfterState = (SELECT d.MetricAfter AS metric, d.CallsAfter AS calls, JSON_QUERY(d.BeforeState, N'$.statements') AS statements
                              FOR JSON PATH, WITHOUT_ARRAY_WRAPPER, INCLUDE_NULL_VALUES)
            FROM dbo.AutonomousActions AS a
            INNER JOIN @Due AS d ON d.ActionId = a.ActionId
            WHERE d.Status = N'Applied' AND d.Verdict IS NOT NULL;
            INSERT INTO dbo.AutonomousImprovementHistory (ActionId, CycleId, ActionType, TargetObject, Verdict, MetricName,
                                                          MetricBefore, MetricAfter, ImprovementPct, Detail)
            SELECT d.ActionId, d.CycleId, d.ActionType, CONCAT_WS(N'.', d.TargetSchema, d.TargetName), d.Verdict, d.MetricName,
                   d.MetricBefore, d.MetricAfter, ROUND(100 * d.Improvement, 2),
                   (SELECT d.CallsAfter AS calls_after, d.Command AS command,
                           CASE WHEN d.Verdict = N'reverted' THEN d.RevertCommand END AS [revert]
                    FOR JSON PATH, WITHOUT_ARRAY_WRAPPER, INCLUDE_NULL_VALUES)
            FROM @Due AS d
            WHERE d.Status = N'Applied' AND d.Verdict IS NOT NULL
            ORDER BY d.Ordinal;
            UPDATE c
            SET KeptCount = c.KeptCount + j.Kept, FailedCount = c.FailedCount + j.Failed
            FROM dbo.AutonomousActionCatalog AS c
            INNER JOIN (SELECT d.ActionType, SUM(d.CountsAsKept) AS Kept,
                               SUM(CASE WHEN d.Verdict IN (N'reverted', N'regressed') THEN 1 ELSE 0 END) AS Failed
                        FROM @Due AS d WHERE d.Status = N'Applied' AND d.Verdict IS NOT NULL
                        GROUP BY d.ActionType) AS j ON j.ActionType = c.ActionType;
            SET @Handled = (SELECT COUNT(*) FROM @Due WHERE Status = N'Applied' AND Verdict IS NOT NULL);
        END;

        UPDATE dbo.AutonomousCycles SET FinishedAt = @Now
        WHERE FinishedAt IS NULL AND (@CycleId IS NULL OR CycleId <= @CycleId);
        INSERT INTO dbo.OODALoopMetrics (CycleId, Phase, DurationMs, Success, ItemsProcessed)
        VALUES (@CycleId, N'Learn', DATEDIFF_BIG(MICROSECOND, @Started, SYSUTCDATETIME()) / 1000.0, 1, @Handled);
        IF @OwnTransaction = 1
            COMMIT TRANSACTION;
    END TRY
    BEGIN CATCH
        IF @OwnTransaction = 1 AND XACT_STATE() <> 0
            ROLLBACK TRANSACTION;
        THROW;
    END CATCH;

    -- the reverts it marked run outside any transaction: only when this call began none
    IF @OwnTransaction = 1
        EXEC dbo.sp_ExecuteOnlineActions;
END;
