-- kind: function
-- requires: dbo.Atoms, dbo.AtomEmbeddings, provenance.Concepts, provenance.AtomConcepts, dbo.fn_NearestConcepts, dbo.fn_RaiseClean
-- engine-specific: each engine's helper of dbo.fn_BindConcepts, dbo.sp_IngestAtom and dbo.sp_IngestAtoms; here the atoms come as an array and a discovery run is waited for as long as the session's lock_timeout allows (an error, which the ingests turn into a notice), where SQL Server's waits 5 s and skips the type
-- Bind the atoms AtomIds of tenant TenantId, which the caller has resolved and checked, to the
-- tenant's live concepts of their embedding types (EmbeddingType, or NULL for every type they
-- have), replacing their memberships in those types' concepts (BoundBy 'ingest'). One call into
-- Python per type for the whole set (dbo.fn_NearestConcepts, hartonomous_ext.concepts.bind_batch):
-- a batch of hundreds of atoms costs about what one does. Atoms of another tenant are left out. It
-- raises what fails (its caller decides: fn_BindConcepts refuses, the ingests keep their atoms).
-- No tenant role may call it.
CREATE OR REPLACE FUNCTION dbo.sp_BindAtomConcepts(
    AtomIds bigint[],
    EmbeddingType text,
    SimilarityThreshold double precision,
    MaxConceptsPerAtom integer,
    TenantId integer
)
RETURNS void
LANGUAGE plpgsql
VOLATILE
SET search_path = dbo, public, pg_temp
AS $$
DECLARE
    batch record;
    concept_ids bigint[];
    centroids bytea;
BEGIN
    FOR batch IN
        SELECT v.EmbeddingType, v.Dimension, array_agg(v.AtomId ORDER BY v.AtomId) AS atoms,
               array_agg(v.EmbeddingVector ORDER BY v.AtomId) AS vectors
        FROM (SELECT DISTINCT ON (e.AtomId, e.EmbeddingType) e.AtomId, e.EmbeddingType, e.Dimension, e.EmbeddingVector
              FROM dbo.AtomEmbeddings e
              JOIN dbo.Atoms a ON a.AtomId = e.AtomId AND a.TenantId = sp_BindAtomConcepts.TenantId
              WHERE e.AtomId = ANY (sp_BindAtomConcepts.AtomIds)
                AND (sp_BindAtomConcepts.EmbeddingType IS NULL OR e.EmbeddingType = sp_BindAtomConcepts.EmbeddingType)
              ORDER BY e.AtomId, e.EmbeddingType, e.AtomEmbeddingId) v
        GROUP BY v.EmbeddingType, v.Dimension
        ORDER BY v.EmbeddingType, v.Dimension
    LOOP
        -- a discovery run of the type replaces every membership: wait for it (it holds this lock exclusively)
        PERFORM pg_advisory_xact_lock_shared(hashtext('provenance.Concepts'),
                                             hashtext(sp_BindAtomConcepts.TenantId::text || '/' || batch.EmbeddingType));
        SELECT array_agg(c.ConceptId ORDER BY c.ConceptId), string_agg(c.Centroid, ''::bytea ORDER BY c.ConceptId)
        INTO concept_ids, centroids
        FROM provenance.Concepts c
        WHERE c.TenantId = sp_BindAtomConcepts.TenantId AND c.EmbeddingType = batch.EmbeddingType
          AND c.RetiredAt IS NULL AND c.Dimension = batch.Dimension;
        CONTINUE WHEN concept_ids IS NULL;
        DELETE FROM provenance.AtomConcepts ac USING provenance.Concepts c
        WHERE ac.AtomId = ANY (batch.atoms) AND c.ConceptId = ac.ConceptId
          AND c.TenantId = sp_BindAtomConcepts.TenantId AND c.EmbeddingType = batch.EmbeddingType;
        BEGIN
            INSERT INTO provenance.AtomConcepts (AtomId, ConceptId, Similarity, IsPrimary, BoundBy)
            SELECT batch.atoms[n.Item], concept_ids[n.Ordinal], n.Similarity, n.Rank = 1, 'ingest'
            FROM dbo.fn_NearestConcepts(batch.vectors, centroids, sp_BindAtomConcepts.SimilarityThreshold,
                                        sp_BindAtomConcepts.MaxConceptsPerAtom) n;
        EXCEPTION WHEN OTHERS THEN  -- the Python's error, as a caller reads it (dbo.fn_RaiseClean)
            PERFORM dbo.fn_RaiseClean('fn_BindConcepts', SQLERRM, SQLSTATE);
        END;
    END LOOP;
END
$$;
