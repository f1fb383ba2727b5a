-- kind: procedure
-- requires: dbo.Atoms, dbo.AtomEmbeddings, provenance.Concepts, provenance.AtomConcepts, hartonomous_ext
-- engine-specific: each engine's helper of dbo.fn_BindConcepts, dbo.sp_IngestAtom and dbo.sp_IngestAtoms; here the work of fn_BindConcepts without its result set (sp_IngestAtom returns no rows), the atoms as a JSON array (a procedure takes no array), and a discovery run waited for 5 s and then skipped
-- Bind the atoms @AtomIds (a JSON array of AtomIds) of tenant @TenantId, which the caller has
-- resolved and checked, to the tenant's live concepts of their embedding types (@EmbeddingType, or
-- NULL for every type they have), replacing their memberships in those types' concepts (BoundBy
-- 'ingest'). One external script call per type for the whole set
-- (hartonomous_ext.concepts.bind_batch): SQL Server starts Python in tens of milliseconds, so a
-- batch of hundreds of atoms costs about what one does. Atoms of another tenant are left out. No
-- tenant role may call it.
-- Every type is computed (locks taken, Python run) before anything is written, and the memberships
-- are then replaced in one DELETE and one INSERT: a refusal or a failed script writes nothing, so a
-- caller inside a transaction that cannot take a savepoint (one that wrote the memory-optimized
-- billing ledger: error 12326, as dbo.sp_IngestAtoms' has) has nothing of the bind to undo.
-- Transactions: called outside one, it opens its own (XACT_ABORT ON: an error rolls it all back,
-- then goes on); inside a caller's it opens none and leaves XACT_ABORT as the caller set it, so the
-- caller decides.
-- Each type waits at most CONCEPT_BIND_LOCK_TIMEOUT_MS ({{ policy.CONCEPT_BIND_LOCK_TIMEOUT_MS }} ms) for a discovery run of the type (which holds the type's
-- lock exclusively for its whole run): past that, or refused the lock, the type is skipped with a
-- message, its atoms' memberships as they were (the run, or the next, binds them); @Skipped counts
-- the atoms' types skipped (for one atom: its types skipped).
CREATE OR ALTER PROCEDURE dbo.sp_BindAtomConcepts
    @AtomIds NVARCHAR(MAX),
    @SimilarityThreshold FLOAT,
    @MaxConceptsPerAtom INT,
    @TenantId INT,
    @EmbeddingType NVARCHAR(64) = NULL,
    @Skipped INT = NULL OUTPUT
AS
BEGIN
    SET NOCOUNT ON;
    SET @Skipped = 0; -- an OUTPUT parameter is also an input: never answer with the caller's value
    DECLARE @Own BIT = CASE WHEN @@TRANCOUNT = 0 THEN 1 ELSE 0 END;
    DECLARE @Message NVARCHAR(2048), @Problem NVARCHAR(2048), @Bound NVARCHAR(MAX), @Resource NVARCHAR(255), @Lock INT;
    DECLARE @Group INT = 0, @Type NVARCHAR(64), @Dimension INT, @Atoms INT;
    -- each atom's first embedding of each type, in groups of one type and dimension
    CREATE TABLE #bind_vectors (
        EmbeddingType NVARCHAR(64) COLLATE DATABASE_DEFAULT NOT NULL, Dimension INT NOT NULL, AtomId BIGINT NOT NULL,
        Vector VARBINARY(MAX) NOT NULL,
        PRIMARY KEY (EmbeddingType, Dimension, AtomId));
    CREATE TABLE #bind_groups (
        GroupId INT IDENTITY(1, 1) PRIMARY KEY, EmbeddingType NVARCHAR(64) COLLATE DATABASE_DEFAULT NOT NULL, Dimension INT NOT NULL,
        Atoms INT NOT NULL, Computed BIT NOT NULL DEFAULT 0);
    -- one group's live concepts and vectors: the script's one input data set (Kind 'c' or 'a')
    CREATE TABLE #bind_input (Kind CHAR(1) NOT NULL, Id BIGINT NOT NULL, Vector VARBINARY(MAX) NOT NULL, PRIMARY KEY (Kind, Id));
    CREATE TABLE #bind_result (AtomId BIGINT NOT NULL, ConceptId BIGINT NOT NULL, Similarity FLOAT NOT NULL,
                               IsPrimary BIT NOT NULL, PRIMARY KEY (AtomId, ConceptId));
    IF @Own = 1
    BEGIN
        SET IMPLICIT_TRANSACTIONS OFF;
        SET XACT_ABORT ON;
        BEGIN TRANSACTION;
    END;
    BEGIN TRY
    INSERT INTO #bind_vectors (EmbeddingType, Dimension, AtomId, Vector)
    SELECT v.EmbeddingType, v.Dimension, v.AtomId, v.EmbeddingVector
    FROM (SELECT e.EmbeddingType, e.Dimension, e.AtomId, e.EmbeddingVector,
                 ROW_NUMBER() OVER (PARTITION BY e.AtomId, e.EmbeddingType ORDER BY e.AtomEmbeddingId) AS Nth
          FROM dbo.AtomEmbeddings AS e
          INNER JOIN dbo.Atoms AS a ON a.AtomId = e.AtomId AND a.TenantId = @TenantId
          WHERE e.AtomId IN (SELECT CONVERT(BIGINT, j.[value]) FROM OPENJSON(@AtomIds) AS j)
            AND (@EmbeddingType IS NULL OR e.EmbeddingType = @EmbeddingType)) AS v
    WHERE v.Nth = 1;
    INSERT INTO #bind_groups (EmbeddingType, Dimension, Atoms)
    SELECT EmbeddingType, Dimension, COUNT(*)
    FROM #bind_vectors
    GROUP BY EmbeddingType, Dimension
    ORDER BY EmbeddingType, Dimension;
    WHILE 1 = 1
    BEGIN
        SET @Group += 1;
        SELECT @Type = g.EmbeddingType, @Dimension = g.Dimension, @Atoms = g.Atoms FROM #bind_groups AS g WHERE g.GroupId = @Group;
        IF @@ROWCOUNT = 0 BREAK;
        -- a discovery run of the type replaces every membership (it holds this lock exclusively for its
        -- whole run, Python included): wait a little, never for the run; refused (timeout -1, deadlock
        -- victim -3, ...), skip the type: the run, or the next one, binds the atoms
        SET @Resource = CONCAT(N'provenance.Concepts/', @TenantId, N'/', @Type);
        EXEC @Lock = sys.sp_getapplock @Resource = @Resource, @LockMode = N'Shared', @LockOwner = N'Transaction',
            @LockTimeout = {{ policy.CONCEPT_BIND_LOCK_TIMEOUT_MS }};
        IF XACT_STATE() <> 1
            THROW 50636, N'fn_BindConcepts: the transaction was lost while waiting for the concepts lock (deadlock victim)', 1;
        IF @Lock < 0
        BEGIN
            SET @Skipped += @Atoms;
            SET @Message = CONCAT(N'fn_BindConcepts: ', @Atoms, CASE WHEN @Atoms = 1 THEN N' atom' ELSE N' atoms' END,
                                  N' not bound to the ', @Type, N' concepts: a concept discovery run of the type holds them (sp_getapplock ',
                                  @Lock, N'); the next discovery run binds them');
            PRINT @Message;
            CONTINUE;
        END;
        TRUNCATE TABLE #bind_input;
        INSERT INTO #bind_input (Kind, Id, Vector)
        SELECT 'c', c.ConceptId, c.Centroid
        FROM provenance.Concepts AS c
        WHERE c.TenantId = @TenantId AND c.EmbeddingType = @Type AND c.RetiredAt IS NULL AND c.Dimension = @Dimension;
        IF @@ROWCOUNT = 0 CONTINUE;
        INSERT INTO #bind_input (Kind, Id, Vector)
        SELECT 'a', v.AtomId, v.Vector FROM #bind_vectors AS v WHERE v.EmbeddingType = @Type AND v.Dimension = @Dimension;
        SELECT @Bound = NULL, @Problem = NULL;
        EXEC sys.sp_execute_external_script
            @language = N'Python',
            @script = N'
