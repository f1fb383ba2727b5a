-- kind: procedure
-- requires: dbo.sp_ExecuteOnlineActions, dbo.AutonomousActions, dbo.AutonomousActionCatalog, dbo.AutonomousImprovementHistory, dbo.AutonomousCycles, dbo.OODALoopMetrics, dbo.fn_AutonomousLoopSettings, dbo.fn_AutonomousActionStatement, dbo.fn_AutonomousActionMetric, dbo.fn_TableStatementMs, dbo.ActQueue, hartonomous_ext
-- Decide and act (seed 003's phase 3). Approved actions run first, then Proposed ones by score:
-- each that is allowlisted, not destructive and scores at least @AutoApproveThreshold runs, up to
-- @MaxChangesPerRun in all; the others wait in AwaitingApproval (sp_ApproveAction, sp_RejectAction)
-- with the reason, or stay Proposed when only the run's limit stopped them. The reasons come from
-- hartonomous_ext.autonomy.score_candidates, in one external script per run. Before an action runs
-- its before-state is recorded: the mean time of its table's statements in Query Store since the
-- previous cycle began (dbo.fn_TableStatementMs), or the count it should bring down.
-- Index actions (create_index, drop_index, reindex_index) and the three batch procedures are only
-- decided and recorded here: before-state, then Status = 'Executing'; dbo.sp_ExecuteOnlineActions
-- runs each after the phase's transaction commits, in a transaction of its own (as PostgreSQL runs
-- them in a second session): an online build's final Sch-M lock is then not held until this phase
-- commits, the log can truncate, and the phase's LOCK_TIMEOUT of 5 s cannot throw a long build
-- away. sp_Act calls it when it was called outside a transaction (sp_AutonomousImprovement, a DBA),
-- the activation loop after it commits an Act message. On an edition without online index
-- operations an index build would block the table, so one waits for a person's approval ("this
-- edition builds indexes offline"). The other actions (UPDATE STATISTICS, the archive and purge
-- procedures) run here with sp_executesql, the action's TargetName passed as @TargetName and as
-- @TenantId (an integer), each under a savepoint: a failed one is rolled back to it and recorded
-- Failed (history row, FailedCount, and so its cooldown), and the phase goes on. The statements
-- are dbo.fn_AutonomousActionStatement's; one it cannot build (NULL: not in the catalog, or
-- PostgreSQL-only) is such a failure (51405), not a doomed transaction. An error that dooms the
-- transaction all the same cannot be recorded in it: the action is recorded Failed in a
-- transaction of its own after the rollback when this call owns the transaction; inside a
-- caller's (the activation loop's) it is named in SESSION_CONTEXT(N'hartonomous.doomed_action')
-- ({"action": id, "error": text}, which a rollback leaves alone): dbo.sp_ProcessLoopMessages
-- records it Failed right after its rollback, in the same session, in the transaction that counts
-- the attempt (the retry usually arrives in another activation session, which would never see the
-- key), so one bad action cannot fail every cycle. A key any other caller's rollback left (a DBA's
-- transaction, the dispatcher run inside a caller's) is recorded by the next sp_Act of the session
-- before anything else. A deadlock victim (1205) is no fault of its action: it is re-thrown, not
-- recorded Failed, and the dispatcher retries the message without counting an attempt.
-- Activation calls it with every parameter at its default: it then reads its queue (dbo.ActQueue).
-- @DryRun = 1 records nothing and reports (PRINT) what would run.
CREATE OR ALTER PROCEDURE dbo.sp_Act
    @TenantId INT = NULL,
    @AutoApproveThreshold FLOAT = NULL,
    @MaxChangesPerRun INT = NULL,
    @RequireHumanApproval INT = NULL,
    @DryRun INT = 0,
    @CycleId BIGINT = NULL OUTPUT
