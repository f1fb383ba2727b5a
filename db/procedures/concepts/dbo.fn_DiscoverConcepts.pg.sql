-- kind: function
-- requires: dbo.fn_RunConceptDiscovery, dbo.fn_CheckConceptDiscovery, dbo.fn_ResolveTenant, dbo.fn_RaiseClean
-- Concept discovery over the tenant's embeddings of one type (seed 003's fn_DiscoverConcepts;
-- hartonomous_ext.concepts: PCA, HDBSCAN on the k-nearest-neighbour graph, k-means rounds from its
-- dense cores, c-TF-IDF labels from the members' text; bench/results/concepts.md measures it).
-- MinClusterSize: the fewest atoms a concept may start from (NULL: {{ policy.CONCEPT_MIN_CLUSTER_SIZE }}, or one per
-- {{ policy.CONCEPT_ATOMS_PER_MIN_CLUSTER }} atoms when more); CoherenceThreshold: the least mean cosine of a concept's atoms to its
-- centroid (0..1); MaxConcepts: the most kept, the largest; EmbeddingType: the type clustered (the
-- packaged model's by default; SQL Server's procedure takes the same parameters).
-- Writes, in the caller's transaction: provenance.Concepts (a concept matched to one of the previous
-- run keeps its ConceptId and is updated in place; new ones are inserted; the previous ones no
-- concept continues are retired), provenance.AtomConcepts (the type's memberships, replaced),
-- provenance.ConceptEvolution (born, grown, shrunk, stable, merged, split, gone) and the run's row in
-- dbo.IngestionJobs (JobType 'concept-discovery': atoms, seconds per stage, counts). Returns one row
-- per live concept, largest first, with what this run did to it. Bad arguments, or a tenant with
-- no embeddings of the type, are errors (22023) and write nothing. Everything is in the caller's
-- transaction, the job row too: to see a long run's progress from another session, a DBA CALLs
-- dbo.sp_DiscoverConcepts instead (the same run, committing as it goes).
--   SELECT * FROM dbo.fn_DiscoverConcepts(NULL, 0.4, 100);
CREATE OR REPLACE FUNCTION dbo.fn_DiscoverConcepts(
    MinClusterSize integer DEFAULT NULL,
    CoherenceThreshold double precision DEFAULT {{ policy.CONCEPT_COHERENCE_THRESHOLD }},
    MaxConcepts integer DEFAULT {{ policy.CONCEPT_MAX_CONCEPTS }},
    TenantId integer DEFAULT NULL,
    EmbeddingType text DEFAULT 'all-MiniLM-L6-v2'
)
RETURNS TABLE (ConceptId bigint, Label text, Size integer, Coherence double precision, EventType text)
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = dbo, public, pg_temp
AS $$
DECLARE
    tenant constant integer := dbo.fn_ResolveTenant(fn_DiscoverConcepts.TenantId, 'fn_DiscoverConcepts');
BEGIN
    PERFORM dbo.fn_CheckConceptDiscovery('fn_DiscoverConcepts', fn_DiscoverConcepts.MinClusterSize,
        fn_DiscoverConcepts.CoherenceThreshold, fn_DiscoverConcepts.MaxConcepts, fn_DiscoverConcepts.EmbeddingType);
    BEGIN
        RETURN QUERY
        SELECT r.ConceptId, r.Label, r.Size, r.Coherence, r.EventType
        FROM dbo.fn_RunConceptDiscovery(tenant, fn_DiscoverConcepts.EmbeddingType, fn_DiscoverConcepts.MinClusterSize,
                                        fn_DiscoverConcepts.CoherenceThreshold, fn_DiscoverConcepts.MaxConcepts) r;
    EXCEPTION WHEN OTHERS THEN  -- the Python's error, as a caller reads it (dbo.fn_RaiseClean)
        PERFORM dbo.fn_RaiseClean('fn_DiscoverConcepts', SQLERRM, SQLSTATE);
    END;
END
$$;
