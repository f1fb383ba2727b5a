-- kind: procedure
-- requires: dbo.AutonomousActions, dbo.AutonomousActionCatalog, dbo.AutonomousImprovementHistory, dbo.OODALoopMetrics, dbo.fn_AutonomousLoopSettings, dbo.fn_AutonomousActionStatement
-- Run the actions sp_Act marked Executing, and the reverts sp_Learn marked Reverting, one at a
-- time, oldest first, each in a transaction of its own, outside the phases' (as PostgreSQL's twin
-- runs them in a second session): the index statements (CREATE INDEX, DROP INDEX, ALTER INDEX ...
-- REBUILD, and the reverts) so that the Sch-M lock an online build takes at its end is held only
-- until its outcome is recorded, not until a phase commits, and the log can truncate behind it; the
-- batch procedures (refit_projections and rebuild_vector_index commit in batches and refuse a
-- caller's transaction, recluster_concepts' dbo.fn_DiscoverConcepts holds no transaction while its
-- Python runs when called outside one (its concept rows come as a result set), sp_ArchiveBillingUsage touches the memory-optimized ledger, after which no
-- savepoint can be taken) in the transactions they open themselves. An index statement and the
-- record of its success commit together. Index builds run ONLINE where the edition has it
-- (dbo.fn_AutonomousActionStatement, with WAIT_AT_LOW_PRIORITY where the version allows), under
-- SET LOCK_TIMEOUT of LOOP_ONLINE_LOCK_TIMEOUT_SECONDS, not the phases' 5 s: a build of forty
-- minutes is not thrown away because its last lock waited five seconds. The outcome is recorded as
-- PostgreSQL's dbo.fn_RecordOnlineAction does: Executing becomes Applied (AppliedAt now, the
-- validation window of an index change starting now) or Failed (history row, FailedCount, which
-- the cooldowns read); Reverting becomes Reverted, or stays Reverting with the revert's error and
-- is tried again by the next run. One row of dbo.OODALoopMetrics (phase Online) each. One runner at
-- a time (a session app lock); a second returns at once. Call it outside a transaction: sp_Act and
-- sp_Learn do when they were, dbo.sp_ProcessLoopMessages after it commits an Act or Learn message.
-- Call it with no command timeout (a client's CommandTimeout = 0): a build runs as long as it needs,
-- and a timeout or cancel (an attention) reaches no CATCH. XACT_ABORT is ON for that reason: the
-- attention then rolls back the open action's transaction and its locks instead of leaving both to
-- the session (every error dooms the transaction, so each CATCH rolls back before it records
-- anything); the session app lock stays with the session until it ends or runs this again.
-- On an edition without online index operations reindex_index is ALTER INDEX ... REORGANIZE, which
-- commits in short internal transactions of its own: it runs outside any transaction, like the
-- batch procedures, and its outcome is recorded afterwards (inside one it would hold its locks and
-- the log until the end). An action whose status changed while its statement ran (a lost race: the
-- Applied update matches no row) is rolled back with its DDL and nothing is recorded.
CREATE OR ALTER PROCEDURE dbo.sp_ExecuteOnlineActions
WITH EXECUTE AS OWNER
AS
BEGIN
    SET NOCOUNT ON;
    DECLARE @Lock INT, @LastAction BIGINT = 0, @Now DATETIME2(3), @Started DATETIME2(7), @Detail NVARCHAR(MAX);
    DECLARE @ActionId BIGINT, @ActionCycle BIGINT, @ActionType NVARCHAR(64), @TargetSchema NVARCHAR(128), @Status NVARCHAR(16);
    DECLARE @TargetName NVARCHAR(128), @TargetColumns NVARCHAR(400), @Parameters NVARCHAR(MAX), @TargetTenant INT;
    DECLARE @Statement NVARCHAR(MAX), @Error NVARCHAR(4000), @Message NVARCHAR(2048), @Reverting SMALLINT;
    DECLARE @CommitsItself BIT, @ValidationSeconds INT;
    -- RAISERROR, not THROW: under a caller's XACT_ABORT ON a THROW would doom the caller's transaction
    IF @@TRANCOUNT > 0
    BEGIN
        RAISERROR(N'sp_ExecuteOnlineActions: run it outside a transaction (its actions commit on their own) (51461)', 16, 1);
        RETURN 51461;
    END;
    -- after the refusal (a THROW under XACT_ABORT ON would doom a caller's transaction): an attention
    -- (a client's timeout or cancel) reaches no CATCH, and with XACT_ABORT OFF it would leave the
    -- action's transaction open, holding the build's locks; ON, it is rolled back. A failed action is
    -- still recorded and the next one runs: each CATCH below rolls back first (XACT_STATE() is -1)
    SET XACT_ABORT ON;
    SET IMPLICIT_TRANSACTIONS OFF;  -- a driver's autocommit off would nest every BEGIN TRANSACTION below
    -- an online build waits this long for its locks (and WAIT_AT_LOW_PRIORITY as long at low priority)
    SET LOCK_TIMEOUT {{ policy.LOOP_ONLINE_LOCK_TIMEOUT_SECONDS * 1000 }};
    IF NOT EXISTS (SELECT 1 FROM dbo.AutonomousActions AS a WHERE a.Status IN (N'Executing', N'Reverting'))
        RETURN;
    -- one runner at a time; a second call leaves them to the first (no wait: they run long)
    EXEC @Lock = sys.sp_getapplock @Resource = N'hartonomous.autonomous_loop.own_transactions', @LockMode = N'Exclusive',
        @LockOwner = N'Session', @LockTimeout = 0;
    IF @Lock < 0
        RETURN;
    SELECT @ValidationSeconds = s.ValidationSeconds FROM dbo.fn_AutonomousLoopSettings() AS s;
    BEGIN TRY
        WHILE 1 = 1
        BEGIN
            SET @ActionId = NULL;
            SELECT TOP (1) @ActionId = a.ActionId, @ActionCycle = a.CycleId, @ActionType = a.ActionType, @Status = a.Status,
                   @TargetSchema = a.TargetSchema, @TargetName = a.TargetName, @TargetColumns = a.TargetColumns,
                   @Parameters = a.Parameters
            FROM dbo.AutonomousActions AS a
            WHERE a.Status IN (N'Executing', N'Reverting') AND a.ActionId > @LastAction
            ORDER BY a.ActionId;
            IF @ActionId IS NULL
                BREAK;
            SET @LastAction = @ActionId;  -- once per run: a revert that fails waits for the next run
            SET @Reverting = CASE WHEN @Status = N'Reverting' THEN 1 ELSE 0 END;
            SET @CommitsItself = 0;
            SET @Error = NULL;
            SET @Statement = NULL;
            SET @Started = SYSUTCDATETIME();
            BEGIN TRY
                SET @Statement = dbo.fn_AutonomousActionStatement(@ActionType, @TargetSchema, @TargetName, @TargetColumns,
                                                                  @Parameters, @Reverting);
                IF @Statement IS NULL
                BEGIN
                    SET @Message = CASE WHEN @Reverting = 1
                                        THEN CONCAT(N'sp_ExecuteOnlineActions: no revert statement can be built for ', @ActionType,
                                                    N' (no definition was recorded, or its filter was refused)')
                                        ELSE CONCAT(N'sp_ExecuteOnlineActions: no statement can be built for ', COALESCE(@ActionType, N'NULL'),
                                                    N' (not in the action catalog, or PostgreSQL-only)') END;
                    THROW 51462, @Message, 1;
                END;
                -- run outside any transaction: the batch procedures (they commit in transactions of
                -- their own) and a REORGANIZE (an edition without online index operations: it commits
                -- in short internal transactions; inside ours it would hold its locks and the log to the end)
                SET @CommitsItself = CASE WHEN @Reverting = 0
                                           AND (@ActionType IN (N'refit_projections', N'rebuild_vector_index', N'recluster_concepts',
                                                                N'archive_billing_usage')
                                                OR (@ActionType = N'reindex_index' AND @Statement LIKE N'% REORGANIZE'))
                                          THEN 1 ELSE 0 END;
                SET @TargetTenant = TRY_CAST(@TargetName AS INT);
                IF @CommitsItself = 1
                    EXEC sys.sp_executesql @Statement, N'@TargetName NVARCHAR(128), @TenantId INT, @Parameters NVARCHAR(MAX)',
                        @TargetName = @TargetName, @TenantId = @TargetTenant, @Parameters = @Parameters;
                BEGIN TRANSACTION;
                -- an index statement commits with the record of its success, at once
                IF @CommitsItself = 0
                    EXEC sys.sp_executesql @Statement, N'@TargetName NVARCHAR(128), @TenantId INT, @Parameters NVARCHAR(MAX)',
                        @TargetName = @TargetName, @TenantId = @TargetTenant, @Parameters = @Parameters;
                SET @Now = SYSUTCDATETIME();
                UPDATE dbo.AutonomousActions
                SET Status = CASE WHEN @Reverting = 1 THEN N'Reverted' ELSE N'Applied' END,
                    AppliedAt = CASE WHEN @Reverting = 1 THEN AppliedAt ELSE @Now END,
                    -- an index change is measured over the window that starts once it is in place
                    ValidateAfter = CASE WHEN @Reverting = 1 THEN ValidateAfter
                                         WHEN ActionType IN (N'create_index', N'drop_index')
                                         THEN DATEADD(SECOND, @ValidationSeconds, @Now) ELSE @Now END
                WHERE ActionId = @ActionId AND Status = @Status;
                IF @@ROWCOUNT = 0
                BEGIN
                    -- its status changed while the statement ran (a lost race): an index statement is
                    -- rolled back with this transaction, and this run records nothing of the action
                    ROLLBACK TRANSACTION;
                    CONTINUE;
                END;
                INSERT INTO dbo.OODALoopMetrics (CycleId, Phase, DurationMs, Success, ItemsProcessed, ErrorMessage)
                VALUES (@ActionCycle, N'Online', DATEDIFF_BIG(MICROSECOND, @Started, @Now) / 1000.0, 1, 1, NULL);
                COMMIT TRANSACTION;
            END TRY
            BEGIN CATCH
                SET @Error = LEFT(ERROR_MESSAGE(), 4000);
                IF XACT_STATE() <> 0
                    ROLLBACK TRANSACTION;
            END CATCH;
            IF @Error IS NOT NULL
            BEGIN
                SET @Now = SYSUTCDATETIME();
                SET @Detail = (SELECT @Error AS error, @Statement AS statement FOR JSON PATH, WITHOUT_ARRAY_WRAPPER);
                BEGIN TRANSACTION;
                IF @Reverting = 0
                BEGIN
                    UPDATE dbo.AutonomousActions SET Status = N'Failed', ErrorMessage = @Error, JudgedAt = @Now
                    WHERE ActionId = @ActionId AND Status = N'Executing';
                    INSERT INTO dbo.AutonomousImprovementHistory (ActionId, CycleId, ActionType, TargetObject, Verdict, Detail)
                    VALUES (@ActionId, @ActionCycle, @ActionType, CONCAT_WS(N'.', @TargetSchema, @TargetName), N'failed', @Detail);
                    UPDATE dbo.AutonomousActionCatalog SET FailedCount = FailedCount + 1 WHERE ActionType = @ActionType;
                END
                ELSE
                    -- a revert that failed stays Reverting: the regression it undoes must not stay
                    UPDATE dbo.AutonomousActions
                    SET ErrorMessage = CONCAT(N'the revert failed (tried again next run): ', @Error)
                    WHERE ActionId = @ActionId AND Status = N'Reverting';
                INSERT INTO dbo.OODALoopMetrics (CycleId, Phase, DurationMs, Success, ItemsProcessed, ErrorMessage)
                VALUES (@ActionCycle, N'Online', DATEDIFF_BIG(MICROSECOND, @Started, @Now) / 1000.0, 0, 1, @Error);
                COMMIT TRANSACTION;
            END;
        END;
        EXEC sys.sp_releaseapplock @Resource = N'hartonomous.autonomous_loop.own_transactions', @LockOwner = N'Session';
    END TRY
    BEGIN CATCH
        IF XACT_STATE() <> 0
            ROLLBACK TRANSACTION;
        EXEC sys.sp_releaseapplock @Resource = N'hartonomous.autonomous_loop.own_transactions', @LockOwner = N'Session';
        THROW;
    END CATCH;
END;
