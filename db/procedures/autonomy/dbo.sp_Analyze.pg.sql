-- kind: procedure
-- requires: dbo.fn_AutonomousLoopSettings, dbo.AutonomousCycles, dbo.AutonomousSnapshots, dbo.AutonomousObservations, dbo.OODALoopMetrics, dbo.AutonomousLoopMessages, dbo.AutonomousLoopDeadLetters, dbo.InferenceRequests, dbo.IngestionJobs, dbo.AtomEmbeddings, dbo.BillingUsageLedger_InMemory, dbo.AutonomousActions, dbo.VectorIndexSegments, dbo.fn_MeasureSearchRecall, provenance.Concepts, dbo.fn_ConceptDrift, pg_stat_statements, pgstattuple
-- Observe (seed 003's phase 1): start a cycle, snapshot the statements' and tables' counters, and
-- record what needs attention as rows of dbo.AutonomousObservations, comparing with the previous
-- cycle's snapshot and with each request type's own history:
--   performance  latency against its baseline, tables scanned whole again and again, indexes no
--                statement used, stale statistics, vector index deltas waiting to be merged, the
--                search recall of each vector index graph against exact (once a day per graph)
--   maintenance  dead rows, embeddings without a 3-D point or bucket, failed ingestion jobs,
--                requests and billing months past retention, the loop's own old rows, its queues
--                and its failures, concepts whose embeddings changed much since their discovery run
-- TenantId limits the latency comparison to one tenant's requests (NULL: all); the loop reads every
-- tenant's counters and never their content (the recall measure compares their vector index's
-- embeddings inside the database and records only the recall). It runs as its owner, for the system role.
CREATE OR REPLACE PROCEDURE dbo.sp_Analyze(
    TenantId integer DEFAULT NULL,
    AnalysisScope text DEFAULT 'full',
    LookbackHours integer DEFAULT NULL,
    INOUT CycleId bigint DEFAULT NULL,
    TriggeredBy text DEFAULT 'manual'
)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = dbo, public, pg_temp
SET lock_timeout = '5s'                 -- never queue behind a DBA's DDL, nor make it queue
SET pg_stat_statements.track = 'none'  -- the loop's own statements are not the workload it measures
AS $$
DECLARE
    started constant timestamptz := clock_timestamp();
    settings record;
    lookback integer;
    previous bigint;
    found_count integer := 0;
    added integer;
    measure_density boolean;
    graph record;
    measured record;
    problem text;
    recall_budget bigint := {{ policy.LOOP_RECALL_MAX_EMBEDDINGS }};
    perf boolean;
    maint boolean;