import json
from hartonomous_ext import concepts
# every OUTPUT parameter gets a value: one left unset (or None) stops BxlServer; empty reads back as NULL
bound, problem = "[]", ""
try:
    rows = list(zip(InputDataSet["Kind"], InputDataSet["Id"], InputDataSet["Vector"]))
    centroid_ids = [int(i) for kind, i, _ in rows if kind == "c"]
    atom_ids = [int(i) for kind, i, _ in rows if kind == "a"]
    chosen = concepts.bind_batch([bytes(v) for kind, _, v in rows if kind == "a"],
                                 [bytes(v) for kind, _, v in rows if kind == "c"], float(threshold), int(max_concepts))
    bound = json.dumps([[atom_ids[a], centroid_ids[i], min(max(score, -1.0), 1.0), rank == 0]
                        for a, hits in enumerate(chosen) for rank, (i, score) in enumerate(hits)])
except ValueError as exc:
    problem = str(exc)
',
            @input_data_1 = N'SELECT Kind, CAST(Id AS VARCHAR(20)) AS Id, Vector FROM #bind_input ORDER BY Kind DESC, Id',
            @params = N'@threshold FLOAT, @max_concepts INT, @bound NVARCHAR(MAX) OUTPUT, @problem NVARCHAR(2048) OUTPUT',
            @threshold = @SimilarityThreshold, @max_concepts = @MaxConceptsPerAtom,
            @bound = @Bound OUTPUT, @problem = @Problem OUTPUT
        WITH RESULT SETS NONE;
        SET @Problem = NULLIF(@Problem, N'');
        IF @Problem IS NOT NULL
        BEGIN
            SET @Message = CONCAT(N'fn_BindConcepts: ', @Problem);
            THROW 50635, @Message, 1;
        END;
        INSERT INTO #bind_result (AtomId, ConceptId, Similarity, IsPrimary)
        SELECT b.AtomId, b.ConceptId, b.Similarity, b.IsPrimary
        FROM OPENJSON(@Bound) WITH (AtomId BIGINT '$[0]', ConceptId BIGINT '$[1]', Similarity FLOAT '$[2]', IsPrimary BIT '$[3]') AS b;
        UPDATE #bind_groups SET Computed = 1 WHERE GroupId = @Group;
    END;
    -- the computed groups' atoms: their memberships in the type's concepts replaced by the new ones
    DELETE ac
    FROM provenance.AtomConcepts AS ac
    INNER JOIN provenance.Concepts AS c ON c.ConceptId = ac.ConceptId
    INNER JOIN #bind_vectors AS v ON v.AtomId = ac.AtomId AND v.EmbeddingType = c.EmbeddingType
    INNER JOIN #bind_groups AS g ON g.EmbeddingType = v.EmbeddingType AND g.Dimension = v.Dimension AND g.Computed = 1
    WHERE c.TenantId = @TenantId;
    INSERT INTO provenance.AtomConcepts (AtomId, ConceptId, Similarity, IsPrimary, BoundBy)
    SELECT r.AtomId, r.ConceptId, r.Similarity, r.IsPrimary, N'ingest'
    FROM #bind_result AS r;
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
