-- kind: function
-- requires: dbo.IngestionJobs, dbo.Atoms, dbo.AtomEmbeddings
-- How much a tenant's embeddings of one type changed since its last completed concept discovery
-- run (dbo.IngestionJobs, JobType 'concept-discovery', Source the type): the atoms whose first
-- embedding of the type came after the run started (Added: new atoms are bound to the old concepts
-- at ingest, never clustered, so a new topic among them has no concept until a run) and the run's
-- atoms deleted since (Removed: the run's count less the atoms still there that it saw), their sum
-- as a share of the run's atoms (Share). Counts, not memberships: the run's outliers have none and
-- would never let the share reach 0. Read from the atoms and embeddings alone (one pass over the
-- tenant's embeddings of the type), so a completed run brings it to 0. No row without a completed
-- run. sp_Analyze's concept_drift and the recluster_concepts action's metric
-- (dbo.fn_AutonomousActionMetric) are this; Parameters is the run's row (what it was called with).
-- PL/pgSQL, not SQL: its body is resolved when it runs, as the loop's other routines', not at creation.
CREATE OR REPLACE FUNCTION dbo.fn_ConceptDrift(TenantId integer, EmbeddingType text)
RETURNS TABLE (DiscoveryRunId bigint, RunAtoms bigint, Atoms bigint, Added bigint, Removed bigint,
               Share double precision, RunStartedAt timestamptz, Parameters jsonb)
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = dbo, public, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    SELECT r.IngestionJobId, r.AtomsProcessed, n.Atoms, n.Added, v.Removed,
           (n.Added + v.Removed)::double precision / nullif(r.AtomsProcessed, 0), r.StartTime, r.Parameters
    FROM (SELECT j.IngestionJobId, j.AtomsProcessed, j.StartTime, j.Parameters
          FROM dbo.IngestionJobs j
          WHERE j.TenantId = fn_ConceptDrift.TenantId AND j.JobType = 'concept-discovery' AND j.Status = 'Completed'
            AND j.Source = fn_ConceptDrift.EmbeddingType
          ORDER BY j.IngestionJobId DESC
          LIMIT 1) r
    CROSS JOIN LATERAL (
        SELECT count(*) AS Atoms, count(*) FILTER (WHERE f.FirstAt >= r.StartTime) AS Added
        FROM (SELECT min(e.CreatedAt) AS FirstAt
              FROM dbo.AtomEmbeddings e JOIN dbo.Atoms a ON a.AtomId = e.AtomId
              WHERE a.TenantId = fn_ConceptDrift.TenantId AND e.EmbeddingType = fn_ConceptDrift.EmbeddingType
              GROUP BY e.AtomId) f) n
    CROSS JOIN LATERAL (SELECT greatest(r.AtomsProcessed - (n.Atoms - n.Added), 0) AS Removed) v;
END
$$;
