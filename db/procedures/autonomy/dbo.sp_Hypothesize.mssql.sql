-- kind: procedure
-- requires: hartonomous_ext, QueryStore, dbo.fn_AutonomousLoopSettings, dbo.fn_AutonomousActionStatement, dbo.AutonomousObservations, dbo.AutonomousActions, dbo.AutonomousActionCatalog, dbo.OODALoopMetrics, dbo.AtomEmbeddings, dbo.InferenceRequests, dbo.HypothesizeQueue
-- Orient (seed 003's phase 2), as dbo.sp_Hypothesize on PostgreSQL: turn each New observation into
-- a candidate action of the catalog, with an expected gain (0-1) and a score that weighs it by the
-- action's risk and its type's record of kept and reverted actions (hartonomous_ext.autonomy.score).
-- A table whose plans asked for an index (seq_scan_hotspot) gets the index its Query Store plans'
-- missing-index groups name (autonomy.best_index_candidate over showplan_index_candidates): SQL
-- Server has no hypothetical index, so the optimizer's Impact, weighted by each plan's time, is
-- the expected gain, proposed at LOOP_MIN_INDEX_GAIN or more; sp_Learn's measurement decides.
-- Python runs once per call (SQL Server starts one per sp_execute_external_script): the index
-- candidates, the scores and the catalog's areas in one script, JSON in and out. Each hot table,
-- each of its plans and each candidate is read on its own: a plan that cannot be read (gone from
-- Query Store, XML that does not parse) is left out, as PostgreSQL leaves out a statement it cannot
-- plan, and a candidate that cannot be scored is not proposed; the reasons go to the observation's
-- Detail (hypothesize_problems), which is marked Considered like the others. Only the script failing
-- as a whole (Python unavailable, a request it cannot read) fails the phase (51312). A plan sp_Analyze
-- or a test carries in Detail.plans (showplan) is read as it is, before Query Store's.
-- Observations no catalog action answers (latency, failed jobs, backlogs, the loop's failures, and
-- table_bloat: vacuum_table is PostgreSQL's) are marked Considered and stay on record. Not again
-- on a target a person rejected in the last LOOP_REJECTION_COOLDOWN_DAYS, nor one reverted or
-- failed there lately (LOOP_REVERT_COOLDOWN_HOURS, doubled each time); one already open is not
-- proposed twice. With @TargetArea another area's finding waits, New, for a cycle of its area.
-- Called with every parameter at its default while its queue holds messages (Service Broker
-- activation), it reads the queue instead (dbo.sp_ProcessLoopMessages).
CREATE OR ALTER PROCEDURE dbo.sp_Hypothesize
    @TenantId INT = NULL,
    @CycleId BIGINT = NULL OUTPUT,
    @TargetArea NVARCHAR(32) = NULL
WITH EXECUTE AS OWNER
AS
BEGIN
    SET NOCOUNT ON;
    -- the caller's cycle is returned as given (PostgreSQL's INOUT); cycles number from 1, so anything
    -- lower names none and considers nothing, as it does there
    SET @CycleId = CASE WHEN @CycleId < 1 THEN 0 ELSE @CycleId END;
    -- NOLOCK: a SELECT on a queue otherwise waits on messages a reader has received (Microsoft's advice)
    IF @TenantId IS NULL AND @CycleId IS NULL AND @TargetArea IS NULL
       AND (SESSION_CONTEXT(N'hartonomous.loop_dispatch') IS NULL OR @@NESTLEVEL = 1)  -- not run by the dispatcher (it calls phases nested; a key at level 1 is stale)
       AND EXISTS (SELECT 1 FROM dbo.HypothesizeQueue WITH (NOLOCK))
    BEGIN
        EXEC dbo.sp_ProcessLoopMessages @QueueName = N'HypothesizeQueue';
        RETURN;
    END;
    SET LOCK_TIMEOUT 5000;  -- never queue behind a DBA's DDL, nor make it queue
    DECLARE @Started DATETIME2(7) = SYSUTCDATETIME();
    DECLARE @Now DATETIME2(3) = SYSUTCDATETIME();
    DECLARE @Area NVARCHAR(32) = LOWER(NULLIF(@TargetArea, N''));
    DECLARE @Threshold FLOAT, @RequireHuman BIT, @Lock INT, @Proposed INT = 0, @Message NVARCHAR(2048);
    DECLARE @Request NVARCHAR(MAX), @Scored NVARCHAR(MAX), @Problem NVARCHAR(2048);
    DECLARE @OwnTransaction BIT = CASE WHEN @@TRANCOUNT = 0 THEN 1 ELSE 0 END;
    IF @Area IS NOT NULL AND @Area NOT IN (N'performance', N'maintenance', N'all')
    BEGIN
        SET @Message = CONCAT(N'sp_Hypothesize: TargetArea must be performance, maintenance or all, not ', @Area);
        THROW 51310, @Message, 1;
    END;
    SELECT @Threshold = s.AutoApproveThreshold, @RequireHuman = s.RequireHumanApproval
    FROM dbo.fn_AutonomousLoopSettings() AS s;

    CREATE TABLE #observations (ObservationId BIGINT NOT NULL PRIMARY KEY, CycleId BIGINT NOT NULL, Kind NVARCHAR(32) NOT NULL,
                                TargetObject NVARCHAR(512) NULL, Metric FLOAT NULL, Baseline FLOAT NULL, Detail NVARCHAR(MAX) NULL);
    CREATE TABLE #candidates (ObservationId BIGINT NOT NULL PRIMARY KEY, ActionType NVARCHAR(64) NOT NULL,
                              TargetSchema NVARCHAR(128) NULL, TargetName NVARCHAR(128) NULL, TargetColumns NVARCHAR(400) NULL,
                              Parameters NVARCHAR(MAX) NULL, ExpectedGain FLOAT NOT NULL, Score FLOAT NULL, Area NVARCHAR(16) NULL);
    CREATE TABLE #hotspots (ObservationId BIGINT NOT NULL PRIMARY KEY, ObjectId INT NOT NULL, SchemaName SYSNAME NOT NULL,
                            TableName SYSNAME NOT NULL);
    CREATE TABLE #catalog (ActionType NVARCHAR(64) NOT NULL PRIMARY KEY, Area NVARCHAR(16) NOT NULL);

    BEGIN TRY
        IF @OwnTransaction = 1
            BEGIN TRANSACTION;
        -- one phase of the loop at a time, whoever runs it (PostgreSQL: pg_advisory_xact_lock)
        EXEC @Lock = sys.sp_getapplock @Resource = N'hartonomous.autonomous_loop', @LockMode = N'Exclusive',
                                       @LockOwner = N'Transaction', @LockTimeout = 5000;
        IF @Lock < 0
        BEGIN
            SET @Message = CONCAT(N'sp_Hypothesize: another phase of the autonomous loop holds its lock (sp_getapplock returned ',
                                  @Lock, N')');
            THROW 51311, @Message, 1;
        END;

        INSERT INTO #observations (ObservationId, CycleId, Kind, TargetObject, Metric, Baseline, Detail)
        SELECT o.ObservationId, o.CycleId, o.Kind, o.TargetObject, o.Metric, o.Baseline, o.Detail
        FROM dbo.AutonomousObservations AS o WITH (UPDLOCK)
        WHERE o.Status = N'New' AND (@CycleId IS NULL OR o.CycleId <= @CycleId);

        -- every kind but seq_scan_hotspot maps to its action here; the object as the catalog names it
        -- (TargetObject is for people to read)
        INSERT INTO #candidates (ObservationId, ActionType, TargetSchema, TargetName, Parameters, ExpectedGain)
        SELECT o.ObservationId, m.ActionType,
               CASE WHEN o.Kind IN (N'unused_index', N'index_bloat', N'stale_statistics') THEN JSON_VALUE(o.Detail, '$.schema')
                    WHEN o.Kind IN (N'old_inference_requests', N'unarchived_billing', N'old_loop_history') THEN N'dbo' END,
               CASE WHEN o.Kind IN (N'unused_index', N'index_bloat', N'stale_statistics') THEN JSON_VALUE(o.Detail, '$.name')
                    WHEN o.Kind IN (N'unprojected_embeddings', N'vector_index_delta', N'search_recall', N'concept_drift')
                    THEN o.TargetObject
                    WHEN o.Kind = N'old_inference_requests' THEN N'InferenceRequests'
                    WHEN o.Kind = N'unarchived_billing' THEN N'BillingUsageLedger_InMemory'
                    WHEN o.Kind = N'old_loop_history' THEN N'OODALoopMetrics' END,
               CASE WHEN o.Kind = N'unused_index'
                    THEN (SELECT JSON_VALUE(o.Detail, '$.table') AS [table], JSON_QUERY(o.Detail, '$.definition') AS [definition],
                                 o.Baseline AS bytes FOR JSON PATH, WITHOUT_ARRAY_WRAPPER)
                    WHEN o.Kind = N'index_bloat'
                    THEN (SELECT JSON_VALUE(o.Detail, '$.table') AS [table] FOR JSON PATH, WITHOUT_ARRAY_WRAPPER)
                    -- the previous run's parameters, which fn_DiscoverConcepts is called with again
                    WHEN o.Kind = N'concept_drift'
                    THEN (SELECT TRY_CONVERT(INT, JSON_VALUE(o.Detail, '$.tenant')) AS tenant, JSON_VALUE(o.Detail, '$.type') AS [type],
                                 TRY_CONVERT(BIGINT, JSON_VALUE(o.Detail, '$.run')) AS run,
                                 TRY_CONVERT(INT, JSON_VALUE(o.Detail, '$.min_cluster_size')) AS min_cluster_size,
                                 TRY_CONVERT(FLOAT, JSON_VALUE(o.Detail, '$.coherence_threshold')) AS coherence_threshold,
                                 TRY_CONVERT(INT, JSON_VALUE(o.Detail, '$.max_concepts')) AS max_concepts
                          FOR JSON PATH, WITHOUT_ARRAY_WRAPPER) END,
               ROUND(CASE WHEN g.Raw > 1 THEN 1.0 WHEN g.Raw < 0 THEN 0.0 ELSE g.Raw END, 4)
        FROM #observations AS o
        CROSS APPLY (SELECT CASE o.Kind WHEN N'unused_index' THEN N'drop_index'
                                        WHEN N'index_bloat' THEN N'reindex_index'
                                        WHEN N'stale_statistics' THEN N'analyze_table'
                                        WHEN N'unprojected_embeddings' THEN N'refit_projections'
                                        WHEN N'vector_index_delta' THEN N'rebuild_vector_index'
                                        WHEN N'search_recall' THEN N'rebuild_vector_index'
                                        WHEN N'concept_drift' THEN N'recluster_concepts'
                                        WHEN N'old_inference_requests' THEN N'archive_inference_requests'
                                        WHEN N'unarchived_billing' THEN N'archive_billing_usage'
                                        WHEN N'old_loop_history' THEN N'purge_loop_history' END AS ActionType) AS m
        CROSS APPLY (SELECT CASE o.Kind
                                WHEN N'index_bloat' THEN 1.0 - o.Metric / 90.0  -- a fresh B-tree's leaves are 90% full
                                WHEN N'stale_statistics' THEN o.Metric / CASE WHEN o.Baseline > 1000 THEN o.Baseline ELSE 1000 END
                                WHEN N'unprojected_embeddings'
                                THEN o.Metric / (SELECT CASE WHEN COUNT_BIG(*) > 1 THEN COUNT_BIG(*) ELSE 1 END
                                                 FROM dbo.AtomEmbeddings AS e WHERE e.EmbeddingType = o.TargetObject)
                                WHEN N'old_inference_requests'
                                THEN o.Metric / (SELECT CASE WHEN COUNT_BIG(*) > 1 THEN COUNT_BIG(*) ELSE 1 END
                                                 FROM dbo.InferenceRequests AS q)
                                WHEN N'unarchived_billing' THEN 1.0
                                -- a rebuild calibrates the new graph to TARGET_RECALL again: the shortfall in units of the tolerance, at most 1 (PostgreSQL's twin says why)
                                WHEN N'search_recall' THEN (o.Baseline - o.Metric) / {{ policy.LOOP_RECALL_TOLERANCE }}
                                -- the changed share in units of the threshold, at most 1 (PostgreSQL's twin says why)
                                WHEN N'concept_drift' THEN o.Metric / {{ policy.CONCEPT_RECLUSTER_SHARE }}
                                ELSE 0.5 END AS Raw) AS g
        WHERE m.ActionType IS NOT NULL;

        -- the tables the optimizer asked an index for, still there
        INSERT INTO #hotspots (ObservationId, ObjectId, SchemaName, TableName)
        SELECT o.ObservationId, t.object_id, s.name, t.name
        FROM #observations AS o
        INNER JOIN sys.schemas AS s ON s.name = JSON_VALUE(o.Detail, '$.schema')
        INNER JOIN sys.tables AS t ON t.schema_id = s.schema_id AND t.name = JSON_VALUE(o.Detail, '$.name')
        WHERE o.Kind = N'seq_scan_hotspot';

        IF EXISTS (SELECT 1 FROM #candidates) OR EXISTS (SELECT 1 FROM #hotspots)
        BEGIN
            -- what the script reads: the candidates, each hot table's columns and its plans' showplan
            -- XML (Query Store), the catalog's record and the settings the approval reason weighs
            SET @Request = (
                SELECT (SELECT c.ObservationId, c.ActionType, c.ExpectedGain FROM #candidates AS c FOR JSON PATH) AS candidates,
                       (SELECT h.ObservationId, h.SchemaName AS [schema], h.TableName AS [table],
                               (SELECT c.name FROM sys.columns AS c WHERE c.object_id = h.ObjectId
                                ORDER BY c.column_id FOR JSON PATH) AS [columns],
                               -- typed by TRY_CONVERT, not OPENJSON's WITH: one odd value must not fail the
                               -- statement; a plan with no showplan reaches the script, which names it
                               (SELECT TRY_CONVERT(BIGINT, j.plan_id) AS plan_id, TRY_CONVERT(BIGINT, j.query_id) AS query_id,
                                       TRY_CONVERT(FLOAT, j.total_ms) AS total_ms, COALESCE(j.showplan, p.query_plan) AS showplan
                                FROM OPENJSON(JSON_QUERY(o.Detail, '$.plans'))
                                     WITH (plan_id NVARCHAR(40) '$.plan_id', query_id NVARCHAR(40) '$.query_id',
                                           total_ms NVARCHAR(40) '$.total_ms', showplan NVARCHAR(MAX) '$.showplan') AS j
                                LEFT JOIN sys.query_store_plan AS p ON p.plan_id = TRY_CONVERT(BIGINT, j.plan_id)
                                FOR JSON PATH) AS plans
                        FROM #hotspots AS h
                        INNER JOIN #observations AS o ON o.ObservationId = h.ObservationId
                        FOR JSON PATH) AS hotspots,
                       (SELECT k.ActionType, k.KeptCount, k.FailedCount, k.IsAllowlisted
                        FROM dbo.AutonomousActionCatalog AS k FOR JSON PATH) AS record,
                       @Threshold AS threshold, @RequireHuman AS require_human
                FOR JSON PATH, WITHOUT_ARRAY_WRAPPER);
            SELECT @Scored = NULL, @Problem = NULL;
            EXEC sys.sp_execute_external_script
                @language = N'Python',
                @script = N'
import json
from hartonomous_ext import autonomy
# every OUTPUT parameter gets a value: one left unset (or None) stops BxlServer; empty reads back as NULL
scored, problem = "", ""
try:
    request = json.loads(request_json)
    record = {row["ActionType"]: row for row in request.get("record") or []}
    rows = [dict(row) for row in request.get("candidates") or []]
    problems = []  # [{ObservationId, problem}]: what could not be read, observation by observation
    for hot in request.get("hotspots") or []:
        unread = []  # one hot table at a time: its failure is its own
        try:
            columns = [column["name"] for column in hot.get("columns") or []]
            best = autonomy.best_index_candidate(hot["table"], columns, hot.get("plans") or [], hot["schema"],
                                                 problems=unread)
            if best is not None:
                statements = sorted({plan["query_id"] for plan in best["plans"] if plan["query_id"] is not None})
                rows.append({"ObservationId": hot["ObservationId"], "ActionType": "create_index",
                             "ExpectedGain": best["gain"], "TargetSchema": hot["schema"], "TargetName": best["name"],
                             "TargetColumns": json.dumps(best["columns"], separators=(",", ":")),
                             "Parameters": json.dumps({"table": hot["table"], "statements": statements,
                                                       "missing_index": best["plans"]}, separators=(",", ":"))})
        except Exception as exc:
            unread.append({"problem": ("%s: %s" % (type(exc).__name__, exc))[:400]})
        problems.extend(dict(entry, ObservationId=hot.get("ObservationId")) for entry in unread)
    for row in rows:
        held = record.get(row.get("ActionType"), {})
        row.update(KeptCount=held.get("KeptCount", 0), FailedCount=held.get("FailedCount", 0),
                   IsAllowlisted=held.get("IsAllowlisted", True), Threshold=request["threshold"],
                   RequireHumanApproval=request["require_human"])
    areas = {entry[0]: entry[1] for entry in autonomy.catalog()}
    unscored = []  # a candidate that cannot be scored is not proposed; the others are
    candidates = json.loads(autonomy.score_candidates(json.dumps(rows), problems=unscored))
    problems.extend({"ObservationId": entry.get("ObservationId"), "problem": entry["Problem"]} for entry in unscored)
    for row in candidates:
        row["Area"] = areas[row["ActionType"]]
    scored = json.dumps({"catalog": [{"ActionType": name, "Area": area} for name, area in areas.items()],
                         "candidates": candidates, "problems": problems})
except Exception as exc:  # the request as a whole: the phase fails, with a reason to read (not Msg 39004)
    problem = ("%s: %s" % (type(exc).__name__, exc))[:2000]
',
                @params = N'@request_json NVARCHAR(MAX), @scored NVARCHAR(MAX) OUTPUT, @problem NVARCHAR(2048) OUTPUT',
                @request_json = @Request, @scored = @Scored OUTPUT, @problem = @Problem OUTPUT
            WITH RESULT SETS NONE;
            SELECT @Scored = NULLIF(@Scored, N''), @Problem = NULLIF(@Problem, N'');
            IF @Problem IS NOT NULL OR @Scored IS NULL
            BEGIN
                SET @Message = CONCAT(N'sp_Hypothesize: ', COALESCE(@Problem, N'the scoring script returned nothing'));
                THROW 51312, @Message, 1;
            END;

            INSERT INTO #catalog (ActionType, Area)
            SELECT j.ActionType, j.Area
            FROM OPENJSON(@Scored, '$.catalog') WITH (ActionType NVARCHAR(64) '$.ActionType', Area NVARCHAR(16) '$.Area') AS j;
            -- the catalog's types, so actions can name them (a DBA's IsAllowlisted and the record stay)
            INSERT INTO dbo.AutonomousActionCatalog (ActionType)
            SELECT DISTINCT k.ActionType FROM #catalog AS k
            WHERE NOT EXISTS (SELECT 1 FROM dbo.AutonomousActionCatalog AS c WHERE c.ActionType = k.ActionType);

            INSERT INTO #candidates (ObservationId, ActionType, TargetSchema, TargetName, TargetColumns, Parameters, ExpectedGain)
            SELECT j.ObservationId, j.ActionType, j.TargetSchema, j.TargetName, j.TargetColumns, j.Parameters, j.ExpectedGain
            FROM OPENJSON(@Scored, '$.candidates')
                 WITH (ObservationId BIGINT '$.ObservationId', ActionType NVARCHAR(64) '$.ActionType',
                       TargetSchema NVARCHAR(128) '$.TargetSchema', TargetName NVARCHAR(128) '$.TargetName',
                       TargetColumns NVARCHAR(400) '$.TargetColumns', Parameters NVARCHAR(MAX) '$.Parameters',
                       ExpectedGain FLOAT '$.ExpectedGain') AS j
            WHERE j.ActionType = N'create_index';
            UPDATE c
            SET Score = j.Score, Area = j.Area
            FROM #candidates AS c
            INNER JOIN OPENJSON(@Scored, '$.candidates')
                 WITH (ObservationId BIGINT '$.ObservationId', Score FLOAT '$.Score', Area NVARCHAR(16) '$.Area') AS j
                ON j.ObservationId = c.ObservationId;
            -- a candidate the script could not score is not proposed (its reason is among the problems)
            DELETE FROM #candidates WHERE Score IS NULL;
            -- what could not be read, on the observation it concerns (which is marked Considered below,
            -- as PostgreSQL's is when none of its statements could be planned)
            UPDATE o
            SET Detail = JSON_MODIFY(CASE WHEN o.Detail IS NULL THEN N'{}' WHEN LEFT(LTRIM(o.Detail), 1) = N'{' THEN o.Detail
                                          ELSE JSON_MODIFY(N'{}', '$.detail', o.Detail) END,  -- an object, to add to
                                     '$.hypothesize_problems',
                                     JSON_QUERY((SELECT TOP (20) j.problem, j.plan_id, j.query_id
                                                 FROM OPENJSON(@Scored, '$.problems')
                                                      WITH (ObservationId BIGINT '$.ObservationId', problem NVARCHAR(1000) '$.problem',
                                                            plan_id BIGINT '$.plan_id', query_id BIGINT '$.query_id') AS j
                                                 WHERE j.ObservationId = o.ObservationId
                                                 FOR JSON PATH)))
            FROM dbo.AutonomousObservations AS o
            INNER JOIN #observations AS x ON x.ObservationId = o.ObservationId
            WHERE EXISTS (SELECT 1 FROM OPENJSON(@Scored, '$.problems') WITH (ObservationId BIGINT '$.ObservationId') AS j
                          WHERE j.ObservationId = o.ObservationId);

            -- the first observation of a type and target wins (PostgreSQL goes in ObservationId order);
            -- not again soon after a person rejected it (LOOP_REJECTION_COOLDOWN_DAYS), nor soon after it
            -- was reverted or failed there: LOOP_REVERT_COOLDOWN_HOURS, doubled each time, at most the
            -- rejection's cooldown; never a second open action (UX_AutonomousActions_Open)
            INSERT INTO dbo.AutonomousActions (CycleId, ObservationId, ActionType, TargetSchema, TargetName, TargetColumns,
                                               Parameters, Command, RevertCommand, ExpectedGain, Score, Reason)
            SELECT r.CycleId, r.ObservationId, r.ActionType, r.TargetSchema, r.TargetName, r.TargetColumns, r.Parameters,
                   dbo.fn_AutonomousActionStatement(r.ActionType, r.TargetSchema, r.TargetName, r.TargetColumns, r.Parameters, 0),
                   dbo.fn_AutonomousActionStatement(r.ActionType, r.TargetSchema, r.TargetName, r.TargetColumns, r.Parameters, 1),
                   r.ExpectedGain, COALESCE(r.Score, 0),
                   LEFT(CONCAT(r.Kind, N' on ', r.TargetObject, N': ', FORMAT(r.Metric, N'0.####', N'en-US'), N' (baseline ',
                               COALESCE(FORMAT(r.Baseline, N'0.####', N'en-US'), N'-'), N')'), 1000)
            FROM (SELECT c.ObservationId, c.ActionType, c.TargetSchema, c.TargetName, c.TargetColumns, c.Parameters,
                         c.ExpectedGain, c.Score, o.CycleId, o.Kind, o.TargetObject, o.Metric, o.Baseline,
                         ROW_NUMBER() OVER (PARTITION BY c.ActionType, c.TargetSchema, c.TargetName, c.TargetColumns
                                            ORDER BY c.ObservationId) AS Nth
                  FROM #candidates AS c
                  INNER JOIN #observations AS o ON o.ObservationId = c.ObservationId
                  WHERE @Area IS NULL OR @Area = N'all' OR c.Area = @Area) AS r
            WHERE r.Nth = 1
              -- a type this engine cannot run has no statement (vacuum_table is PostgreSQL's): never proposed
              AND dbo.fn_AutonomousActionStatement(r.ActionType, r.TargetSchema, r.TargetName, r.TargetColumns, r.Parameters, 0) IS NOT NULL
              AND NOT EXISTS (SELECT 1 FROM dbo.AutonomousActions AS a
                              WHERE a.ActionType = r.ActionType
                                AND (a.TargetSchema = r.TargetSchema OR (a.TargetSchema IS NULL AND r.TargetSchema IS NULL))
                                AND (a.TargetName = r.TargetName OR (a.TargetName IS NULL AND r.TargetName IS NULL))
                                AND a.Status = N'Rejected'
                                AND a.DecidedAt >= DATEADD(DAY, -{{ policy.LOOP_REJECTION_COOLDOWN_DAYS }}, @Now))
              AND NOT EXISTS (SELECT 1
                              FROM (SELECT MAX(COALESCE(a.JudgedAt, a.DecidedAt, a.ProposedAt)) AS LastAt, COUNT(*) AS Times
                                    FROM dbo.AutonomousActions AS a
                                    WHERE a.ActionType = r.ActionType
                                      AND (a.TargetSchema = r.TargetSchema OR (a.TargetSchema IS NULL AND r.TargetSchema IS NULL))
                                      AND (a.TargetName = r.TargetName OR (a.TargetName IS NULL AND r.TargetName IS NULL))
                                      AND a.Status IN (N'Reverted', N'Failed')) AS f
                              CROSS APPLY (SELECT {{ policy.LOOP_REVERT_COOLDOWN_HOURS }}
                                                  * POWER(2, CASE WHEN f.Times > 10 THEN 10 ELSE f.Times END - 1) AS Hours) AS w
                              WHERE f.Times > 0
                                AND f.LastAt >= DATEADD(HOUR, -(CASE WHEN w.Hours > {{ policy.LOOP_REJECTION_COOLDOWN_DAYS }} * 24
                                                                     THEN {{ policy.LOOP_REJECTION_COOLDOWN_DAYS }} * 24
                                                                     ELSE w.Hours END), @Now))
              AND NOT EXISTS (SELECT 1 FROM dbo.AutonomousActions AS a
                              WHERE a.ActionType = r.ActionType
                                AND (a.TargetSchema = r.TargetSchema OR (a.TargetSchema IS NULL AND r.TargetSchema IS NULL))
                                AND (a.TargetName = r.TargetName OR (a.TargetName IS NULL AND r.TargetName IS NULL))
                                AND (a.TargetColumns = r.TargetColumns OR (a.TargetColumns IS NULL AND r.TargetColumns IS NULL))
                                AND a.Status IN (N'Proposed', N'AwaitingApproval', N'Approved', N'Executing', N'Applied', N'Reverting'));
            SET @Proposed = @@ROWCOUNT;
        END;

        -- considered, whether or not an action came of it; another area's finding stays New
        UPDATE o
        SET Status = N'Considered'
        FROM dbo.AutonomousObservations AS o
        INNER JOIN #observations AS x ON x.ObservationId = o.ObservationId
        WHERE NOT EXISTS (SELECT 1 FROM #candidates AS c
                          WHERE c.ObservationId = x.ObservationId AND @Area IS NOT NULL AND @Area <> N'all'
                            AND c.Area <> @Area);

        INSERT INTO dbo.OODALoopMetrics (CycleId, Phase, DurationMs, Success, ItemsProcessed)
        VALUES (@CycleId, N'Hypothesize', DATEDIFF_BIG(MICROSECOND, @Started, SYSUTCDATETIME()) / 1000.0, 1, @Proposed);
        IF @OwnTransaction = 1
            COMMIT TRANSACTION;
    END TRY
    BEGIN CATCH
        -- in a caller's transaction (activation), the caller rolls back to its savepoint and records the failure
        IF @OwnTransaction = 1 AND XACT_STATE() <> 0
            ROLLBACK TRANSACTION;
        THROW;
    END CATCH;
END;
