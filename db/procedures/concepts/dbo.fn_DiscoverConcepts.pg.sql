-- kind: function
-- requires: dbo.fn_RunConceptDiscovery, dbo.fn_ResolveTenant, dbo.fn_RaiseClean
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
-- no embeddings of the type, are errors (22023) and write nothing.
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
    IF fn_DiscoverConcepts.MinClusterSize < 2 THEN
        RAISE EXCEPTION 'fn_DiscoverConcepts: MinClusterSize must be at least 2 (NULL: the default), not %',
            fn_DiscoverConcepts.MinClusterSize USING ERRCODE = '22023';
    END IF;
    IF fn_DiscoverConcepts.CoherenceThreshold IS NULL OR NOT (fn_DiscoverConcepts.CoherenceThreshold BETWEEN 0 AND 1) THEN
        RAISE EXCEPTION 'fn_DiscoverConcepts: CoherenceThreshold is a mean cosine between 0 and 1, not %',
            coalesce(fn_DiscoverConcepts.CoherenceThreshold::text, 'NULL') USING ERRCODE = '22023';
    END IF;
    IF fn_DiscoverConcepts.MaxConcepts IS NULL OR fn_DiscoverConcepts.MaxConcepts < 1 THEN
        RAISE EXCEPTION 'fn_DiscoverConcepts: MaxConcepts must be at least 1, not %',
            coalesce(fn_DiscoverConcepts.MaxConcepts::text, 'NULL') USING ERRCODE = '22023';
    END IF;
    IF fn_DiscoverConcepts.EmbeddingType IS NULL OR length(fn_DiscoverConcepts.EmbeddingType) NOT BETWEEN 1 AND 64 THEN
        RAISE EXCEPTION 'fn_DiscoverConcepts: EmbeddingType must name a type of 1 to 64 characters' USING ERRCODE = '22023';
    END IF;
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
