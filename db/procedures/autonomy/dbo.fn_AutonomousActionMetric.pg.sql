-- kind: function
-- requires: pgstattuple, dbo.AtomEmbeddings, dbo.Atoms, dbo.fn_ConceptDrift, dbo.InferenceRequests, dbo.BillingUsageLedger_InMemory, dbo.OODALoopMetrics
-- What a maintenance action should bring down, measured now (lower is better): rows changed since
-- ANALYZE, the empty share of an index's leaf pages, dead rows, embeddings without projection, embeddings outside the vector index, rows
-- past retention, the share of a concept type's atoms changed since its last discovery run (dbo.fn_ConceptDrift; TargetName
-- '<tenant>/<type>'). Creating and dropping an index are measured on their statements' mean time instead (sp_Act,
-- sp_Learn). NULL for an action type measured that way.
CREATE OR REPLACE FUNCTION dbo.fn_AutonomousActionMetric(ActionType text, TargetSchema text, TargetName text)
RETURNS double precision
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = dbo, public, pg_temp
AS $$
DECLARE
    value double precision;
BEGIN
    IF ActionType = 'analyze_table' THEN
        SELECT t.n_mod_since_analyze INTO value FROM pg_stat_user_tables t
        WHERE t.schemaname = TargetSchema AND t.relname = TargetName;
    ELSIF ActionType = 'reindex_index' THEN
        SELECT 100 - s.avg_leaf_density INTO value
        FROM pgstatindex(to_regclass(format('%I.%I', TargetSchema, TargetName))) s;
    ELSIF ActionType = 'vacuum_table' THEN
        SELECT t.n_dead_tup INTO value FROM pg_stat_user_tables t
        WHERE t.schemaname = TargetSchema AND t.relname = TargetName;
    ELSIF ActionType = 'refit_projections' THEN
        SELECT count(*) INTO value FROM dbo.AtomEmbeddings e
        WHERE e.EmbeddingType = TargetName AND (e.SpatialGeometry IS NULL OR e.VectorBucket IS NULL);
    ELSIF ActionType = 'rebuild_vector_index' THEN
        SELECT count(*) INTO value FROM dbo.AtomEmbeddings e JOIN dbo.Atoms a ON a.AtomId = e.AtomId
        WHERE NOT e.Indexed AND a.TenantId = TargetName::integer;
    ELSIF ActionType = 'recluster_concepts' AND strpos(TargetName, '/') > 1 THEN
        SELECT d.Share INTO value
        FROM dbo.fn_ConceptDrift(split_part(TargetName, '/', 1)::integer, substr(TargetName, strpos(TargetName, '/') + 1)) d;
    ELSIF ActionType = 'archive_inference_requests' THEN
        SELECT count(*) INTO value FROM dbo.InferenceRequests q
        WHERE q.StartTime < now() - interval '{{ policy.LOOP_REQUEST_RETENTION_DAYS }} days';
    ELSIF ActionType = 'archive_billing_usage' THEN
        SELECT count(*) INTO value FROM dbo.BillingUsageLedger_InMemory l
        WHERE l.RecordedAt < date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
    ELSIF ActionType = 'purge_loop_history' THEN
        SELECT count(*) INTO value FROM dbo.OODALoopMetrics m
        WHERE m.ExecutedAt < now() - interval '{{ policy.LOOP_HISTORY_RETENTION_DAYS }} days';
    END IF;
    RETURN value;
END
$$;
