-- kind: procedure
-- requires: dbo.AutonomousObservations, dbo.AutonomousActions, dbo.AutonomousActionCatalog, dbo.OODALoopMetrics, dbo.fn_AutonomousActionCatalog, dbo.fn_ScoreAction, dbo.fn_IndexCandidates, dbo.fn_AutonomousActionStatement, dbo.fn_TableStatements, hypopg
-- Orient (seed 003's phase 2): turn each New observation into candidate actions of the catalog,
-- with an expected gain (0-1) and a score that weighs it by the action's risk and its type's
-- record of kept and reverted actions. A table scanned whole gets the index its most expensive
-- statements' plans ask for, costed first as a hypothetical index (hypopg): proposed only when it
-- cuts their estimated cost by LOOP_MIN_INDEX_GAIN or more. Observations that no catalog action
-- answers (latency, failed jobs, backlogs, the loop's failures) are marked Considered and stay on
-- record for the health check. A target reverted or rejected in the last
-- LOOP_REVERT_COOLDOWN_HOURS is not proposed again; one already open is not proposed twice.
CREATE OR REPLACE PROCEDURE dbo.sp_Hypothesize(
    TenantId integer DEFAULT NULL,
    INOUT CycleId bigint DEFAULT NULL,
    TargetArea text DEFAULT NULL
)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = dbo, public, pg_temp
SET lock_timeout = '5s'                 -- never queue behind a DBA's DDL, nor make it queue
SET pg_stat_statements.track = 'none'  -- the loop's own statements are not the workload it measures
AS $$
DECLARE
    started constant timestamptz := clock_timestamp();
    obs record;
    stmt record;
    cand record;
    rel regclass;
    rel_schema text;
    rel_name text;
    rel_columns text[];
    plan jsonb;
    cost_before double precision;
    cost_after double precision;
    params integer;
    args text;
    plan_mode text;
    proposed integer := 0;
    action_type text;
    target_schema text;
    target_name text;
    target_columns text[];
    action_params jsonb;
    gain double precision;
    kept integer;
    failed integer;
BEGIN
    TargetArea := lower(nullif(TargetArea, ''));
    IF TargetArea IS NOT NULL AND TargetArea NOT IN ('performance', 'maintenance', 'all') THEN
        RAISE EXCEPTION 'sp_Hypothesize: TargetArea must be performance, maintenance or all, not %', TargetArea
            USING ERRCODE = '22023';
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('hartonomous.autonomous_loop'));
    INSERT INTO dbo.AutonomousActionCatalog (ActionType)
    SELECT c.ActionType FROM dbo.fn_AutonomousActionCatalog() c
    ON CONFLICT (ActionType) DO NOTHING;

    FOR obs IN SELECT o.* FROM dbo.AutonomousObservations o
               WHERE o.Status = 'New' AND (sp_Hypothesize.CycleId IS NULL OR o.CycleId <= sp_Hypothesize.CycleId)
               ORDER BY o.ObservationId FOR UPDATE LOOP
        action_type := NULL;
        target_columns := NULL;
        action_params := NULL;
        -- the object as the catalog names it (TargetObject is quoted for people to read)
        target_schema := obs.Detail->>'schema';
        target_name := obs.Detail->>'name';

        IF obs.Kind = 'seq_scan_hotspot' THEN
            rel := to_regclass(format('%I.%I', target_schema, target_name));
            IF rel IS NOT NULL THEN
                SELECT n.nspname, c.relname INTO rel_schema, rel_name
                FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = rel;
                SELECT array_agg(a.attname::text) INTO rel_columns FROM pg_attribute a
                WHERE a.attrelid = rel AND a.attnum > 0 AND NOT a.attisdropped;
                CREATE TEMPORARY TABLE IF NOT EXISTS pg_temp.index_trials (
                    QueryId text, TotalMs double precision, IndexColumns text[], IndexName text,
                    CostBefore double precision, CostAfter double precision) ON COMMIT DROP;
                TRUNCATE pg_temp.index_trials;
                plan_mode := current_setting('plan_cache_mode');
                -- the statements that read this table and cost the most: planned here, never executed
                FOR stmt IN SELECT t.QueryId AS queryid, t.Query AS query, t.TotalMs AS total_ms
                            FROM dbo.fn_TableStatements(rel_name, 5) t LOOP
                    BEGIN
                        EXECUTE format('PREPARE hartonomous_probe AS %s', stmt.query);
                        SELECT coalesce(cardinality(p.parameter_types), 0) INTO params
                        FROM pg_prepared_statements p WHERE p.name = 'hartonomous_probe';
                        args := CASE WHEN params > 0
                                     THEN '(' || array_to_string(array_fill('NULL'::text, ARRAY[params]), ', ') || ')'
                                     ELSE '' END;
                        PERFORM set_config('plan_cache_mode', 'force_generic_plan', true);
                        EXECUTE 'EXPLAIN (FORMAT JSON) EXECUTE hartonomous_probe' || args INTO plan;
                        cost_before := (plan->0->'Plan'->>'Total Cost')::double precision;
                        FOR cand IN SELECT * FROM dbo.fn_IndexCandidates(plan, rel_name, rel_columns) LOOP
                            PERFORM hypopg_reset();
                            PERFORM 1 FROM hypopg_create_index(format('CREATE INDEX ON %I.%I (%s)', rel_schema, rel_name,
                                (SELECT string_agg(quote_ident(c), ', ' ORDER BY n) FROM unnest(cand.IndexColumns) WITH ORDINALITY u (c, n))));
                            -- prepared again: a cached generic plan would not see the hypothetical index
                            DEALLOCATE hartonomous_probe;
                            EXECUTE format('PREPARE hartonomous_probe AS %s', stmt.query);
                            EXECUTE 'EXPLAIN (FORMAT JSON) EXECUTE hartonomous_probe' || args INTO plan;
                            cost_after := (plan->0->'Plan'->>'Total Cost')::double precision;
                            INSERT INTO pg_temp.index_trials VALUES (stmt.queryid, stmt.total_ms, cand.IndexColumns, cand.IndexName, cost_before, cost_after);
                        END LOOP;
                        PERFORM hypopg_reset();
                        PERFORM set_config('plan_cache_mode', plan_mode, true);
                        DEALLOCATE hartonomous_probe;
                    EXCEPTION WHEN OTHERS THEN
                        -- a statement this session cannot plan (another session's temporary table, a type it
                        -- cannot infer) is left out; PREPARE outlives the rolled-back block, so drop it
                        PERFORM hypopg_reset();
                        PERFORM set_config('plan_cache_mode', plan_mode, true);
                        IF EXISTS (SELECT 1 FROM pg_prepared_statements p WHERE p.name = 'hartonomous_probe') THEN
                            DEALLOCATE hartonomous_probe;
                        END IF;
                    END;
                END LOOP;
                -- the index that saves the most estimated time over the statements, weighted by their time
                SELECT t.IndexColumns, t.IndexName,
                       sum(t.TotalMs * greatest(1 - t.CostAfter / nullif(t.CostBefore, 0), 0)) / nullif(
                           (SELECT sum(x.TotalMs) FROM (SELECT DISTINCT i.QueryId, i.TotalMs FROM pg_temp.index_trials i) x), 0) AS gain,
                       jsonb_agg(jsonb_build_object('queryid', t.QueryId, 'cost_before', t.CostBefore, 'cost_after', t.CostAfter)) AS trials,
                       array_agg(t.QueryId) AS queryids
                INTO cand
                FROM pg_temp.index_trials t
                GROUP BY t.IndexColumns, t.IndexName
                ORDER BY 3 DESC NULLS LAST, cardinality(t.IndexColumns)
                LIMIT 1;
                IF cand.gain >= {{ policy.LOOP_MIN_INDEX_GAIN }} THEN
                    action_type := 'create_index';
                    target_schema := rel_schema;
                    target_name := cand.IndexName;
                    target_columns := cand.IndexColumns;
                    gain := cand.gain;
                    action_params := jsonb_build_object('table', rel_name, 'statements', to_jsonb(cand.queryids),
                                                        'hypothetical', cand.trials);
                END IF;
            END IF;
        ELSIF obs.Kind = 'unused_index' THEN
            action_type := 'drop_index';
            gain := 0.5;
            action_params := jsonb_build_object('table', obs.Detail->>'table',
                                                'definition', obs.Detail->>'definition', 'bytes', obs.Baseline);
        ELSIF obs.Kind = 'index_bloat' THEN
            action_type := 'reindex_index';
            gain := least(1.0, greatest(0.0, 1 - obs.Metric / 90.0));  -- a fresh B-tree's leaves are 90% full
            action_params := jsonb_build_object('table', (SELECT c.relname FROM pg_index x JOIN pg_class c ON c.oid = x.indrelid
                                                          WHERE x.indexrelid = to_regclass(format('%I.%I', target_schema, target_name))));
        ELSIF obs.Kind = 'stale_statistics' THEN
            action_type := 'analyze_table';
            gain := least(1.0, obs.Metric / greatest(obs.Baseline, 1000));
        ELSIF obs.Kind = 'table_bloat' THEN
            action_type := 'vacuum_table';
            gain := least(1.0, obs.Metric / greatest(obs.Baseline, 1));
        ELSIF obs.Kind = 'unprojected_embeddings' THEN
            action_type := 'refit_projections';
            target_schema := NULL;
            target_name := obs.TargetObject;
            gain := least(1.0, obs.Metric / greatest((SELECT count(*) FROM dbo.AtomEmbeddings e WHERE e.EmbeddingType = obs.TargetObject), 1));
        ELSIF obs.Kind = 'vector_index_delta' THEN
            action_type := 'rebuild_vector_index';
            target_schema := NULL;
            target_name := obs.TargetObject;
            gain := 0.5;
        ELSIF obs.Kind = 'search_recall' THEN
            -- a rebuild calibrates the new graph's ef_search to TARGET_RECALL again (the same action
            -- and target as a delta: one rebuild answers both). The gain is the shortfall in units of
            -- the tolerance, at most 1: a shortfall past it is beyond chance, and the rebuild restores
            -- all of it (the bare shortfall, 0.05 to 0.3, would leave every rebuild waiting for a person)
            action_type := 'rebuild_vector_index';
            target_schema := NULL;
            target_name := obs.TargetObject;
            gain := least(1.0, greatest(0.0, (obs.Baseline - obs.Metric) / {{ policy.LOOP_RECALL_TOLERANCE }}));
        ELSIF obs.Kind = 'concept_drift' THEN
            -- concept discovery again for the tenant and type, with the previous run's parameters
            -- (their Detail), in the online runner. The gain is the changed share in units of
            -- CONCEPT_RECLUSTER_SHARE, at most 1: drift that reached the threshold is worth the whole run
            action_type := 'recluster_concepts';
            target_schema := NULL;
            target_name := obs.TargetObject;
            gain := least(1.0, greatest(0.0, obs.Metric / {{ policy.CONCEPT_RECLUSTER_SHARE }}));
            action_params := jsonb_build_object('tenant', obs.Detail->'tenant', 'type', obs.Detail->'type',
                                                'run', obs.Detail->'run', 'min_cluster_size', obs.Detail->'min_cluster_size',
                                                'coherence_threshold', obs.Detail->'coherence_threshold',
                                                'max_concepts', obs.Detail->'max_concepts');
        ELSIF obs.Kind = 'old_inference_requests' THEN
            action_type := 'archive_inference_requests';
            target_schema := 'dbo';
            target_name := 'InferenceRequests';
            gain := least(1.0, obs.Metric / greatest((SELECT count(*) FROM dbo.InferenceRequests), 1));
        ELSIF obs.Kind = 'unarchived_billing' THEN
            action_type := 'archive_billing_usage';
            target_schema := 'dbo';
            target_name := 'BillingUsageLedger_InMemory';
            gain := 1.0;
        ELSIF obs.Kind = 'old_loop_history' THEN
            action_type := 'purge_loop_history';
            target_schema := 'dbo';
            target_name := 'OODALoopMetrics';
            gain := 0.5;
        END IF;

        -- another area's finding waits, New, for a cycle of its area
        CONTINUE WHEN action_type IS NOT NULL AND TargetArea IS NOT NULL AND TargetArea <> 'all'
                      AND TargetArea <> (SELECT c.Area FROM dbo.fn_AutonomousActionCatalog() c WHERE c.ActionType = action_type);
        -- not again on a target soon after a person rejected it (LOOP_REJECTION_COOLDOWN_DAYS), nor
        -- soon after it was reverted or failed there: LOOP_REVERT_COOLDOWN_HOURS, doubled each time
        IF action_type IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM dbo.AutonomousActions a
                           WHERE a.ActionType = action_type AND a.TargetSchema IS NOT DISTINCT FROM target_schema
                             AND a.TargetName IS NOT DISTINCT FROM target_name AND a.Status = 'Rejected'
                             AND a.DecidedAt >= now() - interval '{{ policy.LOOP_REJECTION_COOLDOWN_DAYS }} days')
           AND NOT EXISTS (SELECT 1 FROM (
                               SELECT max(coalesce(a.JudgedAt, a.DecidedAt, a.ProposedAt)) AS last_at, count(*) AS times
                               FROM dbo.AutonomousActions a
                               WHERE a.ActionType = action_type AND a.TargetSchema IS NOT DISTINCT FROM target_schema
                                 AND a.TargetName IS NOT DISTINCT FROM target_name AND a.Status IN ('Reverted', 'Failed')) r
                           WHERE r.times > 0
                             AND r.last_at >= now() - least(interval '{{ policy.LOOP_REVERT_COOLDOWN_HOURS }} hours' * power(2, r.times - 1),
                                                            interval '{{ policy.LOOP_REJECTION_COOLDOWN_DAYS }} days')) THEN
            SELECT c.KeptCount, c.FailedCount INTO kept, failed FROM dbo.AutonomousActionCatalog c WHERE c.ActionType = action_type;
            INSERT INTO dbo.AutonomousActions (CycleId, ObservationId, ActionType, TargetSchema, TargetName, TargetColumns,
                                               Parameters, Command, RevertCommand, ExpectedGain, Score, Reason)
            VALUES (obs.CycleId, obs.ObservationId, action_type, target_schema, target_name, target_columns, action_params,
                    dbo.fn_AutonomousActionStatement(action_type, target_schema, target_name, target_columns, action_params, 0::smallint),
                    dbo.fn_AutonomousActionStatement(action_type, target_schema, target_name, target_columns, action_params, 1::smallint),
                    round(gain::numeric, 4), dbo.fn_ScoreAction(action_type, gain, kept, failed),
                    format('%s on %s: %s (baseline %s)', obs.Kind, obs.TargetObject, obs.Metric, coalesce(obs.Baseline::text, '-')))
            ON CONFLICT (ActionType, coalesce(TargetSchema, ''), coalesce(TargetName, ''), coalesce(TargetColumns, '{}'))
                WHERE Status IN ('Proposed', 'AwaitingApproval', 'Approved', 'Executing', 'Applied', 'Reverting')
                DO NOTHING;
            IF FOUND THEN
                proposed := proposed + 1;
            END IF;
        END IF;
        UPDATE dbo.AutonomousObservations o SET Status = 'Considered' WHERE o.ObservationId = obs.ObservationId;
    END LOOP;

    INSERT INTO dbo.OODALoopMetrics (CycleId, Phase, DurationMs, Success, ItemsProcessed)
    VALUES (sp_Hypothesize.CycleId, 'Hypothesize', 1000 * extract(epoch FROM clock_timestamp() - started), 1, proposed);
END
$$;
