-- kind: procedure
-- requires: graph.AtomGraphNodes, graph.AtomGraphEdges, dbo.Atoms, dbo.AtomEmbeddings, dbo.VectorIndexSegments, dbo.VectorIndexChunks, hartonomous_ext
-- The provenance graph's writer for stored atoms (README "Provenance graph"): each atom of @AtomIds
-- (a JSON array of AtomIds of @TenantId, which the caller has resolved) gets its node, and each of
-- its embeddings SimilarTo edges to the nearest atoms of the tenant with an embedding of the same
-- type, at least {{ policy.GRAPH_SIMILAR_THRESHOLD }} close (cosine), at most {{ policy.GRAPH_SIMILAR_MAX_NEIGHBOURS }}, nearest first, found by the vector index's
-- search: hartonomous_ext.vector_index.search_many, one sp_execute_external_script for all the batch's
-- embeddings of a type (and dimension), each query answered as search_index (dbo.sp_SemanticSearch)
-- answers it alone; the script is handed the segments, the raw delta that holds what this
-- transaction just stored, and the ids that still exist once per type rather than once per atom.
-- Re-writing is idempotent: one node per atom, one edge per pair. Runs in the caller's transaction
-- when there is one: dbo.sp_StoreAtom (sp_IngestAtom, and the text sp_GenerateText stores) and
-- dbo.sp_IngestAtoms call it. Payloads are stored whole (dbo.AtomPayloadStore, one row per atom):
-- there are no payload chunks to be ComponentOf an atom. No tenant role may execute it.
-- Concurrency: the caller holds exclusive locks on the atoms and embeddings it has just written, and
-- so does another session ingesting for the same tenant; READ_COMMITTED_SNAPSHOT is off by default,
-- so reading the tenant's embeddings would wait on each other's: a deadlock, the victim's whole
-- ingest lost. The reads of other rows skip what is locked (READPAST, at READ COMMITTED, which this
-- procedure sets for itself): atoms ingested at the same moment by two sessions are not SimilarTo
-- each other; each is to everything committed before it. READPAST also skips committed rows another
-- transaction holds locked at that moment (sp_BuildVectorIndex marking embeddings Indexed): no edge to
-- those either. Only the probe for a neighbour stored before the graph existed, which another
-- session may be giving its node, keeps HOLDLOCK.
CREATE OR ALTER PROCEDURE dbo.sp_GraphRecordAtoms
    @AtomIds NVARCHAR(MAX),
    @TenantId INT
