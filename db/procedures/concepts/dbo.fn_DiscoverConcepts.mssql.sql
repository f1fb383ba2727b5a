-- kind: procedure
-- requires: dbo.Atoms, dbo.AtomEmbeddings, dbo.AtomPayloadStore, dbo.IngestionJobs, provenance.Concepts, provenance.AtomConcepts, provenance.ConceptEvolution, hartonomous_ext, dbo.fn_ResolveTenant
-- Concept discovery over the tenant's embeddings of one type (seed 003's fn_DiscoverConcepts;
-- hartonomous_ext.concepts, as on PostgreSQL). A procedure under the seeds' function name: a SQL
-- Server function cannot run sp_execute_external_script, so it returns its table as a result set
-- (capture it with INSERT ... EXEC), with the same parameters and columns as PostgreSQL's function.
-- @MinClusterSize: the fewest atoms a concept may start from (NULL: {{ policy.CONCEPT_MIN_CLUSTER_SIZE }}, or one per
-- {{ policy.CONCEPT_ATOMS_PER_MIN_CLUSTER }} atoms when more); @CoherenceThreshold: the least mean cosine of a concept's atoms to its
-- centroid (0..1); @MaxConcepts: the most kept, the largest; @EmbeddingType: the type clustered.
-- Writes provenance.Concepts (matched ones keep their ConceptId, updated in place; new ones
-- inserted; previous ones no concept continues retired), provenance.AtomConcepts (the type's
-- memberships, replaced; an atom deleted while Python ran is left out), provenance.ConceptEvolution
-- and the run's dbo.IngestionJobs row (JobType 'concept-discovery'). Returns ConceptId, Label, Size,
-- Coherence, EventType per live concept, largest first. Bad arguments (50620-50623) or no embeddings
-- of the type (50625) write nothing and leave a caller's transaction committable.
-- Transactions: called outside one, no transaction spans the Python run: the job row (Running) is
-- committed on its own, the atoms are read and clustered outside any, and the writes commit in one
-- transaction with the row Completed; a failure rolls the writes back and marks the row Failed with
-- the error; another session follows the run in the row (Parameters' stage: clustering, writing,
-- done or failed; AtomsProcessed: the embeddings read). One run at a time per tenant and type: an exclusive app lock owned by the session for
-- the run (released at its end, failed or not; a client that abandons the call mid-run, an attention,
-- keeps it until its connection is reset or closed, and leaves the row Running). Inside a caller's
-- transaction everything is in that transaction, as before: the lock owned by it, the job row
-- written with the concepts, and an error after the checks dooms it (XACT_ABORT ON).
CREATE OR ALTER PROCEDURE dbo.fn_DiscoverConcepts
    @MinClusterSize INT = NULL,
    @CoherenceThreshold FLOAT = {{ policy.CONCEPT_COHERENCE_THRESHOLD }},
    @MaxConcepts INT = {{ policy.CONCEPT_MAX_CONCEPTS }},
    @TenantId INT = NULL,
    @EmbeddingType NVARCHAR(64) = N'all-MiniLM-L6-v2'