WITH EXECUTE AS OWNER
AS
BEGIN
    SET NOCOUNT ON;
    SET @CycleId = NULLIF(@CycleId, 0);  -- also an input (the cycle it acts for); there is no cycle 0
    IF @TenantId IS NULL AND @AutoApproveThreshold IS NULL AND @MaxChangesPerRun IS NULL AND @RequireHumanApproval IS NULL
       AND @DryRun = 0 AND @CycleId IS NULL AND (SESSION_CONTEXT(N'hartonomous.loop_dispatch') IS NULL OR @@NESTLEVEL = 1)  -- not run by the dispatcher (it calls phases nested; a key at level 1 is stale)
       AND EXISTS (SELECT 1 FROM dbo.ActQueue WITH (NOLOCK))
    BEGIN
        EXEC dbo.sp_ProcessLoopMessages @QueueName = N'ActQueue';
        RETURN;
    END;
    SET XACT_ABORT OFF;  -- a failed action rolls back to its savepoint; the phase goes on
    SET LOCK_TIMEOUT 5000;  -- never queue behind a DBA's DDL, nor make it queue
    DECLARE @Started DATETIME2(7) = SYSUTCDATETIME(), @Now DATETIME2(3);
    DECLARE @Threshold FLOAT, @MaxChanges INT, @RequireHuman INT, @ValidationSeconds INT, @Message NVARCHAR(2048);
    DECLARE @OwnTransaction BIT = CASE WHEN @@TRANCOUNT = 0 THEN 1 ELSE 0 END;
    DECLARE @OnlineEdition BIT = CASE WHEN CAST(SERVERPROPERTY('EngineEdition') AS INT) IN (3, 5, 8) THEN 1 ELSE 0 END;
    DECLARE @Lock INT, @Applied INT = 0, @Ordinal INT = 0, @Rows NVARCHAR(MAX), @Decisions NVARCHAR(MAX), @Problem NVARCHAR(2048);
    DECLARE @ActionId BIGINT, @ActionCycle BIGINT, @Status NVARCHAR(16), @ActionType NVARCHAR(64), @TargetSchema NVARCHAR(128);
    DECLARE @TargetName NVARCHAR(128), @TargetColumns NVARCHAR(400), @Parameters NVARCHAR(MAX), @Score FLOAT;
    DECLARE @IsAllowlisted BIT, @IsOnline INT, @Waiting NVARCHAR(4000), @Statement NVARCHAR(MAX), @Error NVARCHAR(4000);
    DECLARE @TargetTenant INT, @QueryIds NVARCHAR(MAX), @Measured NVARCHAR(MAX), @Since DATETIME2(3);
    DECLARE @BeforeMs FLOAT, @BeforeCalls BIGINT, @BeforeState NVARCHAR(MAX), @Detail NVARCHAR(MAX);
    DECLARE @Doomed NVARCHAR(4000), @DoomedAction BIGINT, @DoomedError NVARCHAR(4000);
    DECLARE @Candidates TABLE (
        Ordinal INT NOT NULL PRIMARY KEY, ActionId BIGINT NOT NULL, CycleId BIGINT NULL, Status NVARCHAR(16) NOT NULL,
        ActionType NVARCHAR(64) NOT NULL, TargetSchema NVARCHAR(128) NULL, TargetName NVARCHAR(128) NULL,
        TargetColumns NVARCHAR(400) NULL, Parameters NVARCHAR(MAX) NULL, Command NVARCHAR(MAX) NULL, ExpectedGain FLOAT NOT NULL,
        Score FLOAT NOT NULL, IsAllowlisted BIT NOT NULL, KeptCount INT NOT NULL, FailedCount INT NOT NULL,
        ApprovalReason NVARCHAR(4000) NULL, IsOnline INT NULL);

    SELECT @Threshold = COALESCE(@AutoApproveThreshold, s.AutoApproveThreshold),
           @MaxChanges = COALESCE(@MaxChangesPerRun, s.MaxChangesPerRun),
           @RequireHuman = COALESCE(@RequireHumanApproval, CAST(s.RequireHumanApproval AS INT)),
           @ValidationSeconds = s.ValidationSeconds
    FROM dbo.fn_AutonomousLoopSettings() AS s;
    IF @Threshold < 0 OR @Threshold > 10
    BEGIN
        SET @Message = CONCAT(N'sp_Act: AutoApproveThreshold must be between 0 and 10, not ', @Threshold);
        THROW 51400, @Message, 1;
    END;
    IF @MaxChanges < 0 OR @MaxChanges > 100
    BEGIN
        SET @Message = CONCAT(N'sp_Act: MaxChangesPerRun must be between 0 and 100, not ', @MaxChanges);
        THROW 51401, @Message, 1;
    END;
    IF @RequireHuman NOT IN (0, 1) OR @DryRun IS NULL OR @DryRun NOT IN (0, 1)
        THROW 51402, N'sp_Act: RequireHumanApproval and DryRun are 0 or 1', 1;

    BEGIN TRY
        IF @OwnTransaction = 1
            BEGIN TRANSACTION;
        -- one phase of the loop at a time (PostgreSQL: its advisory transaction lock)
        EXEC @Lock = sys.sp_getapplock @Resource = N'hartonomous.autonomous_loop', @LockMode = N'Exclusive',
            @LockOwner = N'Transaction';
        IF @Lock < 0
            THROW 51403, N'sp_Act: another phase of the autonomous loop holds hartonomous.autonomous_loop', 1;

        -- an action whose error doomed an earlier run's transaction in this session: recorded Failed, not run again
        SET @Doomed = CAST(SESSION_CONTEXT(N'hartonomous.doomed_action') AS NVARCHAR(4000));
        IF @Doomed IS NOT NULL AND @DryRun = 0
        BEGIN
            SET @DoomedAction = TRY_CAST(JSON_VALUE(@Doomed, N'$.action') AS BIGINT);
            SET @Error = LEFT(CONCAT(N'its error doomed the phase''s transaction: ', JSON_VALUE(@Doomed, N'$.error')), 4000);
            SET @Detail = (SELECT @Error AS error FOR JSON PATH, WITHOUT_ARRAY_WRAPPER);
            UPDATE dbo.AutonomousActions SET Status = N'Failed', ErrorMessage = @Error, JudgedAt = SYSUTCDATETIME()
            WHERE ActionId = @DoomedAction AND Status IN (N'Approved', N'Proposed');
            IF @@ROWCOUNT > 0
            BEGIN
                INSERT INTO dbo.AutonomousImprovementHistory (ActionId, CycleId, ActionType, TargetObject, Verdict, Detail)
                SELECT a.ActionId, a.CycleId, a.ActionType, CONCAT_WS(N'.', a.TargetSchema, a.TargetName), N'failed', @Detail
                FROM dbo.AutonomousActions AS a WHERE a.ActionId = @DoomedAction;
                UPDATE c SET FailedCount = c.FailedCount + 1
                FROM dbo.AutonomousActionCatalog AS c
                INNER JOIN dbo.AutonomousActions AS a ON a.ActionType = c.ActionType
                WHERE a.ActionId = @DoomedAction;
            END;
            EXEC sys.sp_set_session_context @key = N'hartonomous.doomed_action', @value = NULL;
            SET @DoomedAction = NULL;
            SET @Error = NULL;
        END;

        INSERT INTO @Candidates (Ordinal, ActionId, CycleId, Status, ActionType, TargetSchema, TargetName, TargetColumns,
                                 Parameters, Command, ExpectedGain, Score, IsAllowlisted, KeptCount, FailedCount)
        SELECT ROW_NUMBER() OVER (ORDER BY CASE WHEN a.Status = N'Approved' THEN 0 ELSE 1 END, a.Score DESC, a.ActionId),
               a.ActionId, a.CycleId, a.Status, a.ActionType, a.TargetSchema, a.TargetName, a.TargetColumns, a.Parameters,
               a.Command, a.ExpectedGain, a.Score, c.IsAllowlisted, c.KeptCount, c.FailedCount
        FROM dbo.AutonomousActions AS a WITH (UPDLOCK, HOLDLOCK)
        INNER JOIN dbo.AutonomousActionCatalog AS c ON c.ActionType = a.ActionType
        WHERE a.Status IN (N'Approved', N'Proposed');

        IF EXISTS (SELECT 1 FROM @Candidates)
        BEGIN
            -- the stored Score is decided on as it is (PostgreSQL's sp_Act does so); ActionId comes back to join on
            SET @Rows = (SELECT c.ActionId, c.ActionType, c.Score, c.ExpectedGain, c.KeptCount, c.FailedCount, @Threshold AS Threshold,
                                @RequireHuman AS RequireHumanApproval, CAST(c.IsAllowlisted AS INT) AS IsAllowlisted
                         FROM @Candidates AS c ORDER BY c.Ordinal
                         FOR JSON PATH);
            EXEC sys.sp_execute_external_script
                @language = N'Python',
                @script = N'
import json
from hartonomous_ext import autonomy
# every OUTPUT parameter gets a value: one left unset (or None) stops BxlServer; empty reads back as NULL
decisions, problem = "[]", ""
try:
    scored = json.loads(autonomy.score_candidates(rows_json))
    online = {entry[0]: entry[3] for entry in autonomy.catalog()}
    decisions = json.dumps([{"ActionId": row["ActionId"], "ApprovalReason": row["ApprovalReason"],
                             "IsOnline": online[row["ActionType"]]} for row in scored])
except (ValueError, KeyError) as exc:
    problem = str(exc)
',
                @params = N'@rows_json NVARCHAR(MAX), @decisions NVARCHAR(MAX) OUTPUT, @problem NVARCHAR(2048) OUTPUT',
                @rows_json = @Rows, @decisions = @Decisions OUTPUT, @problem = @Problem OUTPUT
            WITH RESULT SETS NONE;
            SET @Problem = NULLIF(@Problem, N'');
            IF @Problem IS NOT NULL
            BEGIN
                SET @Message = CONCAT(N'sp_Act: ', @Problem);
                THROW 51404, @Message, 1;
            END;
            UPDATE c
            SET ApprovalReason = d.ApprovalReason, IsOnline = d.IsOnline
            FROM @Candidates AS c
            INNER JOIN OPENJSON(@Decisions) WITH (ActionId BIGINT, ApprovalReason NVARCHAR(4000), IsOnline INT) AS d ON d.ActionId = c.ActionId;
        END;

        WHILE 1 = 1
        BEGIN
            SET @Ordinal = @Ordinal + 1;
            SET @ActionId = NULL;
            SELECT @ActionId = c.ActionId, @ActionCycle = c.CycleId, @Status = c.Status, @ActionType = c.ActionType,
                   @TargetSchema = c.TargetSchema, @TargetName = c.TargetName, @TargetColumns = c.TargetColumns,
                   @Parameters = c.Parameters, @Score = c.Score, @IsAllowlisted = c.IsAllowlisted, @IsOnline = c.IsOnline,
                   @Waiting = c.ApprovalReason
            FROM @Candidates AS c WHERE c.Ordinal = @Ordinal;
            IF @ActionId IS NULL
                BREAK;
            IF @Status = N'Proposed'
            BEGIN
                IF @Waiting IS NULL AND @OnlineEdition = 0 AND @IsOnline = 1 AND @ActionType IN (N'create_index', N'drop_index')
                    SET @Waiting = N'this edition builds indexes offline';
                IF @Waiting IS NOT NULL
                BEGIN
                    IF @DryRun = 1
                        PRINT CONCAT(N'sp_Act: would hold action ', @ActionId, N' (', @ActionType, N') for approval: ', @Waiting);
                    ELSE
                        UPDATE dbo.AutonomousActions SET Status = N'AwaitingApproval', StatusReason = @Waiting
                        WHERE ActionId = @ActionId;
                    CONTINUE;
                END;
            END
            ELSE IF @IsAllowlisted = 0
            BEGIN
                IF @DryRun = 0
                    UPDATE dbo.AutonomousActions
                    SET Status = N'Failed', StatusReason = N'its action type was switched off after approval', JudgedAt = SYSUTCDATETIME()
                    WHERE ActionId = @ActionId;
                CONTINUE;
            END;
            IF @Applied >= @MaxChanges
                CONTINUE;  -- stays as it is for the next cycle
            SET @Applied = @Applied + 1;

            SET @Statement = NULL;
            SAVE TRANSACTION sp_Act_action;
            BEGIN TRY
                SET @Statement = dbo.fn_AutonomousActionStatement(@ActionType, @TargetSchema, @TargetName, @TargetColumns,
                                                                  @Parameters, 0);
                IF @Statement IS NULL
                BEGIN
                    -- a user error: the transaction stays committable, and the failure is this action's
                    SET @Message = CONCAT(N'sp_Act: no statement can be built for ', @ActionType,
                                          N' (not in the action catalog, or PostgreSQL-only)');
                    THROW 51405, @Message, 1;
                END;
                IF @DryRun = 1
                    PRINT CONCAT(N'sp_Act: would run action ', @ActionId, N' (', @ActionType, N', score ', @Score, N'): ', @Statement);
                ELSE
                BEGIN
                    SET @Now = SYSUTCDATETIME();
                    IF @ActionType IN (N'create_index', N'drop_index')
                    BEGIN
                        -- the statements an index was proposed for, or the table's busiest; measured since
                        -- the previous cycle began (the latest cycle is this one, begun a moment ago)
                        SET @QueryIds = CASE WHEN @ActionType = N'create_index' THEN JSON_QUERY(@Parameters, N'$.statements') END;
                        IF @QueryIds = N'[]'
                            SET @QueryIds = NULL;
                        SET @Since = (SELECT MAX(c.StartedAt) FROM dbo.AutonomousCycles AS c
                                      WHERE c.CycleId < (SELECT MAX(l.CycleId) FROM dbo.AutonomousCycles AS l));
                        SELECT @BeforeMs = m.MeanMs, @BeforeCalls = m.Calls, @Measured = m.QueryIds
                        FROM dbo.fn_TableStatementMs(JSON_VALUE(@Parameters, N'$.table'), @QueryIds, @Since, @Now) AS m;
                        IF @BeforeMs IS NULL  -- nothing ran since: the statements' mean since Query Store began
                            SELECT @BeforeMs = m.MeanMs, @BeforeCalls = m.Calls, @Measured = m.QueryIds
                            FROM dbo.fn_TableStatementMs(JSON_VALUE(@Parameters, N'$.table'), @QueryIds, NULL, @Now) AS m;
                        SET @BeforeState = (SELECT JSON_QUERY(@Measured) AS statements, @BeforeMs AS mean_ms, @BeforeCalls AS calls
                                            FOR JSON PATH, WITHOUT_ARRAY_WRAPPER, INCLUDE_NULL_VALUES);
                    END
                    ELSE
                    BEGIN
                        SET @BeforeMs = dbo.fn_AutonomousActionMetric(@ActionType, @TargetSchema, @TargetName);
                        SET @BeforeState = (SELECT @BeforeMs AS metric FOR JSON PATH, WITHOUT_ARRAY_WRAPPER, INCLUDE_NULL_VALUES);
                    END;
                    UPDATE dbo.AutonomousActions SET BeforeState = @BeforeState, MetricBefore = @BeforeMs WHERE ActionId = @ActionId;
                    IF @ActionType IN (N'create_index', N'drop_index', N'reindex_index', N'refit_projections',
                                       N'rebuild_vector_index', N'recluster_concepts', N'archive_billing_usage')
                        -- decided and recorded only: dbo.sp_ExecuteOnlineActions runs it after the phase commits
                        UPDATE dbo.AutonomousActions
                        SET Status = N'Executing', DecidedAt = COALESCE(DecidedAt, @Now), DecidedBy = COALESCE(DecidedBy, N'sp_Act'),
                            StatusReason = COALESCE(StatusReason, N'runs in a transaction of its own, after the phase commits')
                        WHERE ActionId = @ActionId;
                    ELSE
                    BEGIN
                        SET @TargetTenant = TRY_CAST(@TargetName AS INT);
                        EXEC sys.sp_executesql @Statement, N'@TargetName NVARCHAR(128), @TenantId INT, @Parameters NVARCHAR(MAX)',
                            @TargetName = @TargetName, @TenantId = @TargetTenant, @Parameters = @Parameters;
                        SET @Now = SYSUTCDATETIME();
                        UPDATE dbo.AutonomousActions
                        SET Status = N'Applied', AppliedAt = @Now, DecidedAt = COALESCE(DecidedAt, @Now),
                            DecidedBy = COALESCE(DecidedBy, N'sp_Act'), ValidateAfter = @Now
                        WHERE ActionId = @ActionId;
                    END;
                END;
            END TRY
            BEGIN CATCH
                IF XACT_STATE() = 1
                    ROLLBACK TRANSACTION sp_Act_action;
                ELSE
                BEGIN
                    -- a deadlock victim (1205, rolled back whole) is retried, not this action's failure
                    IF ERROR_NUMBER() = 1205
                        THROW;
                    -- doomed: nothing can be recorded here; the outer CATCH records this action after
                    -- the rollback (see the header)
                    SET @DoomedAction = @ActionId;
                    SET @DoomedError = LEFT(ERROR_MESSAGE(), 4000);
                    THROW;
                END;
                SET @Error = LEFT(ERROR_MESSAGE(), 4000);
                IF @DryRun = 1
                    PRINT CONCAT(N'sp_Act: action ', @ActionId, N' (', @ActionType, N') would fail: ', @Error);
                ELSE
                BEGIN
                    SET @Detail = (SELECT @Error AS error, @Statement AS statement FOR JSON PATH, WITHOUT_ARRAY_WRAPPER);
                    UPDATE dbo.AutonomousActions SET Status = N'Failed', ErrorMessage = @Error, JudgedAt = SYSUTCDATETIME()
                    WHERE ActionId = @ActionId;
                    INSERT INTO dbo.AutonomousImprovementHistory (ActionId, CycleId, ActionType, TargetObject, Verdict, Detail)
                    VALUES (@ActionId, @ActionCycle, @ActionType, CONCAT_WS(N'.', @TargetSchema, @TargetName), N'failed', @Detail);
                    UPDATE dbo.AutonomousActionCatalog SET FailedCount = FailedCount + 1 WHERE ActionType = @ActionType;
                END;
            END CATCH;
        END;

        IF @DryRun = 0
            INSERT INTO dbo.OODALoopMetrics (CycleId, Phase, DurationMs, Success, ItemsProcessed)
            VALUES (@CycleId, N'Act', DATEDIFF_BIG(MICROSECOND, @Started, SYSUTCDATETIME()) / 1000.0, 1, @Applied);
        IF @OwnTransaction = 1 AND @DryRun = 1
            ROLLBACK TRANSACTION;
        ELSE IF @OwnTransaction = 1
            COMMIT TRANSACTION;
    END TRY
    BEGIN CATCH
        IF @OwnTransaction = 1 AND XACT_STATE() <> 0
            ROLLBACK TRANSACTION;
        IF @DoomedAction IS NOT NULL AND @DryRun = 0
        BEGIN
            IF @OwnTransaction = 1
            BEGIN
                -- rolled back with the rest: recorded Failed in a transaction of its own
                BEGIN TRY
                    SET @Error = LEFT(CONCAT(N'its error doomed the phase''s transaction: ', @DoomedError), 4000);
                    SET @Detail = (SELECT @Error AS error FOR JSON PATH, WITHOUT_ARRAY_WRAPPER);
                    BEGIN TRANSACTION;
                    UPDATE dbo.AutonomousActions SET Status = N'Failed', ErrorMessage = @Error, JudgedAt = SYSUTCDATETIME()
                    WHERE ActionId = @DoomedAction AND Status IN (N'Approved', N'Proposed');
                    IF @@ROWCOUNT > 0
                    BEGIN
                        INSERT INTO dbo.AutonomousImprovementHistory (ActionId, CycleId, ActionType, TargetObject, Verdict, Detail)
                        SELECT a.ActionId, a.CycleId, a.ActionType, CONCAT_WS(N'.', a.TargetSchema, a.TargetName), N'failed', @Detail
                        FROM dbo.AutonomousActions AS a WHERE a.ActionId = @DoomedAction;
                        UPDATE c SET FailedCount = c.FailedCount + 1
                        FROM dbo.AutonomousActionCatalog AS c
                        INNER JOIN dbo.AutonomousActions AS a ON a.ActionType = c.ActionType
                        WHERE a.ActionId = @DoomedAction;
                    END;
                    COMMIT TRANSACTION;
                END TRY
                BEGIN CATCH
                    IF XACT_STATE() <> 0
                        ROLLBACK TRANSACTION;
                END CATCH;
            END
            ELSE
            BEGIN
                -- the caller's transaction is doomed: the next sp_Act of this session records it first
                SET @Doomed = (SELECT @DoomedAction AS action, LEFT(@DoomedError, 3000) AS error FOR JSON PATH, WITHOUT_ARRAY_WRAPPER);
                EXEC sys.sp_set_session_context @key = N'hartonomous.doomed_action', @value = @Doomed;
            END;
        END;
        THROW;
    END CATCH;

    -- the actions decided Executing run outside any transaction: only when this call began none
    IF @OwnTransaction = 1 AND @DryRun = 0
        EXEC dbo.sp_ExecuteOnlineActions;
END;
