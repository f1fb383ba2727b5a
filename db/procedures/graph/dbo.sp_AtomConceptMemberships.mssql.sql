-- kind: procedure
-- requires: provenance.AtomConcepts, provenance.Concepts, dbo.Atoms, dbo.fn_ResolveTenant
-- Which concepts is this atom part of: its memberships as concept discovery and binding wrote them
-- (provenance.AtomConcepts, the one record of them: the provenance graph does not copy them into
-- edges), with each live concept's label and embedding type, the primary first, then by similarity
-- (ConceptId, Label, EmbeddingType, Similarity, IsPrimary). The session's tenant only; an atom it
-- does not have is an error.
--   EXEC dbo.sp_AtomConceptMemberships @AtomId = 42;
CREATE OR ALTER PROCEDURE dbo.sp_AtomConceptMemberships
    @AtomId BIGINT,
    @TenantId INT = NULL
AS
BEGIN
    SET NOCOUNT ON;
    DECLARE @TenantRefusal NVARCHAR(400);  -- the session's tenant, or an administrator's choice (dbo.fn_ResolveTenant)
    SELECT @TenantId = r.TenantId, @TenantRefusal = r.Refusal
    FROM dbo.fn_ResolveTenant(@TenantId, N'sp_AtomConceptMemberships') AS r;
    IF @TenantRefusal IS NOT NULL
        THROW 50030, @TenantRefusal, 1;
    DECLARE @Message NVARCHAR(2048);
    IF NOT EXISTS (SELECT 1 FROM dbo.Atoms AS a WHERE a.AtomId = @AtomId AND a.TenantId = @TenantId)
    BEGIN
        SET @Message = CONCAT(N'sp_AtomConceptMemberships: atom ', COALESCE(CONVERT(NVARCHAR(20), @AtomId), N'NULL'),
                              N' does not exist for tenant ', @TenantId);
        THROW 51660, @Message, 1;
    END;
    SELECT c.ConceptId, c.Label, c.EmbeddingType, ac.Similarity, ac.IsPrimary
    FROM provenance.AtomConcepts AS ac
    INNER JOIN provenance.Concepts AS c ON c.ConceptId = ac.ConceptId AND c.TenantId = @TenantId AND c.RetiredAt IS NULL
    WHERE ac.AtomId = @AtomId
    ORDER BY ac.IsPrimary DESC, ac.Similarity DESC, c.ConceptId;
END;
