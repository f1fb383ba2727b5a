-- kind: function
-- The statement an action runs (Revert = 1: the one that undoes it), built from its typed columns
-- with quoted identifiers and literals: what sp_Act and sp_Learn execute and what
-- dbo.AutonomousActions.Command shows are the same text, and no stored text is ever executed.
CREATE OR REPLACE FUNCTION dbo.fn_AutonomousActionStatement(
    ActionType text, TargetSchema text, TargetName text, TargetColumns text[], Parameters jsonb, Revert smallint DEFAULT 0)
RETURNS text
LANGUAGE plpgsql
STABLE
SET search_path = dbo, public, pg_temp
AS $$
DECLARE
    cols text;
BEGIN
    IF ActionType = 'create_index' THEN
        IF Revert = 1 THEN
            RETURN format('DROP INDEX CONCURRENTLY IF EXISTS %I.%I', TargetSchema, TargetName);
        END IF;
        SELECT string_agg(quote_ident(c), ', ' ORDER BY n) INTO cols FROM unnest(TargetColumns) WITH ORDINALITY AS u (c, n);
        RETURN format('CREATE INDEX CONCURRENTLY IF NOT EXISTS %I ON %I.%I (%s)', TargetName, TargetSchema,
                      Parameters->>'table', cols);
    ELSIF ActionType = 'drop_index' THEN
        IF Revert = 1 THEN
            -- the index as the catalog defined it when the action was proposed, built online again
            RETURN regexp_replace(Parameters->>'definition', '^CREATE (UNIQUE )?INDEX ', 'CREATE \1INDEX CONCURRENTLY IF NOT EXISTS ');
        END IF;
        RETURN format('DROP INDEX CONCURRENTLY IF EXISTS %I.%I', TargetSchema, TargetName);
    ELSIF Revert = 1 THEN
        RETURN NULL;
    ELSIF ActionType = 'reindex_index' THEN
        RETURN format('REINDEX INDEX CONCURRENTLY %I.%I', TargetSchema, TargetName);
    ELSIF ActionType = 'analyze_table' THEN
        RETURN format('ANALYZE %I.%I', TargetSchema, TargetName);
    ELSIF ActionType = 'vacuum_table' THEN
        RETURN format('VACUUM (ANALYZE) %I.%I', TargetSchema, TargetName);
    ELSIF ActionType = 'refit_projections' THEN
        RETURN format('CALL dbo.sp_RecomputeAllSpatialProjections(EmbeddingType => %L)', TargetName);
    ELSIF ActionType = 'rebuild_vector_index' THEN
        RETURN format('CALL dbo.sp_BuildVectorIndex(TenantId => %s, Mode => %L)', TargetName::integer, 'rebuild');
    ELSIF ActionType = 'recluster_concepts' THEN
        -- the previous run's parameters, each through its type and quoted; one column, as the online
        -- session reads a statement's result. Without a tenant or type nothing (never a run for
        -- whatever tenant the session resolves to)
        IF (Parameters->>'tenant') IS NULL OR (Parameters->>'type') IS NULL THEN
            RETURN NULL;
        END IF;
        RETURN format('SELECT count(*) FROM dbo.fn_DiscoverConcepts(MinClusterSize => %L, CoherenceThreshold => %L, '
                      'MaxConcepts => %L, TenantId => %L, EmbeddingType => %L)',
                      (Parameters->>'min_cluster_size')::integer, (Parameters->>'coherence_threshold')::double precision,
                      (Parameters->>'max_concepts')::integer, (Parameters->>'tenant')::integer, Parameters->>'type');
    ELSIF ActionType = 'archive_inference_requests' THEN
        RETURN 'SELECT * FROM dbo.sp_ArchiveInferenceRequests()';
    ELSIF ActionType = 'archive_billing_usage' THEN
        RETURN 'SELECT * FROM dbo.sp_ArchiveBillingUsage()';
    ELSIF ActionType = 'purge_loop_history' THEN
        RETURN 'SELECT * FROM dbo.sp_PurgeAutonomousHistory()';
    END IF;
    RAISE EXCEPTION 'fn_AutonomousActionStatement: % is not in the action catalog', ActionType USING ERRCODE = '22023';
END
$$;
