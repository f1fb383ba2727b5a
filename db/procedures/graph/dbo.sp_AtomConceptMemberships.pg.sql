-- kind: function
-- requires: provenance.AtomConcepts, provenance.Concepts, dbo.Atoms, dbo.fn_ResolveTenant
-- Which concepts is this atom part of: its memberships as concept discovery and binding wrote them
-- (provenance.AtomConcepts, the one record of them: the provenance graph does not copy them into
-- edges), with each live concept's label and embedding type, the primary first, then by similarity.
-- The session's tenant only; an atom it does not have is an error.
--   SELECT * FROM dbo.sp_AtomConceptMemberships(AtomId => 42);
CREATE OR REPLACE FUNCTION dbo.sp_AtomConceptMemberships(
    AtomId bigint,
    TenantId integer DEFAULT NULL
)
RETURNS TABLE (ConceptId bigint, Label text, EmbeddingType text, Similarity double precision, IsPrimary boolean)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = dbo, public, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    tenant integer;
BEGIN
    tenant := dbo.fn_ResolveTenant(sp_AtomConceptMemberships.TenantId, 'sp_AtomConceptMemberships');
    IF NOT EXISTS (SELECT FROM dbo.Atoms a WHERE a.AtomId = sp_AtomConceptMemberships.AtomId AND a.TenantId = tenant) THEN
        RAISE EXCEPTION 'sp_AtomConceptMemberships: atom % does not exist for tenant %',
            coalesce(sp_AtomConceptMemberships.AtomId::text, 'NULL'), tenant USING ERRCODE = '22023';
    END IF;
    RETURN QUERY
    SELECT c.ConceptId, c.Label, c.EmbeddingType, ac.Similarity, ac.IsPrimary
    FROM provenance.AtomConcepts ac
    JOIN provenance.Concepts c ON c.ConceptId = ac.ConceptId AND c.TenantId = tenant AND c.RetiredAt IS NULL
    WHERE ac.AtomId = sp_AtomConceptMemberships.AtomId
    ORDER BY ac.IsPrimary DESC, ac.Similarity DESC, c.ConceptId;
END
$$;
