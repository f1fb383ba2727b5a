-- kind: procedure
-- requires: dbo.Atoms, dbo.AtomEmbeddings, provenance.Concepts, provenance.AtomConcepts, dbo.sp_BindAtomConcepts, dbo.fn_ResolveTenant
-- Bind one atom of the tenant to the tenant's live concepts of each of its embedding types, without
-- clustering again (seed 003's fn_BindConcepts; hartonomous_ext.concepts.bind, the rule discovery
-- applies): every concept whose centroid is at least @SimilarityThreshold close (cosine), at most
-- @MaxConceptsPerAtom, nearest first and primary. Its memberships in those types' concepts are
-- replaced by these (BoundBy 'ingest'); dbo.sp_IngestAtom calls it for a new atom. A procedure under
-- the seeds' function name (a SQL Server function cannot run Python), with PostgreSQL's parameters;
-- returns ConceptId, EmbeddingType, Label, Similarity, IsPrimary for the atom's live memberships.
-- Errors: bad arguments (50630-50632), an atom of another tenant (50633) or without an embedding (50634),
-- and a type whose concepts a discovery run held past sp_BindAtomConcepts's 5 s wait (50637: the
-- atom's other types are bound; call again, or let the run bind it). It sets no XACT_ABORT: called
-- outside a transaction sp_BindAtomConcepts binds in one of its own, all or nothing; inside a
-- caller's, its refusals leave that transaction committable (unless the caller set XACT_ABORT ON).
CREATE OR ALTER PROCEDURE dbo.fn_BindConcepts
    @AtomId BIGINT,
    @SimilarityThreshold FLOAT = {{ policy.CONCEPT_MEMBERSHIP_SIMILARITY }},
    @MaxConceptsPerAtom INT = {{ policy.CONCEPT_MAX_PER_ATOM }},
    @TenantId INT = NULL
AS
BEGIN
    SET NOCOUNT ON;
    DECLARE @TenantRefusal NVARCHAR(400);  -- the session's tenant, or an administrator's choice (dbo.fn_ResolveTenant)
    SELECT @TenantId = r.TenantId, @TenantRefusal = r.Refusal FROM dbo.fn_ResolveTenant(@TenantId, N'fn_BindConcepts') AS r;
    IF @TenantRefusal IS NOT NULL
        THROW 50030, @TenantRefusal, 1;
    DECLARE @Message NVARCHAR(2048), @Skipped INT;
    IF @AtomId IS NULL
        THROW 50630, N'fn_BindConcepts: AtomId is required', 1;
    IF @SimilarityThreshold IS NULL OR NOT (@SimilarityThreshold BETWEEN -1 AND 1)
    BEGIN
        SET @Message = CONCAT(N'fn_BindConcepts: SimilarityThreshold is a cosine similarity between -1 and 1, not ',
                              COALESCE(CONVERT(NVARCHAR(40), @SimilarityThreshold), N'NULL'));
        THROW 50631, @Message, 1;
    END;
    IF @MaxConceptsPerAtom IS NULL OR @MaxConceptsPerAtom < 1
    BEGIN
        SET @Message = CONCAT(N'fn_BindConcepts: MaxConceptsPerAtom must be at least 1, not ',
                              COALESCE(CONVERT(NVARCHAR(20), @MaxConceptsPerAtom), N'NULL'));
        THROW 50632, @Message, 1;
    END;
    IF NOT EXISTS (SELECT 1 FROM dbo.Atoms AS a WHERE a.AtomId = @AtomId AND a.TenantId = @TenantId)
    BEGIN
        SET @Message = CONCAT(N'fn_BindConcepts: atom ', @AtomId, N' does not exist for tenant ', @TenantId);
        THROW 50633, @Message, 1;
    END;
    IF NOT EXISTS (SELECT 1 FROM dbo.AtomEmbeddings AS e WHERE e.AtomId = @AtomId)
    BEGIN
        SET @Message = CONCAT(N'fn_BindConcepts: atom ', @AtomId, N' has no embedding to bind by');
        THROW 50634, @Message, 1;
    END;
    DECLARE @AtomIds NVARCHAR(40) = CONCAT(N'[', @AtomId, N']');  -- the helper binds a set of atoms
    EXEC dbo.sp_BindAtomConcepts @AtomIds = @AtomIds, @SimilarityThreshold = @SimilarityThreshold,
        @MaxConceptsPerAtom = @MaxConceptsPerAtom, @TenantId = @TenantId, @Skipped = @Skipped OUTPUT;
    IF @Skipped > 0
    BEGIN
        SET @Message = CONCAT(N'fn_BindConcepts: atom ', @AtomId, N' was not bound to the concepts of ', @Skipped,
                              N' of its embedding types: a concept discovery run holds them; try again when it ends');
        THROW 50637, @Message, 1;
    END;
    SELECT ac.ConceptId, c.EmbeddingType, c.Label, ac.Similarity, ac.IsPrimary
    FROM provenance.AtomConcepts AS ac
    INNER JOIN provenance.Concepts AS c ON c.ConceptId = ac.ConceptId
    WHERE ac.AtomId = @AtomId AND c.TenantId = @TenantId AND c.RetiredAt IS NULL
    ORDER BY c.EmbeddingType, ac.IsPrimary DESC, ac.Similarity DESC, ac.ConceptId;
END;
