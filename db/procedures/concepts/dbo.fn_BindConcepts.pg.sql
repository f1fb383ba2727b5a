-- kind: function
-- requires: dbo.Atoms, dbo.AtomEmbeddings, provenance.Concepts, provenance.AtomConcepts, dbo.sp_BindAtomConcepts, dbo.fn_ResolveTenant
-- Bind one atom of the tenant to the tenant's live concepts of each of its embedding types, without
-- clustering again (seed 003's fn_BindConcepts; hartonomous_ext.concepts.bind, the rule discovery
-- applies): every concept whose centroid is at least SimilarityThreshold close (cosine), at most
-- MaxConceptsPerAtom, nearest first and primary. Its memberships in those types' concepts are
-- replaced by these (BoundBy 'ingest'). dbo.sp_BindAtomConcepts does the work, for the ingests' atoms
-- too: the centroids are read in SQL and cross into Python as one value, one call per type:
-- milliseconds. Returns the atom's memberships in live concepts. An atom of another tenant, or one
-- without an embedding, is an error (22023); a type without concepts binds nothing.
--   SELECT * FROM dbo.fn_BindConcepts(42);
CREATE OR REPLACE FUNCTION dbo.fn_BindConcepts(
    AtomId bigint,
    SimilarityThreshold double precision DEFAULT {{ policy.CONCEPT_MEMBERSHIP_SIMILARITY }},
    MaxConceptsPerAtom integer DEFAULT {{ policy.CONCEPT_MAX_PER_ATOM }},
    TenantId integer DEFAULT NULL
)
RETURNS TABLE (ConceptId bigint, EmbeddingType text, Label text, Similarity double precision, IsPrimary boolean)
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = dbo, public, pg_temp
AS $$
DECLARE
    tenant constant integer := dbo.fn_ResolveTenant(fn_BindConcepts.TenantId, 'fn_BindConcepts');
BEGIN
    IF fn_BindConcepts.AtomId IS NULL THEN
        RAISE EXCEPTION 'fn_BindConcepts: AtomId is required' USING ERRCODE = '22023';
    END IF;
    IF fn_BindConcepts.SimilarityThreshold IS NULL OR NOT (fn_BindConcepts.SimilarityThreshold BETWEEN -1 AND 1) THEN
        RAISE EXCEPTION 'fn_BindConcepts: SimilarityThreshold is a cosine similarity between -1 and 1, not %',
            coalesce(fn_BindConcepts.SimilarityThreshold::text, 'NULL') USING ERRCODE = '22023';
    END IF;
    IF fn_BindConcepts.MaxConceptsPerAtom IS NULL OR fn_BindConcepts.MaxConceptsPerAtom < 1 THEN
        RAISE EXCEPTION 'fn_BindConcepts: MaxConceptsPerAtom must be at least 1, not %',
            coalesce(fn_BindConcepts.MaxConceptsPerAtom::text, 'NULL') USING ERRCODE = '22023';
    END IF;
    IF NOT EXISTS (SELECT FROM dbo.Atoms a WHERE a.AtomId = fn_BindConcepts.AtomId AND a.TenantId = tenant) THEN
        RAISE EXCEPTION 'fn_BindConcepts: atom % does not exist for tenant %', fn_BindConcepts.AtomId, tenant
            USING ERRCODE = '22023';
    END IF;
    IF NOT EXISTS (SELECT FROM dbo.AtomEmbeddings e WHERE e.AtomId = fn_BindConcepts.AtomId) THEN
        RAISE EXCEPTION 'fn_BindConcepts: atom % has no embedding to bind by', fn_BindConcepts.AtomId USING ERRCODE = '22023';
    END IF;
    PERFORM dbo.sp_BindAtomConcepts(ARRAY[fn_BindConcepts.AtomId], NULL, fn_BindConcepts.SimilarityThreshold,
                                    fn_BindConcepts.MaxConceptsPerAtom, tenant);
    RETURN QUERY
    SELECT ac.ConceptId, c.EmbeddingType, c.Label, ac.Similarity, ac.IsPrimary
    FROM provenance.AtomConcepts ac
    JOIN provenance.Concepts c ON c.ConceptId = ac.ConceptId
    WHERE ac.AtomId = fn_BindConcepts.AtomId AND c.TenantId = tenant AND c.RetiredAt IS NULL
    ORDER BY c.EmbeddingType, ac.IsPrimary DESC, ac.Similarity DESC, ac.ConceptId;
END
$$;