AS
BEGIN
    SET NOCOUNT ON;
    -- XACT_ABORT ON only after the checks below: a refused argument must not doom a caller's transaction
    DECLARE @Own BIT = CASE WHEN @@TRANCOUNT = 0 THEN 1 ELSE 0 END;
    IF @Own = 1
        SET IMPLICIT_TRANSACTIONS OFF;  -- a driver's autocommit off would hold every statement below in one
    DECLARE @TenantRefusal NVARCHAR(400);  -- the session's tenant, or an administrator's choice (dbo.fn_ResolveTenant)
    SELECT @TenantId = r.TenantId, @TenantRefusal = r.Refusal FROM dbo.fn_ResolveTenant(@TenantId, N'fn_DiscoverConcepts') AS r;
    IF @TenantRefusal IS NOT NULL
        THROW 50030, @TenantRefusal, 1;
    DECLARE @Message NVARCHAR(2048), @Problem NVARCHAR(2048), @Resource NVARCHAR(255), @Lock INT;
    DECLARE @Run BIGINT, @Total BIGINT, @Ordinal INT = -1, @Parameters NVARCHAR(MAX), @Previous NVARCHAR(MAX);
    DECLARE @Concepts NVARCHAR(MAX), @Memberships NVARCHAR(MAX), @Gone NVARCHAR(MAX), @Summary NVARCHAR(MAX);
    IF @MinClusterSize < 2
    BEGIN
        SET @Message = CONCAT(N'fn_DiscoverConcepts: MinClusterSize must be at least 2 (NULL: the default), not ', @MinClusterSize);
        THROW 50620, @Message, 1;
    END;
    IF @CoherenceThreshold IS NULL OR NOT (@CoherenceThreshold BETWEEN 0 AND 1)
    BEGIN
        SET @Message = CONCAT(N'fn_DiscoverConcepts: CoherenceThreshold is a mean cosine between 0 and 1, not ',
                              COALESCE(CONVERT(NVARCHAR(40), @CoherenceThreshold), N'NULL'));
        THROW 50621, @Message, 1;
    END;
    IF @MaxConcepts IS NULL OR @MaxConcepts < 1
    BEGIN
        SET @Message = CONCAT(N'fn_DiscoverConcepts: MaxConcepts must be at least 1, not ', COALESCE(CONVERT(NVARCHAR(20), @MaxConcepts), N'NULL'));
        THROW 50622, @Message, 1;
    END;
    IF @EmbeddingType IS NULL OR LEN(@EmbeddingType) = 0
        THROW 50623, N'fn_DiscoverConcepts: EmbeddingType must name a type of 1 to 64 characters', 1;

    -- what the script reads (its input query runs as the caller, outside the ownership chain):
    -- one embedding per atom, and the first bytes of each text atom for the labels; ids as text
    CREATE TABLE #atoms (AtomId BIGINT PRIMARY KEY, EmbeddingVector VARBINARY(MAX) NOT NULL, Head VARBINARY(MAX) NULL);
    CREATE TABLE #found (Ordinal INT PRIMARY KEY, Continues BIGINT NULL, ConceptId BIGINT NULL, Label NVARCHAR(400) NOT NULL,
                         Keywords NVARCHAR(MAX) NOT NULL, Dimension INT NOT NULL, Centroid VARBINARY(MAX) NOT NULL,
                         Size INT NOT NULL, PrimarySize INT NOT NULL, Coherence FLOAT NOT NULL, EventType NVARCHAR(16) NOT NULL,
                         PreviousIds NVARCHAR(MAX) NOT NULL, Detail NVARCHAR(MAX) NULL);
    -- one run at a time per tenant and type: a second waits, then sees this one's concepts as the
    -- previous run's; dbo.fn_BindConcepts takes the same lock shared (and waits 5 s at most)
    SET @Resource = CONCAT(N'provenance.Concepts/', @TenantId, N'/', @EmbeddingType);
    IF @Own = 1
        EXEC @Lock = sys.sp_getapplock @Resource = @Resource, @LockMode = N'Exclusive', @LockOwner = N'Session',
            @LockTimeout = -1;
    ELSE
        EXEC @Lock = sys.sp_getapplock @Resource = @Resource, @LockMode = N'Exclusive', @LockOwner = N'Transaction',
            @LockTimeout = -1;
    IF @Lock < 0  -- -3: a deadlock victim, -2: cancelled, -999: refused; without the lock, never carry on
    BEGIN
        SET @Message = CONCAT(N'fn_DiscoverConcepts: the run of tenant ', @TenantId, N', type ', @EmbeddingType,
                              N' did not get its lock (sp_getapplock ', @Lock, N'); nothing was written');
        THROW 50626, @Message, 1;
    END;
    BEGIN TRY
    INSERT INTO #atoms (AtomId, EmbeddingVector, Head)
    SELECT x.AtomId, x.EmbeddingVector, x.Head
    FROM (SELECT a.AtomId, e.EmbeddingVector,
                 CASE WHEN a.Modality = N'text' THEN SUBSTRING(p.Payload, 1, {{ policy.CONCEPT_TEXT_BYTES }}) END AS Head,
                 ROW_NUMBER() OVER (PARTITION BY a.AtomId ORDER BY e.AtomEmbeddingId) AS Pick
          FROM dbo.Atoms AS a
          INNER JOIN dbo.AtomEmbeddings AS e ON e.AtomId = a.AtomId
          LEFT JOIN dbo.AtomPayloadStore AS p ON p.AtomId = a.AtomId
          WHERE a.TenantId = @TenantId AND e.EmbeddingType = @EmbeddingType) AS x
    WHERE x.Pick = 1;
    SET @Total = (SELECT COUNT_BIG(*) FROM #atoms);
    IF @Total = 0
    BEGIN
        SET @Message = CONCAT(N'fn_DiscoverConcepts: tenant ', @TenantId, N' has no embeddings of type ', @EmbeddingType);
        THROW 50625, @Message, 1;
    END;
    SET XACT_ABORT ON;  -- the checks are done: an error from here on rolls the run's writes back whole
    -- the live concepts of the previous run: ids (as text), centroids (hex), and the primary members
    -- that run found (not the atoms bound since: binding follows the concepts, evolution compares runs)
    SET @Previous = (SELECT CONVERT(VARCHAR(20), c.ConceptId) AS id, c.Dimension AS dimension,
                            CONVERT(VARCHAR(MAX), c.Centroid, 2) AS centroid,
                            JSON_QUERY(CONCAT(N'[', (SELECT STRING_AGG(CONVERT(NVARCHAR(MAX), CONCAT(N'"', ac.AtomId, N'"')), N',')
                                                     FROM provenance.AtomConcepts AS ac
                                                     WHERE ac.ConceptId = c.ConceptId AND ac.IsPrimary = 1
                                                       AND ac.BoundBy = N'discovery'), N']')) AS members
                     FROM provenance.Concepts AS c
                     WHERE c.TenantId = @TenantId AND c.EmbeddingType = @EmbeddingType AND c.RetiredAt IS NULL
                     ORDER BY c.ConceptId
                     FOR JSON PATH);
    SET @Parameters = (SELECT @EmbeddingType AS embedding_type, @MinClusterSize AS min_cluster_size,
                              @CoherenceThreshold AS coherence_threshold, @MaxConcepts AS max_concepts,
                              N'clustering' AS stage
                       FOR JSON PATH, WITHOUT_ARRAY_WRAPPER);
    -- outside a caller's transaction: committed at once (autocommit), so nothing waits on it while
    -- Python runs (the loop's sp_Analyze reads dbo.IngestionJobs)
    -- Python runs next: the row says so (Parameters' stage: clustering, writing, done or failed)
    INSERT INTO dbo.IngestionJobs (TenantId, JobType, Status, Source, Parameters, TotalItems, AtomsProcessed, StartTime)
    VALUES (@TenantId, N'concept-discovery', N'Running', @EmbeddingType, @Parameters, @Total, @Total, SYSUTCDATETIME());
    SET @Run = SCOPE_IDENTITY();
    EXEC sys.sp_execute_external_script
        @language = N'Python',
        @script = N'
import json
import math
import numpy as np
from hartonomous_ext import concepts
# every OUTPUT parameter gets a value: one left unset (or None) stops BxlServer; empty reads back as NULL
found_json, memberships_json, gone_json, summary_json, problem = "[]", "[]", "[]", "{}", ""
try:
    # a NULL INT parameter (@MinClusterSize''s default) can reach Python as None or as float NaN
    if min_cluster_size is None or (isinstance(min_cluster_size, float) and math.isnan(min_cluster_size)):
        min_cluster_size = None
    ids = np.array([int(i) for i in InputDataSet["AtomId"]], dtype=np.int64)
    blobs = [bytes(v) for v in InputDataSet["EmbeddingVector"]]
    texts = [bytes(h).decode("utf-8", errors="ignore") if isinstance(h, (bytes, bytearray)) else ""
             for h in InputDataSet["Head"]]
    sizes = {len(b) for b in blobs}
    if len(sizes) != 1:
        raise ValueError("the embeddings of the type have different dimensions (%s)" % sorted(s // 4 for s in sizes))
    dimension = sizes.pop() // 4
    matrix = np.frombuffer(b"".join(blobs), dtype="<f4").reshape(len(blobs), dimension)
    rows = json.loads(previous) if previous else []
    before = None
    if rows:
        before = {"ids": [int(r["id"]) for r in rows],
                  "members": [np.array([int(a) for a in r.get("members", [])], dtype=np.int64) for r in rows]}
        if all(int(r["dimension"]) == dimension for r in rows):  # a model that changed dimension: atoms only
            before["centroids"] = [bytes.fromhex(r["centroid"]) for r in rows]
    minimum = int(min_cluster_size) if min_cluster_size else None
    found = concepts.discover(matrix, texts, minimum, float(coherence), int(max_concepts), before, ids)
    event_of = {e["concept"]: e for e in found["events"] if e["concept"] is not None}
    found_json = json.dumps([{
        "ordinal": j, "continues": None if c["continues"] is None else str(c["continues"]), "label": c["label"][:400],
        "keywords": [[w, round(weight, 6)] for w, weight in c["keywords"]], "dimension": dimension,
        "centroid": np.asarray(c["centroid"], dtype="<f4").tobytes().hex(), "size": c["size"], "primary": c["primary"],
        "coherence": min(max(c["coherence"], 0.0), 1.0), "event": event_of[j]["event"],
        "previous": [int(i) for i in event_of[j]["previous"]],
        "detail": {"size": c["size"], "primary_size": c["primary"], "coherence": round(c["coherence"], 6), "label": c["label"]},
    } for j, c in enumerate(found["concepts"])])
    links = found["memberships"]
    memberships_json = json.dumps([[str(ids[a]), int(c), min(max(float(s), -1.0), 1.0), bool(p)] for a, c, s, p
                                   in zip(links["atom"], links["concept"], links["similarity"], links["primary"])])
    gone_json = json.dumps([str(e["previous"][0]) for e in found["events"] if e["concept"] is None])
    counts = {}
    for e in found["events"]:
        counts[e["event"]] = counts.get(e["event"], 0) + 1
    summary = json.loads(parameters)
    summary.update({"stage": "done", "min_cluster_size_used": minimum or concepts.default_min_cluster_size(len(ids)),
                    "concepts": len(found["concepts"]), "memberships": int(links["atom"].size),
                    "outliers": int(found["outliers"].size), "events": counts, "dimension": dimension,
                    "seconds": {k: round(v, 3) for k, v in found["timings"].items()}})
    summary_json = json.dumps(summary)
except ValueError as exc:
    problem = str(exc)
',
        @input_data_1 = N'SELECT CAST(AtomId AS VARCHAR(20)) AS AtomId, EmbeddingVector, Head FROM #atoms ORDER BY AtomId',
        @params = N'@previous NVARCHAR(MAX), @parameters NVARCHAR(MAX), @min_cluster_size INT, @coherence FLOAT,
                    @max_concepts INT, @found_json NVARCHAR(MAX) OUTPUT, @memberships_json NVARCHAR(MAX) OUTPUT,
                    @gone_json NVARCHAR(MAX) OUTPUT, @summary_json NVARCHAR(MAX) OUTPUT, @problem NVARCHAR(2048) OUTPUT',
        @previous = @Previous, @parameters = @Parameters, @min_cluster_size = @MinClusterSize,
        @coherence = @CoherenceThreshold, @max_concepts = @MaxConcepts, @found_json = @Concepts OUTPUT,
        @memberships_json = @Memberships OUTPUT, @gone_json = @Gone OUTPUT, @summary_json = @Summary OUTPUT,
        @problem = @Problem OUTPUT
    WITH RESULT SETS NONE;
    SET @Problem = NULLIF(@Problem, N'');
    IF @Problem IS NOT NULL
    BEGIN
        SET @Message = CONCAT(N'fn_DiscoverConcepts: ', @Problem);
        THROW 50624, @Message, 1;
    END;

    UPDATE dbo.IngestionJobs SET Parameters = JSON_MODIFY(Parameters, '$.stage', N'writing') WHERE IngestionJobId = @Run;
    IF @Own = 1
        BEGIN TRANSACTION;  -- the writes, all or nothing
    INSERT INTO #found (Ordinal, Continues, ConceptId, Label, Keywords, Dimension, Centroid, Size, PrimarySize, Coherence,
                        EventType, PreviousIds, Detail)
    SELECT f.Ordinal, f.Continues, f.Continues, f.Label, f.Keywords, f.Dimension, CONVERT(VARBINARY(MAX), f.CentroidHex, 2),
           f.Size, f.PrimarySize, f.Coherence, f.EventType, f.PreviousIds, f.Detail
    FROM OPENJSON(@Concepts) WITH (Ordinal INT '$.ordinal', Continues BIGINT '$.continues', Label NVARCHAR(400) '$.label',
                                   Keywords NVARCHAR(MAX) '$.keywords' AS JSON, Dimension INT '$.dimension',
                                   CentroidHex VARCHAR(MAX) '$.centroid', Size INT '$.size', PrimarySize INT '$.primary',
                                   Coherence FLOAT '$.coherence', EventType NVARCHAR(16) '$.event',
                                   PreviousIds NVARCHAR(MAX) '$.previous' AS JSON, Detail NVARCHAR(MAX) '$.detail' AS JSON) AS f;
    -- matched concepts keep their identity: updated in place
    UPDATE c
    SET Label = f.Label, Keywords = f.Keywords, Dimension = f.Dimension, Centroid = f.Centroid, Size = f.Size,
        PrimarySize = f.PrimarySize, Coherence = f.Coherence, DiscoveryRunId = @Run, UpdatedAt = SYSUTCDATETIME()
    FROM provenance.Concepts AS c
    INNER JOIN #found AS f ON f.Continues = c.ConceptId;
    -- new concepts, one at a time for their identities (a run keeps at most @MaxConcepts)
    WHILE 1 = 1
    BEGIN
        SELECT TOP (1) @Ordinal = Ordinal FROM #found WHERE Continues IS NULL AND Ordinal > @Ordinal ORDER BY Ordinal;
        IF @@ROWCOUNT = 0 BREAK;
        INSERT INTO provenance.Concepts (TenantId, EmbeddingType, Label, Keywords, Dimension, Centroid, Size, PrimarySize,
                                         Coherence, DiscoveryRunId)
        SELECT @TenantId, @EmbeddingType, f.Label, f.Keywords, f.Dimension, f.Centroid, f.Size, f.PrimarySize, f.Coherence, @Run
        FROM #found AS f WHERE f.Ordinal = @Ordinal;
        UPDATE #found SET ConceptId = SCOPE_IDENTITY() WHERE Ordinal = @Ordinal;
    END;
    -- every previous concept no new one continues is retired (gone, or merged into or split off another)
    UPDATE c SET RetiredAt = SYSUTCDATETIME(), UpdatedAt = SYSUTCDATETIME()
    FROM provenance.Concepts AS c
    WHERE c.TenantId = @TenantId AND c.EmbeddingType = @EmbeddingType AND c.RetiredAt IS NULL
      AND NOT EXISTS (SELECT 1 FROM #found AS f WHERE f.ConceptId = c.ConceptId);
    DELETE ac
    FROM provenance.AtomConcepts AS ac
    INNER JOIN provenance.Concepts AS c ON c.ConceptId = ac.ConceptId
    WHERE c.TenantId = @TenantId AND c.EmbeddingType = @EmbeddingType;
    -- an atom deleted while Python ran is left out (its row would fail the foreign key, 547); the
    -- atoms kept stay until the commit (REPEATABLEREAD), so none goes between this read and the insert
    INSERT INTO provenance.AtomConcepts (AtomId, ConceptId, Similarity, IsPrimary, BoundBy)
    SELECT m.AtomId, f.ConceptId, m.Similarity, m.IsPrimary, N'discovery'
    FROM OPENJSON(@Memberships) WITH (AtomId BIGINT '$[0]', Ordinal INT '$[1]', Similarity FLOAT '$[2]', IsPrimary BIT '$[3]') AS m
    INNER JOIN #found AS f ON f.Ordinal = m.Ordinal
    WHERE EXISTS (SELECT 1 FROM dbo.Atoms AS a WITH (REPEATABLEREAD) WHERE a.AtomId = m.AtomId);
    INSERT INTO provenance.ConceptEvolution (DiscoveryRunId, TenantId, EmbeddingType, EventType, ConceptId, PreviousConceptIds, Detail)
    SELECT @Run, @TenantId, @EmbeddingType, f.EventType, f.ConceptId, f.PreviousIds, f.Detail
    FROM #found AS f;
    INSERT INTO provenance.ConceptEvolution (DiscoveryRunId, TenantId, EmbeddingType, EventType, ConceptId, PreviousConceptIds)
    SELECT @Run, @TenantId, @EmbeddingType, N'gone', CAST(g.value AS BIGINT), CONCAT(N'[', g.value, N']')
    FROM OPENJSON(@Gone) AS g;
    UPDATE dbo.IngestionJobs SET Status = N'Completed', EndTime = SYSUTCDATETIME(), AtomsProcessed = @Total, Parameters = @Summary
    WHERE IngestionJobId = @Run;
    IF @Own = 1
        COMMIT TRANSACTION;
    END TRY
    BEGIN CATCH
        IF @Own = 1
        BEGIN
            IF XACT_STATE() <> 0
                ROLLBACK TRANSACTION;
            IF APPLOCK_MODE(N'public', @Resource, N'Session') <> N'NoLock'
                EXEC sys.sp_releaseapplock @Resource = @Resource, @LockOwner = N'Session';
            -- the row committed on its own: it says the run failed, and why
            IF @Run IS NOT NULL
                UPDATE dbo.IngestionJobs SET Status = N'Failed', EndTime = SYSUTCDATETIME(), ErrorMessage = ERROR_MESSAGE(),
                                             Parameters = JSON_MODIFY(Parameters, '$.stage', N'failed')
                WHERE IngestionJobId = @Run;
        END;
        THROW;
    END CATCH;
    IF @Own = 1
        EXEC sys.sp_releaseapplock @Resource = @Resource, @LockOwner = N'Session';

    SELECT f.ConceptId, f.Label, f.Size, f.Coherence, f.EventType
    FROM #found AS f
    ORDER BY f.Size DESC, f.ConceptId;
END;