AS
BEGIN
    SET NOCOUNT ON;
    SET XACT_ABORT ON;
    SET TRANSACTION ISOLATION LEVEL READ COMMITTED;  -- READPAST below needs it (a caller's level returns with it)
    DECLARE @Message NVARCHAR(2048), @Foreign BIGINT, @Type NVARCHAR(64);
    DECLARE @Dimension INT, @State NVARCHAR(MAX), @Results NVARCHAR(MAX), @Problem NVARCHAR(2048);
    DECLARE @Wanted INT = {{ policy.GRAPH_SIMILAR_MAX_NEIGHBOURS }} + 1;  -- one more than kept: the atom finds itself first
    IF @TenantId IS NULL
        THROW 51600, N'sp_GraphRecordAtoms: TenantId is required (the caller resolves it)', 1;
    IF @AtomIds IS NULL
        RETURN;
    -- ISJSON in an IF of its own: OPENJSON over text that is not JSON raises its own error
    IF ISJSON(@AtomIds) = 0 OR LEFT(LTRIM(@AtomIds), 1) <> N'['
        THROW 51601, N'sp_GraphRecordAtoms: AtomIds is not a JSON array of atom ids', 1;
    IF EXISTS (SELECT 1 FROM OPENJSON(@AtomIds) AS j WHERE j.[type] <> 2 OR TRY_CAST(j.value AS BIGINT) IS NULL)
        THROW 51601, N'sp_GraphRecordAtoms: AtomIds is not a JSON array of atom ids', 1;
    CREATE TABLE #graph_atoms (AtomId BIGINT NOT NULL PRIMARY KEY);
    INSERT INTO #graph_atoms (AtomId) SELECT DISTINCT CAST(j.value AS BIGINT) FROM OPENJSON(@AtomIds) AS j;
    SELECT TOP (1) @Foreign = g.AtomId FROM #graph_atoms AS g
    WHERE NOT EXISTS (SELECT 1 FROM dbo.Atoms AS a WHERE a.AtomId = g.AtomId AND a.TenantId = @TenantId)
    ORDER BY g.AtomId;
    IF @Foreign IS NOT NULL
    BEGIN
        SET @Message = CONCAT(N'sp_GraphRecordAtoms: atom ', @Foreign, N' does not exist for tenant ', @TenantId);
        THROW 51602, @Message, 1;
    END;
    -- the neighbours of every type, written together after the searches
    CREATE TABLE #graph_neighbours (SourceAtomId BIGINT NOT NULL, SourceNodeId BIGINT NOT NULL, EmbeddingType NVARCHAR(64) NOT NULL,
                                    AtomId BIGINT NOT NULL, Similarity FLOAT NOT NULL,
                                    PRIMARY KEY (SourceAtomId, EmbeddingType, AtomId));
    CREATE TABLE #graph_search (Part CHAR(1) NOT NULL, Id VARCHAR(20) NOT NULL, Ordinal INT NULL, Data VARBINARY(MAX) NULL);
    BEGIN TRANSACTION;
    -- the caller holds its atoms' rows locked (inserted, or their ReferenceCount raised), so no other
    -- session writes their nodes or edges now: no HOLDLOCK, whose key-range lock past the last node
    -- would queue every tenant's ingest behind this transaction (DBA review)
    INSERT INTO graph.AtomGraphNodes (TenantId, NodeKind, AtomId)
    SELECT DISTINCT @TenantId, N'atom', g.AtomId FROM #graph_atoms AS g
    WHERE NOT EXISTS (SELECT 1 FROM graph.AtomGraphNodes AS n WITH (UPDLOCK)
                      WHERE n.NodeKind = N'atom' AND n.AtomId = g.AtomId);
    -- each embedding of the atoms: a query of its type's search (QueryOrdinal: its place in it)
    CREATE TABLE #graph_sources (AtomId BIGINT NOT NULL, NodeId BIGINT NOT NULL, EmbeddingType NVARCHAR(64) NOT NULL,
                                 Dimension INT NOT NULL, QueryOrdinal INT NOT NULL, EmbeddingVector VARBINARY(MAX) NOT NULL,
                                 PRIMARY KEY (EmbeddingType, Dimension, QueryOrdinal));
    INSERT INTO #graph_sources (AtomId, NodeId, EmbeddingType, Dimension, QueryOrdinal, EmbeddingVector)
    SELECT e.AtomId, n.NodeId, e.EmbeddingType, e.Dimension,
           ROW_NUMBER() OVER (PARTITION BY e.EmbeddingType, e.Dimension ORDER BY e.AtomId), e.EmbeddingVector
    FROM dbo.AtomEmbeddings AS e
    INNER JOIN #graph_atoms AS g ON g.AtomId = e.AtomId
    INNER JOIN graph.AtomGraphNodes AS n ON n.NodeKind = N'atom' AND n.AtomId = e.AtomId;
    CREATE TABLE #graph_kinds (Ordinal INT IDENTITY(1, 1) PRIMARY KEY, EmbeddingType NVARCHAR(64) NOT NULL, Dimension INT NOT NULL);
    INSERT INTO #graph_kinds (EmbeddingType, Dimension)
    SELECT g.EmbeddingType, g.Dimension FROM #graph_sources AS g GROUP BY g.EmbeddingType, g.Dimension
    ORDER BY g.EmbeddingType, g.Dimension;
    DECLARE @Next INT = 1, @Last INT = (SELECT COUNT(*) FROM #graph_kinds);
    WHILE @Next <= @Last
    BEGIN
        SELECT @Type = k.EmbeddingType, @Dimension = k.Dimension FROM #graph_kinds AS k WHERE k.Ordinal = @Next;
        SET @Next = @Next + 1;
        -- what the script reads (it cannot query back), as dbo.sp_SemanticSearch hands it over, and
        -- the queries: one input data set, told apart by Part
        TRUNCATE TABLE #graph_search;
        SET @State = (SELECT (SELECT s.SegmentId AS id, s.EmbeddingType AS type, s.Dimension AS dimension
                              FROM dbo.VectorIndexSegments AS s
                              WHERE s.TenantId = @TenantId AND s.IsActive = 1 AND s.EmbeddingType = @Type
                              FOR JSON PATH) AS segments,
                             (SELECT e.EmbeddingType AS type, e.Dimension AS dimension, COUNT_BIG(*) AS pending
                              FROM dbo.AtomEmbeddings AS e WITH (READPAST) INNER JOIN dbo.Atoms AS a WITH (READPAST) ON a.AtomId = e.AtomId
                              WHERE e.Indexed = 0 AND a.TenantId = @TenantId AND e.EmbeddingType = @Type
                              GROUP BY e.EmbeddingType, e.Dimension FOR JSON PATH) AS pending
                      FOR JSON PATH, WITHOUT_ARRAY_WRAPPER);
        INSERT INTO #graph_search (Part, Id, Ordinal, Data)
        SELECT 'S', CONVERT(VARCHAR(20), c.SegmentId), c.ChunkIndex, c.Data
        FROM dbo.VectorIndexSegments AS s INNER JOIN dbo.VectorIndexChunks AS c ON c.SegmentId = s.SegmentId
        WHERE s.TenantId = @TenantId AND s.IsActive = 1 AND s.Dimension = @Dimension AND s.EmbeddingType = @Type;
        INSERT INTO #graph_search (Part, Id, Ordinal, Data)
        SELECT 'D', CONVERT(VARCHAR(20), e.AtomEmbeddingId), NULL, e.EmbeddingVector
        FROM dbo.AtomEmbeddings AS e WITH (READPAST) INNER JOIN dbo.Atoms AS a WITH (READPAST) ON a.AtomId = e.AtomId
        WHERE e.Indexed = 0 AND a.TenantId = @TenantId AND e.Dimension = @Dimension AND e.EmbeddingType = @Type;
        INSERT INTO #graph_search (Part, Id, Ordinal, Data)
        SELECT 'L', CONVERT(VARCHAR(20), e.AtomEmbeddingId), NULL, NULL
        FROM dbo.AtomEmbeddings AS e WITH (READPAST) INNER JOIN dbo.Atoms AS a WITH (READPAST) ON a.AtomId = e.AtomId
        WHERE a.TenantId = @TenantId AND e.Dimension = @Dimension AND e.EmbeddingType = @Type;
        INSERT INTO #graph_search (Part, Id, Ordinal, Data)
        SELECT 'Q', CONVERT(VARCHAR(20), g.AtomId), g.QueryOrdinal, g.EmbeddingVector
        FROM #graph_sources AS g WHERE g.EmbeddingType = @Type AND g.Dimension = @Dimension;
        SELECT @Results = NULL, @Problem = NULL;
        EXEC sys.sp_execute_external_script
            @language = N'Python',
            @script = N'
import json
from hartonomous_ext import vector_index
state = json.loads(state)
segments = [(int(s["id"]), s["type"], int(s["dimension"])) for s in state.get("segments", [])]
pending = {(p["type"], int(p["dimension"])): int(p["pending"]) for p in state.get("pending", [])}
parts = {part: frame for part, frame in InputDataSet.groupby("Part")} if len(InputDataSet) else {}
stored = {}
if "S" in parts:
    for segment, chunks in parts["S"].sort_values(["Id", "Ordinal"]).groupby("Id"):
        stored[int(segment)] = b"".join(chunks["Data"])
delta = ([int(i) for i in parts["D"]["Id"]], b"".join(parts["D"]["Data"])) if "D" in parts else ([], b"")
live = [int(i) for i in parts["L"]["Id"]] if "L" in parts else []
asked = parts["Q"].sort_values("Ordinal") if "Q" in parts else None
queries = [bytes(q) for q in asked["Data"]] if asked is not None else []
ordinals = [int(o) for o in asked["Ordinal"]] if asked is not None else []
reader = vector_index.MemoryIndexReader(segments, pending, stored, delta, live)
# every OUTPUT parameter gets a value: one left unset (or None) stops BxlServer; empty reads back as NULL
ranked, problem = "[]", ""
try:
    found = vector_index.search_many(reader, vector_index.SegmentCache(0), tenant, requested, queries, top_k, False)
    ranked = json.dumps([[ordinal, i, score] for ordinal, result in zip(ordinals, found) for i, score in result.rows])
except vector_index.SearchError as exc:
    problem = str(exc)
',
            @input_data_1 = N'SELECT Part, Id, Ordinal, Data FROM #graph_search',
            @params = N'@state NVARCHAR(MAX), @top_k INT, @tenant INT, @requested NVARCHAR(64),
                        @ranked NVARCHAR(MAX) OUTPUT, @problem NVARCHAR(2048) OUTPUT',
            @state = @State, @top_k = @Wanted, @tenant = @TenantId, @requested = @Type,
            @ranked = @Results OUTPUT, @problem = @Problem OUTPUT
        WITH RESULT SETS NONE;
        IF NULLIF(@Problem, N'') IS NOT NULL
        BEGIN
            SET @Message = CONCAT(N'sp_GraphRecordAtoms: ', @Problem);
            THROW 51603, @Message, 1;
        END;
        -- each source's nearest other atoms above the threshold, at most the policy's number
        INSERT INTO #graph_neighbours (SourceAtomId, SourceNodeId, EmbeddingType, AtomId, Similarity)
        SELECT x.SourceAtomId, x.SourceNodeId, @Type, x.AtomId, x.Similarity
        FROM (SELECT g.AtomId AS SourceAtomId, g.NodeId AS SourceNodeId, e.AtomId,
                     IIF(MAX(r.Score) > 1e0, 1e0, MAX(r.Score)) AS Similarity,
                     ROW_NUMBER() OVER (PARTITION BY g.AtomId ORDER BY MAX(r.Score) DESC, e.AtomId) AS Nearness
              FROM OPENJSON(@Results) WITH (QueryOrdinal INT '$[0]', AtomEmbeddingId BIGINT '$[1]', Score FLOAT '$[2]') AS r
              INNER JOIN #graph_sources AS g
                  ON g.EmbeddingType = @Type AND g.Dimension = @Dimension AND g.QueryOrdinal = r.QueryOrdinal
              INNER JOIN dbo.AtomEmbeddings AS e ON e.AtomEmbeddingId = r.AtomEmbeddingId
              WHERE e.AtomId <> g.AtomId AND r.Score >= {{ policy.GRAPH_SIMILAR_THRESHOLD }}
              GROUP BY g.AtomId, g.NodeId, e.AtomId) AS x
        WHERE x.Nearness <= {{ policy.GRAPH_SIMILAR_MAX_NEIGHBOURS }};
    END;
    -- neighbours stored before the graph existed get their nodes; then one edge per pair (an atom
    -- near another by two types: the first type's cosine)
    INSERT INTO graph.AtomGraphNodes (TenantId, NodeKind, AtomId)
    SELECT DISTINCT @TenantId, N'atom', h.AtomId FROM #graph_neighbours AS h
    WHERE NOT EXISTS (SELECT 1 FROM graph.AtomGraphNodes AS n WITH (UPDLOCK, HOLDLOCK)
                      WHERE n.NodeKind = N'atom' AND n.AtomId = h.AtomId);
    INSERT INTO graph.AtomGraphEdges ($from_id, $to_id, TenantId, EdgeType, Weight, CreatedBy)
    SELECT f.$node_id, t.$node_id, @TenantId, N'SimilarTo', p.Similarity, N'ingest'
    FROM (SELECT h.SourceNodeId, h.AtomId, h.Similarity,
                 ROW_NUMBER() OVER (PARTITION BY h.SourceAtomId, h.AtomId ORDER BY h.EmbeddingType) AS Pick
          FROM #graph_neighbours AS h) AS p
    INNER JOIN graph.AtomGraphNodes AS t ON t.NodeKind = N'atom' AND t.AtomId = p.AtomId
    INNER JOIN graph.AtomGraphNodes AS f ON f.NodeId = p.SourceNodeId
    WHERE p.Pick = 1
      AND NOT EXISTS (SELECT 1 FROM graph.AtomGraphEdges AS x WITH (UPDLOCK)  -- from this call's atoms only
                      WHERE x.$from_id = f.$node_id AND x.$to_id = t.$node_id AND x.EdgeType = N'SimilarTo');
    COMMIT TRANSACTION;
END;
