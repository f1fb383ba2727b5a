-- kind: procedure
-- requires: QueryStore, dbo.fn_AutonomousLoopSettings, dbo.AutonomousCycles, dbo.AutonomousSnapshots, dbo.AutonomousObservations, dbo.OODALoopMetrics, dbo.AutonomousActions, dbo.AutonomousLoopDeadLetters, dbo.InferenceRequests, dbo.IngestionJobs, dbo.Atoms, dbo.AtomEmbeddings, dbo.VectorIndexSegments, dbo.VectorIndexChunks, provenance.Concepts, dbo.fn_ConceptDrift, hartonomous_ext, dbo.BillingUsagePeriods, dbo.BillingUsageLedger, dbo.AnalyzeQueue, dbo.HypothesizeQueue, dbo.ActQueue, dbo.LearnQueue
-- Observe (seed 003's phase 1), as dbo.sp_Analyze on PostgreSQL: start a cycle, snapshot the
-- statements' (Query Store), tables' and indexes' counters, and record what needs attention as rows
-- of dbo.AutonomousObservations, comparing with the previous cycle and each request type's history.
-- Everything it reads is database-scoped (VIEW DATABASE STATE, which its owner has), so it runs
-- inside Service Broker activation, EXECUTE AS OWNER, without VIEW SERVER STATE:
--   seq_scan_hotspot  a table of LOOP_MIN_TABLE_ROWS rows or more whose Query Store plans carry a
--                     missing-index group for it, executed LOOP_MIN_SEQ_SCANS times or more since the
--                     previous cycle (Detail.plans: what sp_Hypothesize reads the suggestions from)
--   unused_index      no seek, scan or lookup (dm_db_index_operational_stats) in any snapshot over
--                     the lookback; not unique, not clustered, not supporting a foreign key
--   index_bloat       leaf pages (dm_db_index_physical_stats, SAMPLED, once a day) emptier than LOOP_LEAF_DENSITY
--   stale_statistics  dm_db_stats_properties' modification counter against the table's rows
--   search_recall     a vector index graph's recall@10 against exact, measured once a day per graph
--                     (hartonomous_ext.vector_index.measure_recall, in one sp_execute_external_script:
--                     the measured types' segments cross into Python, as in sp_SemanticSearch)
--   concept_drift     a tenant's embedding type with live concepts whose atoms changed since its last
--                     discovery run by CONCEPT_RECLUSTER_SHARE of the run's atoms (dbo.fn_ConceptDrift)
-- table_bloat is PostgreSQL's (SQL Server's ghost cleanup removes deleted rows). Unarchived billing
-- is counted from dbo.BillingUsagePeriods and the archive, not from the memory-optimized ledger: a
-- transaction that touched a memory-optimized table cannot roll back to the activation's savepoint.
-- Called with every parameter at its default while its queue holds messages (Service Broker
-- activation), it reads the queue instead (dbo.sp_ProcessLoopMessages), which calls it back with
-- @TriggeredBy set. One phase of the loop at a time (sp_getapplock, in the caller's transaction
-- when there is one, else in its own).
CREATE OR ALTER PROCEDURE dbo.sp_Analyze
    @TenantId INT = NULL,
    @AnalysisScope NVARCHAR(32) = N'full',
    @LookbackHours INT = NULL,
    @CycleId BIGINT = NULL OUTPUT,
    @TriggeredBy NVARCHAR(32) = N'manual'
WITH EXECUTE AS OWNER
AS
BEGIN
    SET NOCOUNT ON;
    -- every run starts a new cycle (PostgreSQL's INOUT CycleId too): a value passed in is never read
    SET @CycleId = NULL;
    -- NOLOCK: a SELECT on a queue otherwise waits on messages a reader has received (Microsoft's advice)
    IF @TenantId IS NULL AND @AnalysisScope = N'full' AND @LookbackHours IS NULL AND @TriggeredBy = N'manual'
       AND (SESSION_CONTEXT(N'hartonomous.loop_dispatch') IS NULL OR @@NESTLEVEL = 1)  -- not run by the dispatcher (it calls phases nested; a key at level 1 is stale)
       AND EXISTS (SELECT 1 FROM dbo.AnalyzeQueue WITH (NOLOCK))
    BEGIN
        EXEC dbo.sp_ProcessLoopMessages @QueueName = N'AnalyzeQueue';
        RETURN;
    END;
    SET LOCK_TIMEOUT 5000;  -- never queue behind a DBA's DDL, nor make it queue
    SET XACT_ABORT OFF;  -- a failed recall measure is recorded and the phase goes on, whatever the caller's session says
    DECLARE @Started DATETIME2(7) = SYSUTCDATETIME();
    DECLARE @Now DATETIME2(3) = SYSUTCDATETIME();
    DECLARE @Scope NVARCHAR(32) = LOWER(COALESCE(@AnalysisScope, N'full'));
    DECLARE @Lookback INT, @Previous BIGINT, @PreviousAt DATETIME2(3), @Found INT = 0, @Lock INT;
    DECLARE @Perf BIT, @Maint BIT, @MeasureDensity BIT = 0, @Message NVARCHAR(2048);
    DECLARE @OwnTransaction BIT = CASE WHEN @@TRANCOUNT = 0 THEN 1 ELSE 0 END;
    DECLARE @MonthStart DATE = DATEFROMPARTS(YEAR(@Now), MONTH(@Now), 1);
    DECLARE @ArchivedThrough DATETIME2(3);
    DECLARE @RecallState NVARCHAR(MAX), @Recalls NVARCHAR(MAX), @RecallProblem NVARCHAR(2048), @RecallSeed INT;
    IF @Scope NOT IN (N'full', N'performance', N'maintenance')
    BEGIN
        SET @Message = CONCAT(N'sp_Analyze: AnalysisScope must be full, performance or maintenance, not ', @Scope);
        THROW 51300, @Message, 1;
    END;
    SELECT @Lookback = COALESCE(@LookbackHours, s.LookbackHours) FROM dbo.fn_AutonomousLoopSettings() AS s;
    IF @Lookback < 0 OR @Lookback > 8760
    BEGIN
        SET @Message = CONCAT(N'sp_Analyze: LookbackHours must be between 0 and 8760, not ', @Lookback);
        THROW 51301, @Message, 1;
    END;
    SET @Perf = CASE WHEN @Scope IN (N'full', N'performance') THEN 1 ELSE 0 END;
    SET @Maint = CASE WHEN @Scope IN (N'full', N'maintenance') THEN 1 ELSE 0 END;

    CREATE TABLE #operations (ObjectId INT NOT NULL, IndexId INT NOT NULL, RangeScans BIGINT NOT NULL,
                              SingletonLookups BIGINT NOT NULL, Modifications BIGINT NOT NULL,
                              PRIMARY KEY (ObjectId, IndexId));
    CREATE TABLE #indexes (ObjectId INT NOT NULL, IndexId INT NOT NULL, SchemaName SYSNAME NOT NULL,
                           TableName SYSNAME NOT NULL, IndexName SYSNAME NOT NULL, ObjectName NVARCHAR(256) NOT NULL,
                           IndexType TINYINT NOT NULL, IsUnique BIT NOT NULL, IsPrimaryKey BIT NOT NULL,
                           IsUniqueConstraint BIT NOT NULL, Bytes BIGINT NOT NULL, PRIMARY KEY (ObjectId, IndexId));
    CREATE TABLE #density (ObjectId INT NOT NULL, IndexId INT NOT NULL, PageDensity FLOAT NOT NULL,
                           PRIMARY KEY (ObjectId, IndexId));
    CREATE TABLE #suggestions (PlanId BIGINT NOT NULL PRIMARY KEY, QueryId BIGINT NOT NULL, Executions BIGINT NOT NULL,
                               TotalMs FLOAT NOT NULL, Suggestion NVARCHAR(MAX) NOT NULL);
    CREATE TABLE #hotspots (SchemaName SYSNAME NOT NULL, TableName SYSNAME NOT NULL, Pattern NVARCHAR(600) NOT NULL,
                            LiveRows BIGINT NOT NULL, Executions BIGINT NOT NULL, TotalMs FLOAT NOT NULL);
    CREATE TABLE #recall_graphs (SegmentId BIGINT NOT NULL PRIMARY KEY, TenantId INT NOT NULL, EmbeddingType NVARCHAR(64) NOT NULL,
                                 Dimension INT NOT NULL, ObjectName NVARCHAR(256) NOT NULL, Embeddings BIGINT NOT NULL,
                                 Measure BIT NOT NULL);
    CREATE TABLE #recall_chunks (Id VARCHAR(20) NOT NULL, Ordinal INT NOT NULL, Data VARBINARY(MAX) NOT NULL);
    CREATE TABLE #recalls (SegmentId BIGINT NOT NULL PRIMARY KEY, Recall FLOAT NULL, Queries INT NULL, Embeddings BIGINT NULL,
                           Seconds FLOAT NULL, Problem NVARCHAR(2000) NULL);

    BEGIN TRY
        IF @OwnTransaction = 1
            BEGIN TRANSACTION;
        -- one phase of the loop at a time, whoever runs it (PostgreSQL: pg_advisory_xact_lock)
        EXEC @Lock = sys.sp_getapplock @Resource = N'hartonomous.autonomous_loop', @LockMode = N'Exclusive',
                                       @LockOwner = N'Transaction', @LockTimeout = 5000;
        IF @Lock < 0
        BEGIN
            SET @Message = CONCAT(N'sp_Analyze: another phase of the autonomous loop holds its lock (sp_getapplock returned ',
                                  @Lock, N')');
            THROW 51302, @Message, 1;
        END;

        INSERT INTO dbo.AutonomousCycles (TenantId, AnalysisScope, LookbackHours, TriggeredBy)
        VALUES (@TenantId, @Scope, @Lookback, COALESCE(@TriggeredBy, N'manual'));
        SET @CycleId = CONVERT(BIGINT, SCOPE_IDENTITY());
        SELECT @Previous = MAX(s.CycleId) FROM dbo.AutonomousSnapshots AS s WHERE s.CycleId < @CycleId;
        SELECT @PreviousAt = c.StartedAt FROM dbo.AutonomousCycles AS c WHERE c.CycleId = @Previous;

        -- statements: Query Store's runtime statistics per query (avg_duration is in microseconds)
        INSERT INTO dbo.AutonomousSnapshots (CycleId, Kind, ObjectName, Counters)
        SELECT TOP (500) @CycleId, N'statement', CONVERT(NVARCHAR(20), q.QueryId),
               (SELECT q.Calls AS calls, q.TotalMs AS total_ms FOR JSON PATH, WITHOUT_ARRAY_WRAPPER)
        FROM (SELECT p.query_id AS QueryId, SUM(rs.count_executions) AS Calls,
                     SUM(rs.avg_duration * rs.count_executions) / 1000.0 AS TotalMs
              FROM sys.query_store_runtime_stats AS rs
              INNER JOIN sys.query_store_plan AS p ON p.plan_id = rs.plan_id
              GROUP BY p.query_id) AS q
        ORDER BY q.TotalMs DESC;

        INSERT INTO #operations (ObjectId, IndexId, RangeScans, SingletonLookups, Modifications)
        SELECT o.object_id, o.index_id, SUM(o.range_scan_count), SUM(o.singleton_lookup_count),
               SUM(o.leaf_insert_count + o.leaf_update_count + o.leaf_delete_count)
        FROM sys.dm_db_index_operational_stats(DB_ID(), NULL, NULL, NULL) AS o
        GROUP BY o.object_id, o.index_id;

        INSERT INTO dbo.AutonomousSnapshots (CycleId, Kind, ObjectName, Counters)
        SELECT @CycleId, N'table', CONCAT(s.name, N'.', t.name),
               (SELECT s.name AS [schema], t.name AS [name], r.LiveRows AS live_rows,
                       COALESCE(o.RangeScans, 0) AS range_scans, COALESCE(o.SingletonLookups, 0) AS singleton_lookups,
                       COALESCE(o.Modifications, 0) AS modifications
                FOR JSON PATH, WITHOUT_ARRAY_WRAPPER)
        FROM sys.tables AS t
        INNER JOIN sys.schemas AS s ON s.schema_id = t.schema_id
        CROSS APPLY (SELECT COALESCE(SUM(p.rows), 0) AS LiveRows FROM sys.partitions AS p
                     WHERE p.object_id = t.object_id AND p.index_id IN (0, 1)) AS r
        LEFT JOIN (SELECT x.ObjectId, SUM(x.RangeScans) AS RangeScans, SUM(x.SingletonLookups) AS SingletonLookups,
                          SUM(CASE WHEN x.IndexId IN (0, 1) THEN x.Modifications ELSE 0 END) AS Modifications
                   FROM #operations AS x GROUP BY x.ObjectId) AS o ON o.ObjectId = t.object_id
        WHERE s.name IN (N'dbo', N'graph', N'provenance') AND t.is_ms_shipped = 0;

        -- B-tree indexes (clustered and not), their size from their allocation units
        INSERT INTO #indexes (ObjectId, IndexId, SchemaName, TableName, IndexName, ObjectName, IndexType, IsUnique,
                              IsPrimaryKey, IsUniqueConstraint, Bytes)
        SELECT i.object_id, i.index_id, s.name, t.name, i.name, CONCAT(s.name, N'.', t.name, N'.', i.name), i.type,
               i.is_unique, i.is_primary_key, i.is_unique_constraint, z.Bytes
        FROM sys.indexes AS i
        INNER JOIN sys.tables AS t ON t.object_id = i.object_id
        INNER JOIN sys.schemas AS s ON s.schema_id = t.schema_id
        CROSS APPLY (SELECT CONVERT(BIGINT, COALESCE(SUM(a.total_pages), 0)) * 8192 AS Bytes
                     FROM sys.partitions AS p
                     INNER JOIN sys.allocation_units AS a
                         ON a.container_id = CASE WHEN a.type = 2 THEN p.partition_id ELSE p.hobt_id END
                     WHERE p.object_id = i.object_id AND p.index_id = i.index_id) AS z
        WHERE s.name IN (N'dbo', N'graph', N'provenance') AND t.is_ms_shipped = 0 AND t.is_memory_optimized = 0
          AND i.type IN (1, 2) AND i.is_hypothetical = 0 AND i.is_disabled = 0;
        -- leaf density once a day, like pgstatindex on PostgreSQL: SAMPLED still reads 1% of the pages
        -- of every index it is given, so only those big enough to rebuild
        IF @Perf = 1 AND NOT EXISTS (SELECT 1 FROM dbo.AutonomousSnapshots AS s
                                     WHERE s.Kind = N'index' AND JSON_VALUE(s.Counters, '$.page_density') IS NOT NULL
                                       AND s.CapturedAt > DATEADD(HOUR, -24, @Now))
            SET @MeasureDensity = 1;
        IF @MeasureDensity = 1
            INSERT INTO #density (ObjectId, IndexId, PageDensity)
            SELECT i.ObjectId, i.IndexId, d.PageDensity
            FROM #indexes AS i
            CROSS APPLY (SELECT SUM(ps.avg_page_space_used_in_percent * ps.page_count) / NULLIF(SUM(ps.page_count), 0) AS PageDensity
                         FROM sys.dm_db_index_physical_stats(DB_ID(), i.ObjectId, i.IndexId, NULL, 'SAMPLED') AS ps
                         WHERE ps.index_level = 0 AND ps.alloc_unit_type_desc = N'IN_ROW_DATA') AS d
            WHERE i.Bytes >= {{ policy.LOOP_MIN_INDEX_BYTES }} AND d.PageDensity IS NOT NULL;
        INSERT INTO dbo.AutonomousSnapshots (CycleId, Kind, ObjectName, Counters)
        SELECT @CycleId, N'index', i.ObjectName,
               (SELECT i.SchemaName AS [schema], i.TableName AS [table], i.IndexName AS [name],
                       COALESCE(o.RangeScans, 0) + COALESCE(o.SingletonLookups, 0) AS idx_scan,
                       COALESCE(o.RangeScans, 0) AS range_scans, COALESCE(o.SingletonLookups, 0) AS singleton_lookups,
                       i.Bytes AS bytes, d.PageDensity AS page_density
                FOR JSON PATH, WITHOUT_ARRAY_WRAPPER)
        FROM #indexes AS i
        LEFT JOIN #operations AS o ON o.ObjectId = i.ObjectId AND o.IndexId = i.IndexId
        LEFT JOIN #density AS d ON d.ObjectId = i.ObjectId AND d.IndexId = i.IndexId;
        -- what later cycles compare with: the previous cycle's counters, and index use over the lookback
        DELETE FROM dbo.AutonomousSnapshots
        WHERE (Kind IN (N'statement', N'table') AND CycleId < @Previous)
           OR (Kind IN (N'index', N'vector_index') AND CapturedAt < DATEADD(HOUR, -24, DATEADD(HOUR, -@Lookback, @Now)));

        IF @Perf = 1
        BEGIN
            -- tables the optimizer asked an index for, in plans run again and again since the previous
            -- cycle (to Query Store's five-minute interval); the missing-index part of each plan only
            IF @PreviousAt IS NOT NULL
            BEGIN
                INSERT INTO #suggestions (PlanId, QueryId, Executions, TotalMs, Suggestion)
                SELECT p.plan_id, p.query_id, r.Executions, r.TotalMs,
                       SUBSTRING(p.query_plan, m.FirstAt, m.LastAt - m.FirstAt)
                FROM (SELECT rs.plan_id AS PlanId, SUM(rs.count_executions) AS Executions,
                             SUM(rs.avg_duration * rs.count_executions) / 1000.0 AS TotalMs
                      FROM sys.query_store_runtime_stats AS rs
                      INNER JOIN sys.query_store_runtime_stats_interval AS v
                          ON v.runtime_stats_interval_id = rs.runtime_stats_interval_id
                      WHERE v.end_time > TODATETIMEOFFSET(@PreviousAt, 0)
                      GROUP BY rs.plan_id) AS r
                INNER JOIN sys.query_store_plan AS p ON p.plan_id = r.PlanId
                CROSS APPLY (SELECT CHARINDEX(N'<MissingIndexes>', p.query_plan) AS FirstAt,
                                    CHARINDEX(N'</MissingIndexes>', p.query_plan) AS LastAt) AS m
                WHERE m.FirstAt > 0 AND m.LastAt > m.FirstAt;
                -- a MissingIndex element names its table as Schema="[dbo]" Table="[Name]" (QUOTENAME's form)
                INSERT INTO #hotspots (SchemaName, TableName, Pattern, LiveRows, Executions, TotalMs)
                SELECT s.name, t.name, k.Pattern, r.LiveRows, SUM(g.Executions), SUM(g.TotalMs)
                FROM sys.tables AS t
                INNER JOIN sys.schemas AS s ON s.schema_id = t.schema_id
                CROSS APPLY (SELECT CONCAT(N'Schema="', QUOTENAME(s.name), N'" Table="', QUOTENAME(t.name), N'"') AS Pattern) AS k
                CROSS APPLY (SELECT COALESCE(SUM(p.rows), 0) AS LiveRows FROM sys.partitions AS p
                             WHERE p.object_id = t.object_id AND p.index_id IN (0, 1)) AS r
                INNER JOIN #suggestions AS g ON CHARINDEX(k.Pattern, g.Suggestion) > 0
                WHERE s.name IN (N'dbo', N'graph', N'provenance') AND t.is_ms_shipped = 0
                  AND r.LiveRows >= {{ policy.LOOP_MIN_TABLE_ROWS }}
                GROUP BY s.name, t.name, k.Pattern, r.LiveRows
                HAVING SUM(g.Executions) >= {{ policy.LOOP_MIN_SEQ_SCANS }};
                INSERT INTO dbo.AutonomousObservations (CycleId, Kind, TargetObject, Metric, Baseline, Detail)
                SELECT @CycleId, N'seq_scan_hotspot', CONCAT(h.SchemaName, N'.', h.TableName), h.Executions, h.LiveRows,
                       (SELECT h.SchemaName AS [schema], h.TableName AS [name], h.LiveRows AS live_rows,
                               h.Executions AS executions, h.TotalMs AS total_ms, @PreviousAt AS since,
                               (SELECT TOP (20) g.PlanId AS plan_id, g.QueryId AS query_id, g.Executions AS executions,
                                       g.TotalMs AS total_ms
                                FROM #suggestions AS g WHERE CHARINDEX(h.Pattern, g.Suggestion) > 0
                                ORDER BY g.TotalMs DESC FOR JSON PATH) AS plans
                        FOR JSON PATH, WITHOUT_ARRAY_WRAPPER)
                FROM #hotspots AS h;
                SET @Found += @@ROWCOUNT;
            END;

            -- nonclustered indexes no statement used over the lookback: their use the same in every
            -- snapshot since one at least the lookback old (a count that went down is a reset of the
            -- counters, not evidence); not unique, not a key, not supporting a foreign key (its
            -- checks use it), not one the loop built lately
            INSERT INTO dbo.AutonomousObservations (CycleId, Kind, TargetObject, Metric, Baseline, Detail)
            SELECT @CycleId, N'unused_index', i.ObjectName, CONVERT(FLOAT, JSON_VALUE(cur.Counters, '$.idx_scan')), i.Bytes,
                   -- how to build it again (sp_Learn's revert, dbo.fn_AutonomousActionStatement): SQL Server
                   -- has no pg_get_indexdef, so its parts
                   (SELECT i.SchemaName AS [schema], i.IndexName AS [name], i.TableName AS [table], h.Oldest AS since,
                           CAST(0 AS BIT) AS [definition.unique], CAST(0 AS BIT) AS [definition.clustered],
                           (SELECT c.name AS [column], ic.is_descending_key AS descending
                            FROM sys.index_columns AS ic
                            INNER JOIN sys.columns AS c ON c.object_id = ic.object_id AND c.column_id = ic.column_id
                            WHERE ic.object_id = i.ObjectId AND ic.index_id = i.IndexId AND ic.key_ordinal > 0
                            ORDER BY ic.key_ordinal FOR JSON PATH) AS [definition.keys],
                           (SELECT c.name AS [column]
                            FROM sys.index_columns AS ic
                            INNER JOIN sys.columns AS c ON c.object_id = ic.object_id AND c.column_id = ic.column_id
                            WHERE ic.object_id = i.ObjectId AND ic.index_id = i.IndexId AND ic.is_included_column = 1
                            ORDER BY ic.index_column_id FOR JSON PATH) AS [definition.include],
                           x.filter_definition AS [definition.filter]
                    FOR JSON PATH, WITHOUT_ARRAY_WRAPPER)
            FROM dbo.AutonomousSnapshots AS cur
            INNER JOIN #indexes AS i ON i.ObjectName = cur.ObjectName
            INNER JOIN sys.indexes AS x ON x.object_id = i.ObjectId AND x.index_id = i.IndexId
            CROSS APPLY (SELECT MIN(s.CapturedAt) AS Oldest, MIN(CONVERT(BIGINT, JSON_VALUE(s.Counters, '$.idx_scan'))) AS Low,
                                MAX(CONVERT(BIGINT, JSON_VALUE(s.Counters, '$.idx_scan'))) AS High
                         FROM dbo.AutonomousSnapshots AS s WHERE s.Kind = N'index' AND s.ObjectName = cur.ObjectName) AS h
            WHERE cur.CycleId = @CycleId AND cur.Kind = N'index'
              AND h.Oldest <= DATEADD(HOUR, -@Lookback, @Now) AND h.Low = h.High
              AND i.IndexType = 2 AND i.IsUnique = 0 AND i.IsPrimaryKey = 0 AND i.IsUniqueConstraint = 0
              AND i.Bytes >= {{ policy.LOOP_MIN_INDEX_BYTES }}
              -- a foreign key whose columns are the index's leading key columns, in order
              AND NOT EXISTS (SELECT 1 FROM sys.foreign_keys AS f
                              WHERE f.parent_object_id = i.ObjectId
                                AND NOT EXISTS (SELECT 1 FROM sys.foreign_key_columns AS fc
                                                WHERE fc.constraint_object_id = f.object_id
                                                  AND NOT EXISTS (SELECT 1 FROM sys.index_columns AS ic
                                                                  WHERE ic.object_id = i.ObjectId AND ic.index_id = i.IndexId
                                                                    AND ic.key_ordinal = fc.constraint_column_id
                                                                    AND ic.column_id = fc.parent_column_id)))
              -- the counters do not say when an index was made: one the loop built lately is too young to judge
              AND NOT EXISTS (SELECT 1 FROM dbo.AutonomousActions AS a
                              WHERE a.TargetSchema = i.SchemaName AND a.TargetName = i.IndexName
                                AND a.AppliedAt >= DATEADD(HOUR, -(CASE WHEN @Lookback > 24 THEN @Lookback ELSE 24 END), @Now));
            SET @Found += @@ROWCOUNT;

            -- B-tree indexes whose leaf pages are mostly empty (measured once a day, above)
            INSERT INTO dbo.AutonomousObservations (CycleId, Kind, TargetObject, Metric, Baseline, Detail)
            SELECT @CycleId, N'index_bloat', i.ObjectName, d.PageDensity, {{ policy.LOOP_LEAF_DENSITY }},
                   (SELECT i.SchemaName AS [schema], i.IndexName AS [name], i.TableName AS [table], i.Bytes AS bytes
                    FOR JSON PATH, WITHOUT_ARRAY_WRAPPER)
            FROM #density AS d
            INNER JOIN #indexes AS i ON i.ObjectId = d.ObjectId AND i.IndexId = d.IndexId
            WHERE d.PageDensity < {{ policy.LOOP_LEAF_DENSITY }};
            SET @Found += @@ROWCOUNT;

            -- statistics that many changed rows have outdated and nothing refreshed for an hour (the
            -- loop's own logs are auto-update's alone); last_updated is the server's local time
            INSERT INTO dbo.AutonomousObservations (CycleId, Kind, TargetObject, Metric, Baseline, Detail)
            SELECT @CycleId, N'stale_statistics', CONCAT(x.SchemaName, N'.', x.TableName), x.Modified, x.LiveRows,
                   (SELECT x.SchemaName AS [schema], x.TableName AS [name], x.StaleStatistics AS [statistics]
                    FOR JSON PATH, WITHOUT_ARRAY_WRAPPER)
            FROM (SELECT s.name AS SchemaName, t.name AS TableName, MAX(sp.modification_counter) AS Modified,
                         MAX(r.LiveRows) AS LiveRows, COUNT(*) AS StaleStatistics
                  FROM sys.stats AS st
                  INNER JOIN sys.tables AS t ON t.object_id = st.object_id
                  INNER JOIN sys.schemas AS s ON s.schema_id = t.schema_id
                  CROSS APPLY sys.dm_db_stats_properties(st.object_id, st.stats_id) AS sp
                  CROSS APPLY (SELECT COALESCE(SUM(p.rows), 0) AS LiveRows FROM sys.partitions AS p
                               WHERE p.object_id = t.object_id AND p.index_id IN (0, 1)) AS r
                  WHERE s.name IN (N'dbo', N'graph', N'provenance') AND t.is_ms_shipped = 0 AND t.is_memory_optimized = 0
                    AND t.name NOT IN (N'AutonomousSnapshots', N'AutonomousObservations', N'OODALoopMetrics',
                                       N'AutonomousCycles', N'AutonomousActions', N'AutonomousImprovementHistory',
                                       N'AutonomousLoopAttempts', N'AutonomousLoopDeadLetters')
                    AND COALESCE(sp.last_updated, '19000101') < DATEADD(HOUR, -1, SYSDATETIME())
                    AND sp.modification_counter >= 1000
                    AND sp.modification_counter >= {{ policy.LOOP_STALE_STATISTICS_RATIO }}
                                                   * CASE WHEN r.LiveRows > 1000 THEN r.LiveRows ELSE 1000 END
                  GROUP BY s.name, t.name) AS x;
            SET @Found += @@ROWCOUNT;

            -- request types slower in the last hour than their own p95 over the lookback before it
            -- (PERCENTILE_CONT is a window function here: one value per partition, taken once)
            WITH requests AS (
                SELECT q.TaskType, q.DurationMs, CASE WHEN q.StartTime >= DATEADD(HOUR, -1, @Now) THEN 1 ELSE 0 END AS Recent
                FROM dbo.InferenceRequests AS q
                WHERE q.StartTime >= DATEADD(HOUR, -@Lookback, DATEADD(HOUR, -1, @Now))
                  AND q.Status = N'Completed' AND q.DurationMs IS NOT NULL
                  AND (@TenantId IS NULL OR q.TenantId = @TenantId)
            ), sides AS (
                SELECT DISTINCT r.TaskType, r.Recent,
                       PERCENTILE_CONT(0.95) WITHIN GROUP (ORDER BY r.DurationMs) OVER (PARTITION BY r.TaskType, r.Recent) AS P95,
                       PERCENTILE_CONT(0.50) WITHIN GROUP (ORDER BY r.DurationMs) OVER (PARTITION BY r.TaskType, r.Recent) AS P50,
                       COUNT(*) OVER (PARTITION BY r.TaskType, r.Recent) AS Requests
                FROM requests AS r
            )
            INSERT INTO dbo.AutonomousObservations (CycleId, Kind, TargetObject, Metric, Baseline, Detail)
            SELECT @CycleId, N'latency_regression', cur.TaskType, cur.P95, base.P95,
                   (SELECT cur.Requests AS recent_requests, base.Requests AS baseline_requests, cur.P50 AS recent_p50,
                           @TenantId AS tenant
                    FOR JSON PATH, WITHOUT_ARRAY_WRAPPER)
            FROM sides AS cur
            INNER JOIN sides AS base ON base.TaskType = cur.TaskType AND base.Recent = 0
            WHERE cur.Recent = 1
              AND cur.Requests >= {{ policy.LOOP_MIN_REQUESTS }} AND base.Requests >= {{ policy.LOOP_MIN_REQUESTS }}
              AND cur.P95 > {{ policy.LOOP_LATENCY_REGRESSION }} * base.P95;
            SET @Found += @@ROWCOUNT;

            -- embeddings not yet in a tenant's vector index, past the size sp_IngestAtom merges at
            INSERT INTO dbo.AutonomousObservations (CycleId, Kind, TargetObject, Metric, Detail)
            SELECT @CycleId, N'vector_index_delta', CONVERT(NVARCHAR(20), d.TenantId), d.Pending,
                   (SELECT d.TenantId AS tenant FOR JSON PATH, WITHOUT_ARRAY_WRAPPER)
            FROM (SELECT a.TenantId, COUNT_BIG(*) AS Pending
                  FROM dbo.AtomEmbeddings AS e INNER JOIN dbo.Atoms AS a ON a.AtomId = e.AtomId
                  WHERE e.Indexed = 0
                  GROUP BY a.TenantId
                  HAVING COUNT_BIG(*) >= {{ policy.DELTA_MERGE_ROWS }}) AS d;
            SET @Found += @@ROWCOUNT;

            -- the search recall of each active vector index graph, once a day per graph (a rebuilt graph
            -- is a new segment: measured at the next cycle), as on PostgreSQL: LOOP_RECALL_SAMPLE of the
            -- type's own embeddings asked of the index path and of an exact scan of the same segments
            -- (hartonomous_ext.vector_index.measure_recall); recorded as search_recall below the recall the
            -- graphs are calibrated to (TARGET_RECALL) minus LOOP_RECALL_TOLERANCE. Its cost: the measured
            -- types' segments cross into one Python (dbo.VectorIndexSegments.ByteSize, as a search's do)
            -- and one exact scan of them, about 0.1 s per 100,000 384-d vectors. At most
            -- LOOP_RECALL_MAX_EMBEDDINGS vectors per cycle, in order of tenant and type (a running total):
            -- the graphs past it wait for the next cycle, and a type larger on its own is not measured (its
            -- snapshot says so). Every measure is a snapshot (Kind 'vector_index', one per graph segment),
            -- the day's gate; a measure that fails is recorded there with its error, and the phase goes on.
            INSERT INTO #recall_graphs (SegmentId, TenantId, EmbeddingType, Dimension, ObjectName, Embeddings, Measure)
            SELECT x.SegmentId, x.TenantId, x.EmbeddingType, x.Dimension, x.ObjectName, x.Embeddings,
                   CASE WHEN x.Embeddings <= {{ policy.LOOP_RECALL_MAX_EMBEDDINGS }}
                             AND SUM(CASE WHEN x.Embeddings <= {{ policy.LOOP_RECALL_MAX_EMBEDDINGS }} THEN x.Embeddings ELSE 0 END)
                                 OVER (ORDER BY x.TenantId, x.EmbeddingType, x.SegmentId ROWS UNBOUNDED PRECEDING)
                                 <= {{ policy.LOOP_RECALL_MAX_EMBEDDINGS }}
                        THEN 1 ELSE 0 END
            FROM (SELECT g.SegmentId, g.TenantId, g.EmbeddingType, g.Dimension,
                         CONCAT(g.TenantId, N'/', g.EmbeddingType, N'/', g.SegmentId) AS ObjectName,
                         (SELECT SUM(s.VectorCount) FROM dbo.VectorIndexSegments AS s
                          WHERE s.TenantId = g.TenantId AND s.EmbeddingType = g.EmbeddingType AND s.Dimension = g.Dimension
                            AND s.IsActive = 1) AS Embeddings
                  FROM dbo.VectorIndexSegments AS g
                  WHERE g.IsActive = 1 AND g.Kind = N'hnsw') AS x
            WHERE NOT EXISTS (SELECT 1 FROM dbo.AutonomousSnapshots AS p
                              WHERE p.Kind = N'vector_index' AND p.ObjectName = x.ObjectName
                                AND p.CapturedAt > DATEADD(HOUR, -24, @Now));
            IF EXISTS (SELECT 1 FROM #recall_graphs WHERE Measure = 1)
            BEGIN
                -- what the script reads (it cannot query back): each measured graph's type's segments, ids as text
                SET @RecallState = (SELECT CONVERT(VARCHAR(20), g.SegmentId) AS graph, g.EmbeddingType AS [type],
                                           (SELECT CONVERT(VARCHAR(20), s.SegmentId) AS id
                                            FROM dbo.VectorIndexSegments AS s
                                            WHERE s.TenantId = g.TenantId AND s.EmbeddingType = g.EmbeddingType
                                              AND s.Dimension = g.Dimension AND s.IsActive = 1
                                            ORDER BY s.SegmentId FOR JSON PATH) AS segments
                                    FROM #recall_graphs AS g WHERE g.Measure = 1 FOR JSON PATH);
                INSERT INTO #recall_chunks (Id, Ordinal, Data)
                SELECT CONVERT(VARCHAR(20), c.SegmentId), c.ChunkIndex, c.Data
                FROM dbo.VectorIndexChunks AS c
                WHERE c.SegmentId IN (SELECT s.SegmentId FROM dbo.VectorIndexSegments AS s
                                      INNER JOIN #recall_graphs AS g
                                          ON g.TenantId = s.TenantId AND g.EmbeddingType = s.EmbeddingType
                                         AND g.Dimension = s.Dimension
                                      WHERE g.Measure = 1 AND s.IsActive = 1);
                -- another sample each day, the same one within a day (PostgreSQL: the same day number)
                SELECT @Recalls = NULL, @RecallProblem = NULL, @RecallSeed = DATEDIFF(DAY, '19700101', @Now);
                -- the call itself can fail (Msg 39004/39019: the external pool's memory, Launchpad, a
                -- crash): recorded on every graph measured, and the phase goes on (XACT_ABORT is OFF
                -- here, so only a doomed transaction ends the phase)
                BEGIN TRY
                EXEC sys.sp_execute_external_script
                    @language = N'Python',
                    @script = N'
# every OUTPUT parameter gets a value: one left unset (or None) stops BxlServer; empty reads back as NULL
recalls, problem = "", ""
try:
    import json
    from hartonomous_ext import vector_index
    stored = {}
    if len(InputDataSet):  # no rows may come as a frame without columns
        for segment, chunks in InputDataSet.sort_values(["Id", "Ordinal"]).groupby("Id"):
            stored[int(segment)] = b"".join(chunks["Data"])
    measured = []
    for graph in json.loads(state):  # one graph at a time: its failure is its own
        try:
            missing = [int(s["id"]) for s in graph["segments"] if int(s["id"]) not in stored]
            if missing:
                raise LookupError("segments %s were retired while they were read" % missing)
            found = vector_index.measure_recall([vector_index.deserialize(stored[int(s["id"])]) for s in graph["segments"]],
                                                sample, k, seed)
            measured.append({"segment": graph["graph"], "recall": found.recall, "queries": found.queries,
                             "embeddings": found.embeddings, "seconds": round(found.seconds, 3)})
        except Exception as exc:
            measured.append({"segment": graph["graph"], "problem": ("%s: %s" % (type(exc).__name__, exc))[:2000]})
    recalls = json.dumps(measured)
except Exception as exc:  # the request as a whole: recorded on every graph measured, the phase goes on
    problem = ("%s: %s" % (type(exc).__name__, exc))[:2000]
',
                    @input_data_1 = N'SELECT Id, Ordinal, Data FROM #recall_chunks',
                    @params = N'@state NVARCHAR(MAX), @sample INT, @k INT, @seed INT, @recalls NVARCHAR(MAX) OUTPUT,
                                @problem NVARCHAR(2048) OUTPUT',
                    @state = @RecallState, @sample = {{ policy.LOOP_RECALL_SAMPLE }}, @k = {{ policy.LOOP_RECALL_K }},
                    @seed = @RecallSeed,
                    @recalls = @Recalls OUTPUT, @problem = @RecallProblem OUTPUT
                WITH RESULT SETS NONE;
                END TRY
                BEGIN CATCH
                    IF XACT_STATE() = -1
                        THROW;
                    SELECT @Recalls = NULL,
                           @RecallProblem = LEFT(CONCAT(N'sp_execute_external_script: ', ERROR_NUMBER(), N' ', ERROR_MESSAGE()), 2000);
                END CATCH;
                SELECT @Recalls = NULLIF(@Recalls, N''), @RecallProblem = NULLIF(@RecallProblem, N'');
                INSERT INTO #recalls (SegmentId, Recall, Queries, Embeddings, Seconds, Problem)
                SELECT j.SegmentId, j.Recall, j.Queries, j.Embeddings, j.Seconds, j.Problem
                FROM OPENJSON(CASE WHEN ISJSON(@Recalls) = 1 THEN @Recalls ELSE N'[]' END)
                     WITH (SegmentId BIGINT '$.segment', Recall FLOAT '$.recall', Queries INT '$.queries',
                           Embeddings BIGINT '$.embeddings', Seconds FLOAT '$.seconds', Problem NVARCHAR(2000) '$.problem') AS j
                WHERE j.SegmentId IN (SELECT g.SegmentId FROM #recall_graphs AS g);
            END;
            INSERT INTO dbo.AutonomousSnapshots (CycleId, Kind, ObjectName, Counters)
            SELECT @CycleId, N'vector_index', g.ObjectName,
                   (SELECT g.TenantId AS tenant, g.EmbeddingType AS [type], g.Dimension AS dimension, g.SegmentId AS segment,
                           g.Embeddings AS embeddings, {{ policy.LOOP_RECALL_K }} AS k, r.Recall AS recall, r.Queries AS queries,
                           r.Seconds AS seconds,
                           CASE WHEN g.Measure = 0
                                THEN CONCAT(N'not measured: ', g.Embeddings, N' embeddings, more than LOOP_RECALL_MAX_EMBEDDINGS (',
                                            {{ policy.LOOP_RECALL_MAX_EMBEDDINGS }}, N')')
                                WHEN r.SegmentId IS NULL
                                THEN COALESCE(@RecallProblem, N'the recall script returned nothing for this graph')
                                ELSE r.Problem END AS problem
                    FOR JSON PATH, WITHOUT_ARRAY_WRAPPER)
            FROM #recall_graphs AS g
            LEFT JOIN #recalls AS r ON r.SegmentId = g.SegmentId
            -- one too large on its own is recorded (skipped for a day); one past this cycle's share waits
            WHERE g.Measure = 1 OR g.Embeddings > {{ policy.LOOP_RECALL_MAX_EMBEDDINGS }};
            INSERT INTO dbo.AutonomousObservations (CycleId, Kind, TargetObject, Metric, Baseline, Detail)
            SELECT @CycleId, N'search_recall', CONVERT(NVARCHAR(20), g.TenantId), r.Recall, {{ policy.TARGET_RECALL }},
                   (SELECT g.TenantId AS tenant, g.EmbeddingType AS [type], g.Dimension AS dimension, g.SegmentId AS segment,
                           {{ policy.LOOP_RECALL_K }} AS k, r.Queries AS queries, r.Embeddings AS embeddings, r.Seconds AS seconds
                    FOR JSON PATH, WITHOUT_ARRAY_WRAPPER)
            FROM #recall_graphs AS g
            INNER JOIN #recalls AS r ON r.SegmentId = g.SegmentId
            WHERE r.Recall < {{ policy.TARGET_RECALL }} - {{ policy.LOOP_RECALL_TOLERANCE }};
            SET @Found += @@ROWCOUNT;
        END;

        IF @Maint = 1
        BEGIN
            INSERT INTO dbo.AutonomousObservations (CycleId, Kind, TargetObject, Metric, Detail)
            SELECT @CycleId, N'unprojected_embeddings', u.EmbeddingType, u.Missing,
                   (SELECT u.WithoutPoint AS without_point, u.WithoutBucket AS without_bucket FOR JSON PATH, WITHOUT_ARRAY_WRAPPER)
            FROM (SELECT e.EmbeddingType, COUNT_BIG(*) AS Missing,
                         SUM(CASE WHEN e.SpatialGeometry IS NULL THEN 1 ELSE 0 END) AS WithoutPoint,
                         SUM(CASE WHEN e.VectorBucket IS NULL THEN 1 ELSE 0 END) AS WithoutBucket
                  FROM dbo.AtomEmbeddings AS e
                  WHERE e.SpatialGeometry IS NULL OR e.VectorBucket IS NULL
                  GROUP BY e.EmbeddingType
                  HAVING COUNT_BIG(*) >= 4) AS u;  -- fitting landmarks needs at least four
            SET @Found += @@ROWCOUNT;

            INSERT INTO dbo.AutonomousObservations (CycleId, Kind, TargetObject, Metric, Detail)
            SELECT @CycleId, N'failed_ingestion', f.JobType, f.Failed,
                   (SELECT f.LastError AS last_error, f.LastJob AS last_job FOR JSON PATH, WITHOUT_ARRAY_WRAPPER)
            FROM (SELECT j.JobType, COUNT_BIG(*) AS Failed, MAX(j.ErrorMessage) AS LastError, MAX(j.IngestionJobId) AS LastJob
                  FROM dbo.IngestionJobs AS j
                  WHERE j.Status = N'Failed' AND COALESCE(j.EndTime, j.CreatedAt) >= DATEADD(HOUR, -@Lookback, @Now)
                  GROUP BY j.JobType) AS f;
            SET @Found += @@ROWCOUNT;

            INSERT INTO dbo.AutonomousObservations (CycleId, Kind, TargetObject, Metric)
            SELECT @CycleId, N'old_inference_requests', N'dbo.InferenceRequests', c.Old
            FROM (SELECT COUNT_BIG(*) AS Old FROM dbo.InferenceRequests AS q
                  WHERE q.StartTime < DATEADD(DAY, -{{ policy.LOOP_REQUEST_RETENTION_DAYS }}, @Now)) AS c
            WHERE c.Old > 0;
            SET @Found += @@ROWCOUNT;

            -- charges of closed months newer than what the newest archive moved (sp_ArchiveBillingUsage
            -- moves every line item before the first day of the month it runs in)
            SELECT @ArchivedThrough = CONVERT(DATETIME2(3), DATEFROMPARTS(YEAR(MAX(l.ArchivedAt)), MONTH(MAX(l.ArchivedAt)), 1))
            FROM dbo.BillingUsageLedger AS l;
            INSERT INTO dbo.AutonomousObservations (CycleId, Kind, TargetObject, Metric)
            SELECT @CycleId, N'unarchived_billing', N'BillingUsageLedger_InMemory', c.Charges
            FROM (SELECT SUM(p.Calls) AS Charges FROM dbo.BillingUsagePeriods AS p
                  WHERE p.PeriodStart < @MonthStart AND (@ArchivedThrough IS NULL OR p.LastChargedAt >= @ArchivedThrough)) AS c
            WHERE c.Charges > 0;
            SET @Found += @@ROWCOUNT;

            INSERT INTO dbo.AutonomousObservations (CycleId, Kind, TargetObject, Metric)
            SELECT @CycleId, N'old_loop_history', N'dbo.OODALoopMetrics', c.Old
            FROM (SELECT COUNT_BIG(*) AS Old FROM dbo.OODALoopMetrics AS m
                  WHERE m.ExecutedAt < DATEADD(DAY, -{{ policy.LOOP_HISTORY_RETENTION_DAYS }}, @Now)) AS c
            WHERE c.Old > 0;
            SET @Found += @@ROWCOUNT;

            -- the four queues' messages (a delayed or retried one waits in a conversation timer, not here)
            INSERT INTO dbo.AutonomousObservations (CycleId, Kind, TargetObject, Metric)
            SELECT @CycleId, N'queue_backlog', q.QueueName, q.Messages
            FROM (SELECT N'AnalyzeQueue' AS QueueName, (SELECT COUNT_BIG(*) FROM dbo.AnalyzeQueue WITH (NOLOCK)) AS Messages
                  UNION ALL
                  SELECT N'HypothesizeQueue', (SELECT COUNT_BIG(*) FROM dbo.HypothesizeQueue WITH (NOLOCK))
                  UNION ALL
                  SELECT N'ActQueue', (SELECT COUNT_BIG(*) FROM dbo.ActQueue WITH (NOLOCK))
                  UNION ALL
                  SELECT N'LearnQueue', (SELECT COUNT_BIG(*) FROM dbo.LearnQueue WITH (NOLOCK))) AS q
            WHERE q.Messages > {{ policy.LOOP_QUEUE_BACKLOG }};
            SET @Found += @@ROWCOUNT;

            INSERT INTO dbo.AutonomousObservations (CycleId, Kind, TargetObject, Metric, Baseline, Detail)
            SELECT @CycleId, N'loop_failures', N'autonomous loop', f.Failures, f.Runs,
                   (SELECT f.Dead AS dead_letters, f.LastError AS last_error FOR JSON PATH, WITHOUT_ARRAY_WRAPPER)
            FROM (SELECT SUM(CASE WHEN m.Success = 0 THEN 1 ELSE 0 END) AS Failures, COUNT_BIG(*) AS Runs,
                         (SELECT COUNT_BIG(*) FROM dbo.AutonomousLoopDeadLetters AS d
                          WHERE d.DeadLetteredAt >= DATEADD(HOUR, -@Lookback, @Now)) AS Dead,
                         (SELECT TOP (1) m2.ErrorMessage FROM dbo.OODALoopMetrics AS m2 WHERE m2.Success = 0
                          ORDER BY m2.MetricId DESC) AS LastError
                  FROM dbo.OODALoopMetrics AS m
                  WHERE m.ExecutedAt >= DATEADD(HOUR, -@Lookback, @Now)) AS f
            WHERE f.Failures > 0 OR f.Dead > 0;
            SET @Found += @@ROWCOUNT;

            -- concept discovery's drift, as on PostgreSQL: the atoms added since a type's last completed
            -- run and the run's atoms deleted since, as a share of the run's atoms; recorded at
            -- CONCEPT_RECLUSTER_SHARE with at least CONCEPT_RECLUSTER_MIN_ATOMS changed, unless the loop
            -- proposed re-clustering it in the last CONCEPT_RECLUSTER_INTERVAL_HOURS. Detail carries the
            -- run's parameters, which the re-clustering uses again
            INSERT INTO dbo.AutonomousObservations (CycleId, Kind, TargetObject, Metric, Baseline, Detail)
            SELECT @CycleId, N'concept_drift', t.Target, d.Share, {{ policy.CONCEPT_RECLUSTER_SHARE }},
                   (SELECT t.TenantId AS tenant, t.EmbeddingType AS [type], d.DiscoveryRunId AS run, d.RunAtoms AS run_atoms,
                           d.Atoms AS atoms, d.Added AS added, d.Removed AS removed, d.RunStartedAt AS since,
                           TRY_CONVERT(INT, JSON_VALUE(d.Parameters, N'$.min_cluster_size')) AS min_cluster_size,
                           TRY_CONVERT(FLOAT, JSON_VALUE(d.Parameters, N'$.coherence_threshold')) AS coherence_threshold,
                           TRY_CONVERT(INT, JSON_VALUE(d.Parameters, N'$.max_concepts')) AS max_concepts
                    FOR JSON PATH, WITHOUT_ARRAY_WRAPPER)
            FROM (SELECT DISTINCT c.TenantId, c.EmbeddingType, CONCAT(c.TenantId, N'/', c.EmbeddingType) AS Target
                  FROM provenance.Concepts AS c
                  WHERE c.RetiredAt IS NULL) AS t
            CROSS APPLY dbo.fn_ConceptDrift(t.TenantId, t.EmbeddingType) AS d
            WHERE d.Added + d.Removed >= {{ policy.CONCEPT_RECLUSTER_MIN_ATOMS }}
              AND d.Share >= {{ policy.CONCEPT_RECLUSTER_SHARE }}
              AND NOT EXISTS (SELECT 1 FROM dbo.AutonomousActions AS a
                              WHERE a.ActionType = N'recluster_concepts' AND a.TargetName = t.Target
                                AND a.ProposedAt > DATEADD(HOUR, -{{ policy.CONCEPT_RECLUSTER_INTERVAL_HOURS }}, @Now));
            SET @Found += @@ROWCOUNT;
        END;

        INSERT INTO dbo.OODALoopMetrics (CycleId, Phase, DurationMs, Success, ItemsProcessed)
        VALUES (@CycleId, N'Analyze', DATEDIFF_BIG(MICROSECOND, @Started, SYSUTCDATETIME()) / 1000.0, 1, @Found);
        IF @OwnTransaction = 1
            COMMIT TRANSACTION;
    END TRY
    BEGIN CATCH
        -- in a caller's transaction (activation), the caller rolls back to its savepoint and records the failure
        IF @OwnTransaction = 1 AND XACT_STATE() <> 0
            ROLLBACK TRANSACTION;
        SET @CycleId = NULL;
        THROW;
    END CATCH;
END;