BEGIN
    AnalysisScope := lower(coalesce(AnalysisScope, 'full'));
    IF AnalysisScope NOT IN ('full', 'performance', 'maintenance') THEN
        RAISE EXCEPTION 'sp_Analyze: AnalysisScope must be full, performance or maintenance, not %', AnalysisScope
            USING ERRCODE = '22023';
    END IF;
    SELECT * INTO settings FROM dbo.fn_AutonomousLoopSettings();
    lookback := coalesce(LookbackHours, settings.LookbackHours);
    IF lookback < 0 OR lookback > 8760 THEN
        RAISE EXCEPTION 'sp_Analyze: LookbackHours must be between 0 and 8760, not %', lookback USING ERRCODE = '22023';
    END IF;
    perf := AnalysisScope IN ('full', 'performance');
    maint := AnalysisScope IN ('full', 'maintenance');
    -- one phase of the loop at a time, whoever runs it
    PERFORM pg_advisory_xact_lock(hashtext('hartonomous.autonomous_loop'));

    INSERT INTO dbo.AutonomousCycles AS c (TenantId, AnalysisScope, LookbackHours, TriggeredBy)
    VALUES (sp_Analyze.TenantId, AnalysisScope, lookback, coalesce(TriggeredBy, 'manual'))
    RETURNING c.CycleId INTO sp_Analyze.CycleId;
    SELECT max(s.CycleId) INTO previous FROM dbo.AutonomousSnapshots s WHERE s.CycleId < sp_Analyze.CycleId;

    INSERT INTO dbo.AutonomousSnapshots (CycleId, Kind, ObjectName, Counters)
    SELECT sp_Analyze.CycleId, 'statement', q.queryid::text,
           jsonb_build_object('calls', q.calls, 'total_ms', q.total_ms)
    FROM (SELECT s.queryid, sum(s.calls) AS calls, sum(s.total_exec_time) AS total_ms
          FROM pg_stat_statements s
          WHERE s.dbid = (SELECT d.oid FROM pg_database d WHERE d.datname = current_database())
          GROUP BY s.queryid ORDER BY sum(s.total_exec_time) DESC LIMIT 500) q;
    INSERT INTO dbo.AutonomousSnapshots (CycleId, Kind, ObjectName, Counters)
    SELECT sp_Analyze.CycleId, 'table', format('%I.%I', t.schemaname, t.relname),
           jsonb_build_object('relname', t.relname, 'seq_scan', t.seq_scan, 'seq_tup_read', t.seq_tup_read,
                              'idx_scan', coalesce(t.idx_scan, 0), 'n_live_tup', t.n_live_tup,
                              'n_dead_tup', t.n_dead_tup, 'n_mod_since_analyze', t.n_mod_since_analyze)
    FROM pg_stat_user_tables t
    WHERE t.schemaname IN ('dbo', 'graph', 'provenance');
    -- each index's scans; once a day also its leaf density (pgstatindex reads the whole index)
    measure_density := perf AND NOT EXISTS (
        SELECT 1 FROM dbo.AutonomousSnapshots s
        WHERE s.Kind = 'index' AND s.Counters ? 'leaf_density' AND s.CapturedAt > now() - interval '24 hours');
    INSERT INTO dbo.AutonomousSnapshots (CycleId, Kind, ObjectName, Counters)
    SELECT sp_Analyze.CycleId, 'index', format('%I.%I', i.schemaname, i.indexrelname),
           jsonb_build_object('schema', i.schemaname, 'name', i.indexrelname, 'idx_scan', i.idx_scan,
                              'bytes', pg_relation_size(i.indexrelid))
           || CASE WHEN measure_density AND am.amname = 'btree' AND x.indisvalid
                        AND pg_relation_size(i.indexrelid) >= {{ policy.LOOP_MIN_INDEX_BYTES }}
                   THEN jsonb_build_object('leaf_density', (SELECT s.avg_leaf_density FROM pgstatindex(i.indexrelid) s))
                   ELSE '{}'::jsonb END
    FROM pg_stat_user_indexes i
    JOIN pg_index x ON x.indexrelid = i.indexrelid
    JOIN pg_class c ON c.oid = i.indexrelid
    JOIN pg_am am ON am.oid = c.relam
    WHERE i.schemaname IN ('dbo', 'graph', 'provenance');
    -- what later cycles compare with: the previous cycle's counters, and index scans over the lookback
    DELETE FROM dbo.AutonomousSnapshots s
    WHERE (s.Kind IN ('statement', 'table') AND s.CycleId < previous)
       OR (s.Kind IN ('index', 'vector_index') AND s.CapturedAt < now() - make_interval(hours => lookback) - interval '24 hours');

    IF perf THEN
        -- tables read whole, again and again, since the previous cycle
        INSERT INTO dbo.AutonomousObservations (CycleId, Kind, TargetObject, Metric, Baseline, Detail)
        SELECT sp_Analyze.CycleId, 'seq_scan_hotspot', cur.ObjectName,
               ((cur.Counters->>'seq_tup_read')::bigint - (prev.Counters->>'seq_tup_read')::bigint)::double precision
                   / (cur.Counters->>'n_live_tup')::bigint,
               (cur.Counters->>'idx_scan')::bigint - (prev.Counters->>'idx_scan')::bigint,
               jsonb_build_object('rows_read', (cur.Counters->>'seq_tup_read')::bigint - (prev.Counters->>'seq_tup_read')::bigint,
                                  'live_rows', (cur.Counters->>'n_live_tup')::bigint,
                                  'schema', split_part(cur.ObjectName, '.', 1), 'name', cur.Counters->>'relname',
                                  'since', prev.CapturedAt)
        FROM dbo.AutonomousSnapshots cur
        JOIN dbo.AutonomousSnapshots prev ON prev.CycleId = previous AND prev.Kind = 'table' AND prev.ObjectName = cur.ObjectName
        WHERE cur.CycleId = sp_Analyze.CycleId AND cur.Kind = 'table'
          AND (cur.Counters->>'n_live_tup')::bigint >= {{ policy.LOOP_MIN_TABLE_ROWS }}
          -- rows read by sequential scans, in whole tables: a parallel scan counts one scan per
          -- worker but its rows once, so scans themselves are not what is counted
          AND ((cur.Counters->>'seq_tup_read')::bigint - (prev.Counters->>'seq_tup_read')::bigint)
              >= {{ policy.LOOP_MIN_SEQ_SCANS }}::bigint * (cur.Counters->>'n_live_tup')::bigint;
        GET DIAGNOSTICS added = ROW_COUNT; found_count := found_count + added;

        -- indexes no statement used over the lookback: their scan count the same in every snapshot
        -- since one at least the lookback old (a count that went down is a statistics reset: not
        -- evidence); not unique, not an expression index (its statistics serve the planner), not
        -- covering a foreign key (used by its checks), not one the loop built lately
        INSERT INTO dbo.AutonomousObservations (CycleId, Kind, TargetObject, Metric, Baseline, Detail)
        SELECT sp_Analyze.CycleId, 'unused_index', cur.ObjectName, (cur.Counters->>'idx_scan')::bigint,
               (cur.Counters->>'bytes')::bigint,
               jsonb_build_object('schema', cur.Counters->>'schema', 'name', cur.Counters->>'name',
                                  'table', c.relname, 'since', h.oldest, 'definition', pg_get_indexdef(x.indexrelid))
        FROM dbo.AutonomousSnapshots cur
        JOIN pg_namespace n ON n.nspname = cur.Counters->>'schema'
        JOIN pg_class ic ON ic.relnamespace = n.oid AND ic.relname = cur.Counters->>'name'
        JOIN pg_index x ON x.indexrelid = ic.oid
        JOIN pg_class c ON c.oid = x.indrelid
        CROSS JOIN LATERAL (
            SELECT min(s.CapturedAt) AS oldest, min((s.Counters->>'idx_scan')::bigint) AS low,
                   max((s.Counters->>'idx_scan')::bigint) AS high
            FROM dbo.AutonomousSnapshots s WHERE s.Kind = 'index' AND s.ObjectName = cur.ObjectName) h
        WHERE cur.CycleId = sp_Analyze.CycleId AND cur.Kind = 'index'
          AND h.oldest <= now() - make_interval(hours => lookback)
          AND h.low = h.high
          AND NOT x.indisunique AND NOT x.indisprimary AND NOT x.indisexclusion AND x.indisvalid
          AND x.indexprs IS NULL
          AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid)
          AND NOT EXISTS (SELECT 1 FROM pg_constraint f
                          WHERE f.contype = 'f' AND f.conrelid = x.indrelid
                            AND (x.indkey::smallint[])[0:cardinality(f.conkey) - 1] = f.conkey)
          AND (cur.Counters->>'bytes')::bigint >= {{ policy.LOOP_MIN_INDEX_BYTES }}
          -- statistics do not say when an index was made: one the loop built lately is too young to judge
          AND NOT EXISTS (SELECT 1 FROM dbo.AutonomousActions a
                          WHERE a.TargetSchema = n.nspname AND a.TargetName = ic.relname
                            AND a.AppliedAt >= now() - make_interval(hours => greatest(lookback, 24)));
        GET DIAGNOSTICS added = ROW_COUNT; found_count := found_count + added;

        -- B-tree indexes whose leaf pages are mostly empty (measured once a day, above)
        INSERT INTO dbo.AutonomousObservations (CycleId, Kind, TargetObject, Metric, Baseline, Detail)
        SELECT sp_Analyze.CycleId, 'index_bloat', s.ObjectName, (s.Counters->>'leaf_density')::double precision,
               {{ policy.LOOP_LEAF_DENSITY }}, jsonb_build_object('schema', s.Counters->>'schema', 'name', s.Counters->>'name',
                                                              'bytes', (s.Counters->>'bytes')::bigint)
        FROM dbo.AutonomousSnapshots s
        WHERE s.CycleId = sp_Analyze.CycleId AND s.Kind = 'index'
          AND (s.Counters->>'leaf_density')::double precision < {{ policy.LOOP_LEAF_DENSITY }};
        GET DIAGNOSTICS added = ROW_COUNT; found_count := found_count + added;

        -- statistics the planner works from that many changed rows have outdated, and autovacuum
        -- has not refreshed for an hour (the loop's own logs are autovacuum's alone)
        INSERT INTO dbo.AutonomousObservations (CycleId, Kind, TargetObject, Metric, Baseline, Detail)
        SELECT sp_Analyze.CycleId, 'stale_statistics', format('%I.%I', t.schemaname, t.relname),
               t.n_mod_since_analyze, t.n_live_tup, jsonb_build_object('schema', t.schemaname, 'name', t.relname)
        FROM pg_stat_user_tables t
        WHERE t.schemaname IN ('dbo', 'graph', 'provenance')
          AND t.relname NOT IN ('autonomoussnapshots', 'autonomousobservations', 'oodaloopmetrics', 'autonomousloopmessages',
                                'autonomouscycles', 'autonomousactions', 'autonomousimprovementhistory')
          AND coalesce(greatest(t.last_analyze, t.last_autoanalyze), '-infinity') < now() - interval '1 hour'
          AND t.n_mod_since_analyze >= 1000
          AND t.n_mod_since_analyze >= {{ policy.LOOP_STALE_STATISTICS_RATIO }} * greatest(t.n_live_tup, 1000);
        GET DIAGNOSTICS added = ROW_COUNT; found_count := found_count + added;

        -- request types slower in the last hour than their own p95 over the lookback before it
        INSERT INTO dbo.AutonomousObservations (CycleId, Kind, TargetObject, Metric, Baseline, Detail)
        SELECT sp_Analyze.CycleId, 'latency_regression', r.TaskType, r.recent_p95, r.baseline_p95,
               jsonb_build_object('recent_requests', r.recent_n, 'baseline_requests', r.baseline_n,
                                  'recent_p50', r.recent_p50, 'tenant', sp_Analyze.TenantId)
        FROM (SELECT q.TaskType,
                     percentile_cont(0.95) WITHIN GROUP (ORDER BY q.DurationMs) FILTER (WHERE q.StartTime >= now() - interval '1 hour') AS recent_p95,
                     percentile_cont(0.50) WITHIN GROUP (ORDER BY q.DurationMs) FILTER (WHERE q.StartTime >= now() - interval '1 hour') AS recent_p50,
                     percentile_cont(0.95) WITHIN GROUP (ORDER BY q.DurationMs) FILTER (WHERE q.StartTime < now() - interval '1 hour') AS baseline_p95,
                     count(*) FILTER (WHERE q.StartTime >= now() - interval '1 hour') AS recent_n,
                     count(*) FILTER (WHERE q.StartTime < now() - interval '1 hour') AS baseline_n
              FROM dbo.InferenceRequests q
              WHERE q.StartTime >= now() - interval '1 hour' - make_interval(hours => lookback)
                AND q.Status = 'Completed' AND q.DurationMs IS NOT NULL
                AND (sp_Analyze.TenantId IS NULL OR q.TenantId = sp_Analyze.TenantId)
              GROUP BY q.TaskType) r
        WHERE r.recent_n >= {{ policy.LOOP_MIN_REQUESTS }} AND r.baseline_n >= {{ policy.LOOP_MIN_REQUESTS }}
          AND r.recent_p95 > {{ policy.LOOP_LATENCY_REGRESSION }} * r.baseline_p95;
        GET DIAGNOSTICS added = ROW_COUNT; found_count := found_count + added;

        -- embeddings not yet in a tenant's vector index, past the size sp_IngestAtom merges at
        INSERT INTO dbo.AutonomousObservations (CycleId, Kind, TargetObject, Metric, Detail)
        SELECT sp_Analyze.CycleId, 'vector_index_delta', a.TenantId::text, count(*),
               jsonb_build_object('tenant', a.TenantId)
        FROM dbo.AtomEmbeddings e JOIN dbo.Atoms a ON a.AtomId = e.AtomId
        WHERE NOT e.Indexed
        GROUP BY a.TenantId
        HAVING count(*) >= {{ policy.DELTA_MERGE_ROWS }};
        GET DIAGNOSTICS added = ROW_COUNT; found_count := found_count + added;

        -- the search recall of each active vector index graph, once a day per graph (a rebuilt graph
        -- is a new segment: measured at the next cycle): LOOP_RECALL_SAMPLE of the type's own embeddings
        -- asked of the index path and of an exact scan of the same segments (dbo.fn_MeasureSearchRecall,
        -- hartonomous_ext.vector_index.measure_recall); recorded as search_recall below the recall the
        -- graphs are calibrated to (TARGET_RECALL) minus LOOP_RECALL_TOLERANCE. Its cost: loading the
        -- type's segments into this session (unless a search here has) and one exact scan of them, a
        -- matrix product of the sample with every vector: about 0.1 s per 100,000 384-d vectors on one
        -- core. At most LOOP_RECALL_MAX_EMBEDDINGS vectors per cycle, in order of tenant and type: the
        -- graphs past it wait for the next cycle, and a type larger on its own is not measured (its
        -- snapshot says so). Every
        -- measure is a snapshot (Kind 'vector_index', one per graph segment), the day's gate; a
        -- measure that fails is recorded there with its error, and the phase goes on.
        FOR graph IN
            SELECT g.SegmentId, g.TenantId, g.EmbeddingType, g.Dimension,
                   format('%s/%s/%s', g.TenantId, g.EmbeddingType, g.SegmentId) AS ObjectName,
                   (SELECT sum(s.VectorCount) FROM dbo.VectorIndexSegments s
                    WHERE s.TenantId = g.TenantId AND s.EmbeddingType = g.EmbeddingType AND s.Dimension = g.Dimension
                      AND s.IsActive) AS Embeddings
            FROM dbo.VectorIndexSegments g
            WHERE g.IsActive AND g.Kind = 'hnsw'
              AND NOT EXISTS (SELECT 1 FROM dbo.AutonomousSnapshots p
                              WHERE p.Kind = 'vector_index'
                                AND p.ObjectName = format('%s/%s/%s', g.TenantId, g.EmbeddingType, g.SegmentId)
                                AND p.CapturedAt > now() - interval '24 hours')
            ORDER BY g.TenantId, g.EmbeddingType, g.SegmentId
        LOOP
            measured := NULL;
            problem := NULL;
            IF graph.Embeddings > {{ policy.LOOP_RECALL_MAX_EMBEDDINGS }} THEN
                problem := format('not measured: %s embeddings, more than LOOP_RECALL_MAX_EMBEDDINGS (%s)',
                                  graph.Embeddings, {{ policy.LOOP_RECALL_MAX_EMBEDDINGS }});
            ELSIF graph.Embeddings > recall_budget THEN
                -- this cycle's share is spent: this graph and the ones after it wait for the next cycle
                -- (SQL Server's running total decides the same)
                recall_budget := 0;
                CONTINUE;
            ELSE
                recall_budget := recall_budget - graph.Embeddings;
                BEGIN
                    SELECT * INTO measured
                    FROM dbo.fn_MeasureSearchRecall(graph.TenantId, graph.EmbeddingType, {{ policy.LOOP_RECALL_SAMPLE }},
                                                    {{ policy.LOOP_RECALL_K }},
                                                    -- another sample each day, the same one within a day
                                                    floor(extract(epoch FROM now()) / 86400)::integer, graph.Dimension);
                    IF NOT FOUND THEN
                        problem := 'the graph was retired while it was measured';
                    END IF;
                EXCEPTION WHEN OTHERS THEN
                    GET STACKED DIAGNOSTICS problem = MESSAGE_TEXT;
                    problem := left(problem, 2000);
                END;
            END IF;
            INSERT INTO dbo.AutonomousSnapshots (CycleId, Kind, ObjectName, Counters)
            VALUES (sp_Analyze.CycleId, 'vector_index', graph.ObjectName,
                    jsonb_strip_nulls(jsonb_build_object(
                        'tenant', graph.TenantId, 'type', graph.EmbeddingType, 'dimension', graph.Dimension,
                        'segment', graph.SegmentId, 'embeddings', graph.Embeddings, 'k', {{ policy.LOOP_RECALL_K }},
                        'recall', measured.Recall, 'queries', measured.Queries,
                        'seconds', round(measured.Seconds::numeric, 3), 'problem', problem)));
            IF measured.Recall < {{ policy.TARGET_RECALL }} - {{ policy.LOOP_RECALL_TOLERANCE }} THEN
                INSERT INTO dbo.AutonomousObservations (CycleId, Kind, TargetObject, Metric, Baseline, Detail)
                VALUES (sp_Analyze.CycleId, 'search_recall', graph.TenantId::text, measured.Recall, {{ policy.TARGET_RECALL }},
                        jsonb_build_object('tenant', graph.TenantId, 'type', graph.EmbeddingType,
                                           'dimension', graph.Dimension, 'segment', graph.SegmentId,
                                           'k', {{ policy.LOOP_RECALL_K }}, 'queries', measured.Queries,
                                           'embeddings', measured.Embeddings,
                                           'seconds', round(measured.Seconds::numeric, 3)));
                found_count := found_count + 1;
            END IF;
        END LOOP;
    END IF;

    IF maint THEN
        INSERT INTO dbo.AutonomousObservations (CycleId, Kind, TargetObject, Metric, Baseline, Detail)
        SELECT sp_Analyze.CycleId, 'table_bloat', format('%I.%I', t.schemaname, t.relname), t.n_dead_tup, t.n_live_tup,
               jsonb_build_object('schema', t.schemaname, 'name', t.relname)
        FROM pg_stat_user_tables t
        WHERE t.schemaname IN ('dbo', 'graph', 'provenance')
          AND coalesce(greatest(t.last_vacuum, t.last_autovacuum), '-infinity') < now() - interval '1 hour'
          AND t.n_dead_tup >= {{ policy.LOOP_MIN_DEAD_ROWS }}
          AND t.n_dead_tup >= {{ policy.LOOP_DEAD_ROWS_RATIO }} * t.n_live_tup;
        GET DIAGNOSTICS added = ROW_COUNT; found_count := found_count + added;

        INSERT INTO dbo.AutonomousObservations (CycleId, Kind, TargetObject, Metric, Detail)
        SELECT sp_Analyze.CycleId, 'unprojected_embeddings', e.EmbeddingType, count(*),
               jsonb_build_object('without_point', count(*) FILTER (WHERE e.SpatialGeometry IS NULL),
                                  'without_bucket', count(*) FILTER (WHERE e.VectorBucket IS NULL))
        FROM dbo.AtomEmbeddings e
        WHERE e.SpatialGeometry IS NULL OR e.VectorBucket IS NULL
        GROUP BY e.EmbeddingType
        HAVING count(*) >= 4;  -- fitting landmarks needs at least four
        GET DIAGNOSTICS added = ROW_COUNT; found_count := found_count + added;

        INSERT INTO dbo.AutonomousObservations (CycleId, Kind, TargetObject, Metric, Detail)
        SELECT sp_Analyze.CycleId, 'failed_ingestion', j.JobType, count(*),
               jsonb_build_object('last_error', max(j.ErrorMessage), 'last_job', max(j.IngestionJobId))
        FROM dbo.IngestionJobs j
        WHERE j.Status = 'Failed' AND coalesce(j.EndTime, j.CreatedAt) >= now() - make_interval(hours => lookback)
        GROUP BY j.JobType;
        GET DIAGNOSTICS added = ROW_COUNT; found_count := found_count + added;

        INSERT INTO dbo.AutonomousObservations (CycleId, Kind, TargetObject, Metric)
        SELECT sp_Analyze.CycleId, 'old_inference_requests', 'dbo.InferenceRequests', n
        FROM (SELECT count(*) AS n FROM dbo.InferenceRequests q
              WHERE q.StartTime < now() - interval '{{ policy.LOOP_REQUEST_RETENTION_DAYS }} days') c
        WHERE n > 0;
        GET DIAGNOSTICS added = ROW_COUNT; found_count := found_count + added;

        INSERT INTO dbo.AutonomousObservations (CycleId, Kind, TargetObject, Metric)
        SELECT sp_Analyze.CycleId, 'unarchived_billing', 'dbo.BillingUsageLedger_InMemory', n
        FROM (SELECT count(*) AS n FROM dbo.BillingUsageLedger_InMemory l
              WHERE l.RecordedAt < date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC') c
        WHERE n > 0;
        GET DIAGNOSTICS added = ROW_COUNT; found_count := found_count + added;

        INSERT INTO dbo.AutonomousObservations (CycleId, Kind, TargetObject, Metric)
        SELECT sp_Analyze.CycleId, 'old_loop_history', 'dbo.OODALoopMetrics', n
        FROM (SELECT count(*) AS n FROM dbo.OODALoopMetrics m
              WHERE m.ExecutedAt < now() - interval '{{ policy.LOOP_HISTORY_RETENTION_DAYS }} days') c
        WHERE n > 0;
        GET DIAGNOSTICS added = ROW_COUNT; found_count := found_count + added;

        INSERT INTO dbo.AutonomousObservations (CycleId, Kind, TargetObject, Metric)
        SELECT sp_Analyze.CycleId, 'queue_backlog', m.QueueName, count(*)
        FROM dbo.AutonomousLoopMessages m
        WHERE m.VisibleAt <= now()
        GROUP BY m.QueueName
        HAVING count(*) > {{ policy.LOOP_QUEUE_BACKLOG }};
        GET DIAGNOSTICS added = ROW_COUNT; found_count := found_count + added;

        INSERT INTO dbo.AutonomousObservations (CycleId, Kind, TargetObject, Metric, Baseline, Detail)
        SELECT sp_Analyze.CycleId, 'loop_failures', 'autonomous loop', f.failures, f.runs,
               jsonb_build_object('dead_letters', f.dead, 'last_error', f.last_error)
        FROM (SELECT count(*) FILTER (WHERE m.Success = 0) AS failures, count(*) AS runs,
                     (SELECT count(*) FROM dbo.AutonomousLoopDeadLetters d
                      WHERE d.DeadLetteredAt >= now() - make_interval(hours => lookback)) AS dead,
                     (SELECT m2.ErrorMessage FROM dbo.OODALoopMetrics m2 WHERE m2.Success = 0
                      ORDER BY m2.MetricId DESC LIMIT 1) AS last_error
              FROM dbo.OODALoopMetrics m
              WHERE m.ExecutedAt >= now() - make_interval(hours => lookback)) f
        WHERE f.failures > 0 OR f.dead > 0;
        GET DIAGNOSTICS added = ROW_COUNT; found_count := found_count + added;

        -- concept discovery's drift: for each tenant and embedding type with live concepts, the atoms
        -- added since its last completed run and the run's atoms deleted since, as a share of the run's
        -- atoms (dbo.fn_ConceptDrift: one pass over the type's embeddings); recorded at
        -- CONCEPT_RECLUSTER_SHARE with at least CONCEPT_RECLUSTER_MIN_ATOMS changed, unless the loop
        -- proposed re-clustering it in the last CONCEPT_RECLUSTER_INTERVAL_HOURS. Detail carries the
        -- run's parameters, which the re-clustering uses again
        INSERT INTO dbo.AutonomousObservations (CycleId, Kind, TargetObject, Metric, Baseline, Detail)
        SELECT sp_Analyze.CycleId, 'concept_drift', t.Target, d.Share, {{ policy.CONCEPT_RECLUSTER_SHARE }},
               jsonb_build_object('tenant', t.TenantId, 'type', t.EmbeddingType, 'run', d.DiscoveryRunId,
                                  'run_atoms', d.RunAtoms, 'atoms', d.Atoms, 'added', d.Added, 'removed', d.Removed,
                                  'since', d.RunStartedAt,
                                  'min_cluster_size', d.Parameters->'min_cluster_size',
                                  'coherence_threshold', d.Parameters->'coherence_threshold',
                                  'max_concepts', d.Parameters->'max_concepts')
        FROM (SELECT DISTINCT c.TenantId, c.EmbeddingType, format('%s/%s', c.TenantId, c.EmbeddingType) AS Target
              FROM provenance.Concepts c WHERE c.RetiredAt IS NULL) t
        CROSS JOIN LATERAL dbo.fn_ConceptDrift(t.TenantId, t.EmbeddingType) d
        WHERE d.Added + d.Removed >= {{ policy.CONCEPT_RECLUSTER_MIN_ATOMS }}
          AND d.Share >= {{ policy.CONCEPT_RECLUSTER_SHARE }}
          AND NOT EXISTS (SELECT 1 FROM dbo.AutonomousActions a
                          WHERE a.ActionType = 'recluster_concepts' AND a.TargetName = t.Target
                            AND a.ProposedAt > now() - interval '{{ policy.CONCEPT_RECLUSTER_INTERVAL_HOURS }} hours');
        GET DIAGNOSTICS added = ROW_COUNT; found_count := found_count + added;
    END IF;

    INSERT INTO dbo.OODALoopMetrics (CycleId, Phase, DurationMs, Success, ItemsProcessed)
    VALUES (sp_Analyze.CycleId, 'Analyze', 1000 * extract(epoch FROM clock_timestamp() - started), 1, found_count);
END
$$;
