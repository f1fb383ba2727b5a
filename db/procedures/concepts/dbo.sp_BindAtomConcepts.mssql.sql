-- kind: procedure
-- requires: dbo.AtomEmbeddings, provenance.Concepts, provenance.AtomConcepts, hartonomous_ext
-- engine-specific: the work of dbo.fn_BindConcepts without its result set, so dbo.sp_IngestAtom can bind a new atom and still return no rows (PostgreSQL's sp_IngestAtom calls the function with PERFORM)
-- Bind atom @AtomId of tenant @TenantId, which the caller has resolved and checked, to the tenant's
-- live concepts of each of its embedding types (hartonomous_ext.concepts.bind), replacing its
-- memberships in those types' concepts (BoundBy 'ingest'). No tenant role may call it.
-- Transactions: called outside one, it opens its own (XACT_ABORT ON: an error rolls it all back,
-- then goes on); inside a caller's it opens none and leaves XACT_ABORT as the caller set it, so the
-- caller decides (dbo.sp_IngestAtom rolls back to a savepoint and keeps its atom).
-- Each type waits at most CONCEPT_BIND_LOCK_TIMEOUT_MS ({{ policy.CONCEPT_BIND_LOCK_TIMEOUT_MS }} ms) for a discovery run of the type (which holds the type's
-- lock exclusively for its whole run): past that, or refused the lock, the type is skipped with a
-- message, its memberships as they were (the run, or the next, binds the atom); @Skipped counts the
-- types skipped.
CREATE OR ALTER PROCEDURE dbo.sp_BindAtomConcepts
    @AtomId BIGINT,
    @SimilarityThreshold FLOAT,
    @MaxConceptsPerAtom INT,
    @TenantId INT,
    @Skipped INT = NULL OUTPUT
AS
BEGIN
    SET NOCOUNT ON;
    SET @Skipped = 0; -- an OUTPUT parameter is also an input: never answer with the caller's value
    DECLARE @Own BIT = CASE WHEN @@TRANCOUNT = 0 THEN 1 ELSE 0 END;
    DECLARE @Message NVARCHAR(2048), @Problem NVARCHAR(2048), @Bound NVARCHAR(MAX), @Resource NVARCHAR(255), @Lock INT;
    DECLARE @Type NVARCHAR(64) = N'', @Vector VARBINARY(MAX), @Dimension INT;
    -- the live concepts of one type at a time (the script's input reads this, as the caller)
    CREATE TABLE #centroids (ConceptId BIGINT PRIMARY KEY, Centroid VARBINARY(MAX) NOT NULL);
    IF @Own = 1
    BEGIN
        SET IMPLICIT_TRANSACTIONS OFF;
        SET XACT_ABORT ON;
        BEGIN TRANSACTION;
    END;
    BEGIN TRY
    WHILE 1 = 1
    BEGIN
        SELECT TOP (1) @Type = e.EmbeddingType, @Vector = e.EmbeddingVector, @Dimension = e.Dimension
        FROM dbo.AtomEmbeddings AS e
        WHERE e.AtomId = @AtomId AND e.EmbeddingType > @Type
        ORDER BY e.EmbeddingType, e.AtomEmbeddingId;
        IF @@ROWCOUNT = 0 BREAK;
        -- a discovery run of the type replaces every membership (it holds this lock exclusively for its
        -- whole run, Python included): wait a little, never for the run; refused (timeout -1, deadlock
        -- victim -3, ...), skip the type: the run, or the next one, binds the atom
        SET @Resource = CONCAT(N'provenance.Concepts/', @TenantId, N'/', @Type);
        EXEC @Lock = sys.sp_getapplock @Resource = @Resource, @LockMode = N'Shared', @LockOwner = N'Transaction',
            @LockTimeout = {{ policy.CONCEPT_BIND_LOCK_TIMEOUT_MS }};
        IF XACT_STATE() <> 1
            THROW 50636, N'fn_BindConcepts: the transaction was lost while waiting for the concepts lock (deadlock victim)', 1;
        IF @Lock < 0
        BEGIN
            SET @Skipped += 1;
            SET @Message = CONCAT(N'fn_BindConcepts: atom ', @AtomId, N' not bound to the ', @Type,
                                  N' concepts: a concept discovery run of the type holds them (sp_getapplock ', @Lock,
                                  N'); the next discovery run binds it');
            PRINT @Message;
            CONTINUE;
        END;
        TRUNCATE TABLE #centroids;
        INSERT INTO #centroids (ConceptId, Centroid)
        SELECT c.ConceptId, c.Centroid
        FROM provenance.Concepts AS c
        WHERE c.TenantId = @TenantId AND c.EmbeddingType = @Type AND c.RetiredAt IS NULL AND c.Dimension = @Dimension;
        IF @@ROWCOUNT = 0 CONTINUE;
        SELECT @Bound = NULL, @Problem = NULL;
        EXEC sys.sp_execute_external_script
            @language = N'Python',
            @script = N'
import json
from hartonomous_ext import concepts
# every OUTPUT parameter gets a value: one left unset (or None) stops BxlServer; empty reads back as NULL
bound, problem = "[]", ""
try:
    ids = list(InputDataSet["ConceptId"])
    chosen = concepts.bind(vector, [bytes(c) for c in InputDataSet["Centroid"]], float(threshold), int(max_concepts))
    bound = json.dumps([[ids[i], min(max(score, -1.0), 1.0), rank == 0] for rank, (i, score) in enumerate(chosen)])
except ValueError as exc:
    problem = str(exc)
',
            @input_data_1 = N'SELECT CAST(ConceptId AS VARCHAR(20)) AS ConceptId, Centroid FROM #centroids ORDER BY ConceptId',
            @params = N'@vector VARBINARY(MAX), @threshold FLOAT, @max_concepts INT, @bound NVARCHAR(MAX) OUTPUT,
                        @problem NVARCHAR(2048) OUTPUT',
            @vector = @Vector, @threshold = @SimilarityThreshold, @max_concepts = @MaxConceptsPerAtom,
            @bound = @Bound OUTPUT, @problem = @Problem OUTPUT
        WITH RESULT SETS NONE;
        SET @Problem = NULLIF(@Problem, N'');
        IF @Problem IS NOT NULL
        BEGIN
            SET @Message = CONCAT(N'fn_BindConcepts: ', @Problem);
            THROW 50635, @Message, 1;
        END;
        DELETE ac
        FROM provenance.AtomConcepts AS ac
        INNER JOIN provenance.Concepts AS c ON c.ConceptId = ac.ConceptId
        WHERE ac.AtomId = @AtomId AND c.TenantId = @TenantId AND c.EmbeddingType = @Type;
        INSERT INTO provenance.AtomConcepts (AtomId, ConceptId, Similarity, IsPrimary, BoundBy)
        SELECT @AtomId, b.ConceptId, b.Similarity, b.IsPrimary, N'ingest'
        FROM OPENJSON(@Bound) WITH (ConceptId BIGINT '$[0]', Similarity FLOAT '$[1]', IsPrimary BIT '$[2]') AS b;
    END;
    IF @Own = 1
        COMMIT TRANSACTION;
    END TRY
    BEGIN CATCH
        -- its own transaction ends here, so the caller's count is as it was (no error 266);
        -- a caller's transaction is the caller's to roll back (to its savepoint, or whole)
        IF @Own = 1 AND XACT_STATE() <> 0
            ROLLBACK TRANSACTION;
        THROW;
    END CATCH;
END;
