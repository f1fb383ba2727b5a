-- kind: procedure
-- requires: dbo.sp_StoreAtom, dbo.fn_ResolveTenant, dbo.sp_BindAtomConcepts, provenance.Concepts, provenance.AtomConcepts, dbo.AtomEmbeddings
-- Ingest content as an atom of the session's tenant (dbo.sp_StoreAtom does the work). Its SHA-256 is
-- its identity within the tenant: the same content again returns the same AtomId and raises
-- ReferenceCount, also when many sessions ingest it at once. The modality follows the content type.
-- With @GenerateEmbedding, a text atom gets its embedding by the packaged all-MiniLM-L6-v2, or with
-- @ModelId by that stored model of the tenant, projected to its 3-D point and vector bucket when
-- landmarks are fitted; other atoms are stored without one, with a message saying so. An atom that
-- gets its embedding in this call (a new atom, or a stored one embedded now) and has no memberships
-- joins the concepts of its tenant of that type (dbo.sp_BindAtomConcepts, the rule of
-- dbo.fn_BindConcepts, no re-clustering) right after dbo.sp_StoreAtom commits it, in a transaction
-- of its own (sp_StoreAtom computes the embedding before it opens its own). Ingesting stored content
-- again does not bind it again (an outlier of the last discovery run has no memberships, and would
-- start Python on every ingest): the next discovery run places it.
-- Binding never fails the ingest: a bind error is rolled back (its own transaction; in a caller's,
-- the helper has written nothing yet, as it writes only after every type is computed: no savepoint,
-- which a transaction that wrote the memory-optimized billing ledger cannot take, error 12326) and
-- PRINTed, the atom is stored and unbound, and the next discovery run binds it; a discovery run holding the type's concepts past 5 s skips the bind (a message). Only a
-- caller's transaction the error doomed (an error that dooms whatever XACT_ABORT says; this procedure sets it OFF)
-- cannot be kept: error 50638 says so, and the caller's rollback takes the atom with it.
-- Metered (dbo.sp_ChargeUsage): the bytes of new content ('ingested_byte'; content already stored
-- costs nothing) and the embedding computed ('embedding'); past a quota it refuses before the work.
CREATE OR ALTER PROCEDURE dbo.sp_IngestAtom
    @Content VARBINARY(MAX),
    @ContentType NVARCHAR(4000),
    @Metadata NVARCHAR(MAX) = NULL,
    @TenantId INT = NULL,
    @GenerateEmbedding BIT = 0,
    @ModelId INT = NULL,
    @AtomId BIGINT = NULL OUTPUT
AS
BEGIN
    SET NOCOUNT ON;
    SET @AtomId = NULL; -- an OUTPUT parameter is also an input: never answer with the caller's value
    -- in this procedure (and what it calls) only: a bind error leaves a caller's transaction committable
    SET XACT_ABORT OFF;
    DECLARE @TenantRefusal NVARCHAR(400);  -- the session's tenant, or an administrator's choice (dbo.fn_ResolveTenant)
    SELECT @TenantId = r.TenantId, @TenantRefusal = r.Refusal FROM dbo.fn_ResolveTenant(@TenantId, N'sp_IngestAtom') AS r;
    IF @TenantRefusal IS NOT NULL
        THROW 50030, @TenantRefusal, 1;
    DECLARE @Outer INT = @@TRANCOUNT, @EmbeddingsBefore INT, @Message NVARCHAR(2048);
    -- the embeddings the content's atom has before this call (none when the atom is new)
    SELECT @EmbeddingsBefore = COUNT(*)
    FROM dbo.Atoms AS a
    INNER JOIN dbo.AtomEmbeddings AS e ON e.AtomId = a.AtomId
    WHERE a.TenantId = @TenantId AND a.ContentHash = CAST(HASHBYTES('SHA2_256', @Content) AS BINARY(32));
    EXEC dbo.sp_StoreAtom @Content = @Content, @ContentType = @ContentType, @Metadata = @Metadata,
        @TenantId = @TenantId, @GenerateEmbedding = @GenerateEmbedding, @ModelId = @ModelId, @Metered = 1,
        @AtomId = @AtomId OUTPUT;
    -- bind only what this call embedded: stored content ingested again is left to the discovery runs
    IF (SELECT COUNT(*) FROM dbo.AtomEmbeddings AS e WHERE e.AtomId = @AtomId) > @EmbeddingsBefore
       AND NOT EXISTS (SELECT 1 FROM provenance.AtomConcepts AS ac WHERE ac.AtomId = @AtomId)
       AND EXISTS (SELECT 1 FROM dbo.AtomEmbeddings AS e
                   INNER JOIN provenance.Concepts AS c ON c.TenantId = @TenantId AND c.EmbeddingType = e.EmbeddingType
                                                      AND c.RetiredAt IS NULL
                   WHERE e.AtomId = @AtomId)
    BEGIN
        -- outside a transaction the bind opens (and on error rolls back) its own; inside a caller's it
        -- writes last, one DELETE and one INSERT of an atom that had no memberships, so a failure
        -- leaves nothing of its own behind (XACT_ABORT OFF: the failed statement alone is undone)
        DECLARE @AtomIds NVARCHAR(40) = CONCAT(N'[', @AtomId, N']');  -- the helper binds a set of atoms
        BEGIN TRY
            EXEC dbo.sp_BindAtomConcepts @AtomIds = @AtomIds,
                @SimilarityThreshold = {{ policy.CONCEPT_MEMBERSHIP_SIMILARITY }},
                @MaxConceptsPerAtom = {{ policy.CONCEPT_MAX_PER_ATOM }}, @TenantId = @TenantId;
        END TRY
        BEGIN CATCH
            IF @Outer > 0 AND XACT_STATE() <> 1
            BEGIN
                -- doomed (-1: an error that dooms whatever XACT_ABORT says; this procedure sets it OFF):
                -- nothing can commit; or gone (0: a deadlock victim's whole
                -- transaction was rolled back). The stored atom cannot be kept: tell the caller why
                SET @Message = CONCAT(N'sp_IngestAtom: binding atom ', @AtomId, N' to its concepts failed (error ',
                                      ERROR_NUMBER(), N': ', ERROR_MESSAGE(), N') and ',
                                      CASE WHEN XACT_STATE() = -1 THEN N'doomed the caller''s transaction, which can only be rolled back'
                                           ELSE N'the caller''s transaction was rolled back' END,
                                      N', the stored atom with it');
                THROW 50638, @Message, 1;
            END;
            IF @Outer = 0 AND XACT_STATE() <> 0
                ROLLBACK TRANSACTION;  -- the bind's own (it rolls it back itself; this is in case it could not)
            SET @Message = CONCAT(N'sp_IngestAtom: atom ', @AtomId, N' is stored but not bound to its concepts (error ',
                                  ERROR_NUMBER(), N': ', ERROR_MESSAGE(), N'); the next concept discovery run binds it');
            PRINT @Message;
        END CATCH;
    END;
END;
