-- kind: procedure
-- requires: dbo.sp_StoreAtom, dbo.fn_ResolveTenant
-- Ingest content as an atom of the session's tenant (dbo.sp_StoreAtom does the work). Its SHA-256 is
-- its identity within the tenant: the same content again returns the same AtomId and raises
-- ReferenceCount, also when many sessions ingest it at once. The modality follows the content type.
-- With GenerateEmbedding (1/0 or true/false), a text atom gets its embedding by the packaged
-- all-MiniLM-L6-v2, or with ModelId by that stored model of the tenant, projected to its 3-D point and
-- vector bucket when landmarks are fitted; other atoms are stored without one, with a notice. A new
-- embedding is searchable at once.
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
BEGIN
    AtomId := NULL;  -- an INOUT parameter is also an input: never answer with the caller's value
    CALL dbo.sp_StoreAtom(Content, ContentType, Metadata, dbo.fn_ResolveTenant(TenantId, 'sp_IngestAtom'),
                          GenerateEmbedding, ModelId, true, AtomId);
END
$$;
