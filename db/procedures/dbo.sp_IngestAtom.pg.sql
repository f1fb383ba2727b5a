-- kind: procedure
-- requires: dbo.sp_StoreAtom, dbo.fn_ResolveTenant, dbo.fn_BindConcepts, provenance.Concepts, provenance.AtomConcepts
-- Ingest content as an atom of the session's tenant (dbo.sp_StoreAtom does the work). Its SHA-256 is
-- its identity within the tenant: the same content again returns the same AtomId and raises
-- ReferenceCount, also when many sessions ingest it at once. The modality follows the content type.
-- With GenerateEmbedding (1/0 or true/false), a text atom gets its embedding by the packaged
-- all-MiniLM-L6-v2, or with ModelId by that stored model of the tenant, projected to its 3-D point and
-- vector bucket when landmarks are fitted; other atoms are stored without one, with a notice. A new
-- embedding is searchable at once, and a new atom with an embedding of a type its tenant has concepts
-- of joins them (dbo.fn_BindConcepts, no re-clustering) in the same transaction; a bind that fails
-- leaves the atom stored and unbound, with a notice.
-- Metered (dbo.sp_ChargeUsage): the bytes of new content ('ingested_byte'; content already stored
-- costs nothing) and the embedding computed ('embedding'); past a quota it refuses before the work.
-- CALL dbo.sp_IngestAtom(content, 'text/plain') returns the AtomId as the row of its INOUT parameter;
-- the seeds' call runs as CALL dbo.sp_IngestAtom(Content => ..., ..., GenerateEmbedding => 1, AtomId => NULL).
CREATE OR REPLACE PROCEDURE dbo.sp_IngestAtom(
    Content bytea,
    ContentType text,
    Metadata jsonb DEFAULT NULL,
    TenantId integer DEFAULT NULL,
    GenerateEmbedding anycompatible DEFAULT false,
    ModelId integer DEFAULT NULL,
    INOUT AtomId bigint DEFAULT NULL
)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = dbo, public, pg_temp
AS $$
DECLARE
    tenant integer;
BEGIN
    AtomId := NULL;  -- an INOUT parameter is also an input: never answer with the caller's value
    tenant := dbo.fn_ResolveTenant(TenantId, 'sp_IngestAtom');
    CALL dbo.sp_StoreAtom(Content, ContentType, Metadata, tenant, GenerateEmbedding, ModelId, true, AtomId);
    -- an atom with no memberships yet (new, or stored before its tenant had concepts) whose
    -- embedding's type has live concepts: bind it now, so it is in its concepts before the next run
    IF NOT EXISTS (SELECT FROM provenance.AtomConcepts ac WHERE ac.AtomId = sp_IngestAtom.AtomId)
       AND EXISTS (SELECT FROM dbo.AtomEmbeddings e
                   JOIN provenance.Concepts c ON c.TenantId = tenant AND c.EmbeddingType = e.EmbeddingType
                                             AND c.RetiredAt IS NULL
                   WHERE e.AtomId = sp_IngestAtom.AtomId) THEN
        -- a bind that fails never fails the ingest (SQL Server's twin alike): the atom stays stored,
        -- unbound, and the next discovery run places it
        BEGIN
            PERFORM dbo.fn_BindConcepts(sp_IngestAtom.AtomId, TenantId => tenant);
        EXCEPTION WHEN OTHERS THEN
            RAISE NOTICE 'sp_IngestAtom: atom % is stored but not bound to its concepts: %', sp_IngestAtom.AtomId, SQLERRM;
        END;
    END IF;
END
$$;
