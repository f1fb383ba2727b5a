-- kind: procedure
-- requires: dbo.Atoms, dbo.AtomEmbeddings, dbo.AtomPayloadStore, dbo.SpatialLandmarks, dbo.InferenceRequests, dbo.VectorIndexSegments, dbo.VectorIndexChunks, dbo.sp_ComputeEmbedding, hartonomous_ext, dbo.fn_ResolveTenant, dbo.sp_ChargeUsage
-- Semantic search over the tenant's embeddings of one type. Give one of @query_embedding (a JSON
-- array of numbers, '[0.123, 0.456, ...]', as the seeds write it; @query_dimension, when given,
-- must be its length), @query_vector (float32 values as bytes) or @query_text (embedded in the
-- database by the packaged all-MiniLM-L6-v2, and searched among that type's embeddings unless
-- @EmbeddingType says otherwise). @EmbeddingType NULL: the tenant's one type with the query's
-- dimension (up to {{ policy.MAX_DIMENSION }}); a dimension no type has, or several types have, is an error naming them.
-- Hybrid (@use_hybrid 1) with @prefilter 'index' (the defaults): the vector index
-- (hartonomous_ext.vector_index.search_index, as on PostgreSQL: the HNSW graph at its calibrated
-- ef_search, the flat segments and the raw delta exactly); deleted embeddings never return and
-- scores are exact. SQL Server starts a fresh Python for each call, so the type's segments cross
-- into it on every search (PostgreSQL keeps them in the session): expect a search to cost about
-- the time to read the segments (dbo.VectorIndexSegments.ByteSize).
-- Exact (@use_hybrid 0): cosine over every embedding of the type (on SQL Server 2025, for the packaged
-- model's type, the engine's VECTOR_DISTANCE over the native VECTOR(384) copies).
-- The earlier pre-filters stay for the 384-dimension type the landmarks were fitted on:
--   @prefilter 'buckets': the members of the @probes vector buckets whose k-means centres are
--     nearest the query (index on VectorBucket); @probes defaults to {{ policy.DEFAULT_PROBES }} (at most half the buckets);
--   @prefilter 'spatial': the @candidate_count embeddings nearest the query's point (spatial index, X/Y).
-- Each call is recorded in dbo.InferenceRequests with the path it took, and metered (dbo.sp_ChargeUsage):
-- one 'search', and one 'embedding' for a @query_text; past a quota it refuses before the work.
-- Returns AtomId, Score, ContentType, Preview. Python hands its results back through OUTPUT
-- parameters, never INSERT ... EXEC, so a caller can capture the rows with INSERT ... EXEC.
-- Previews are decoded from UTF-8 in Python (hartonomous_ext.atoms.preview), whatever the collation.
CREATE OR ALTER PROCEDURE dbo.sp_SemanticSearch
    @query_embedding NVARCHAR(MAX) = NULL,
    @query_dimension INT = NULL,
    @query_vector VARBINARY(MAX) = NULL,
    @query_text NVARCHAR(MAX) = NULL,
    @top_k INT = 10,
    @category NVARCHAR(16) = NULL,
    @use_hybrid BIT = 1,
    @TenantId INT = NULL,
    @candidate_count INT = NULL,
    @prefilter NVARCHAR(16) = N'index',
    @probes INT = NULL,
    @EmbeddingType NVARCHAR(64) = NULL
AS
BEGIN
    SET NOCOUNT ON;
    SET TRANSACTION ISOLATION LEVEL READ COMMITTED;  -- its charge reaches the memory-optimized ledger (dbo.sp_ChargeUsage)
    DECLARE @TenantRefusal NVARCHAR(400);  -- the session's tenant, or an administrator's choice (dbo.fn_ResolveTenant)
    SELECT @TenantId = r.TenantId, @TenantRefusal = r.Refusal FROM dbo.fn_ResolveTenant(@TenantId, N'sp_SemanticSearch') AS r;
    IF @TenantRefusal IS NOT NULL
        THROW 50030, @TenantRefusal, 1;
    DECLARE @Started DATETIME2(7) = SYSUTCDATETIME();
    DECLARE @Query VARBINARY(MAX) = @query_vector, @Problem NVARCHAR(2048), @Results NVARCHAR(MAX);
    DECLARE @Mode NVARCHAR(200), @Examined BIGINT, @Found INT, @Message NVARCHAR(2048);
    DECLARE @Mean VARBINARY(MAX), @Axes VARBINARY(MAX), @Width FLOAT, @Centroids VARBINARY(MAX), @CentroidCount INT;
    DECLARE @Probes INT;
    DECLARE @X FLOAT, @Y FLOAT, @Candidates INT;
    DECLARE @State NVARCHAR(MAX), @Searched NVARCHAR(64), @Dimension INT, @SearchType NVARCHAR(64), @Compared INT;
    DECLARE @QueryJson NVARCHAR(MAX);  -- the query as a JSON array (SQL Server 2025 casts it to VECTOR)
    SET @use_hybrid = COALESCE(@use_hybrid, 1);  -- NULL is the default, as on PostgreSQL
    IF @top_k IS NULL OR @top_k < 1 OR @top_k > {{ policy.MAX_TOP_K }}
        THROW 50201, N'sp_SemanticSearch: top_k must be between 1 and {{ policy.MAX_TOP_K }}', 1;
    IF @prefilter IS NULL OR @prefilter NOT IN (N'index', N'buckets', N'spatial')
    BEGIN
        SET @Message = CONCAT(N'sp_SemanticSearch: prefilter must be ''index'', ''buckets'' or ''spatial'', not ',
                              COALESCE(@prefilter, N'NULL'));
        THROW 50204, @Message, 1;
    END;
    IF @probes < 1 OR @candidate_count < 1
        THROW 50205, N'sp_SemanticSearch: probes and candidate_count must be at least 1', 1;
    IF @candidate_count > {{ policy.MAX_CANDIDATES }}
        THROW 50209, N'sp_SemanticSearch: candidate_count must be at most {{ policy.MAX_CANDIDATES }}; use @use_hybrid = 0 for an exact scan', 1;
    IF IIF(@query_embedding IS NULL, 0, 1) + IIF(@query_vector IS NULL, 0, 1) + IIF(@query_text IS NULL, 0, 1) <> 1
        THROW 50202, N'sp_SemanticSearch: give exactly one of query_embedding, query_vector and query_text', 1;
    -- blank = spaces, tabs, line breaks, no-break spaces (LTRIM/RTRIM alone strip only spaces)
    DECLARE @Blank NVARCHAR(10) = CONCAT(N' ', NCHAR(9), NCHAR(10), NCHAR(11), NCHAR(12), NCHAR(13), NCHAR(160));
    IF LEN(TRIM(@Blank FROM @query_text)) = 0
        THROW 50206, N'sp_SemanticSearch: query_text is empty', 1;
    EXEC dbo.sp_ChargeUsage @TenantId = @TenantId, @Operation = 'search', @Units = 1,
        @Source = N'sp_SemanticSearch', @QuotaCheckOnly = 1;
    IF @query_text IS NOT NULL
        EXEC dbo.sp_ChargeUsage @TenantId = @TenantId, @Operation = 'embedding', @Units = 1,
            @Source = N'sp_SemanticSearch', @QuotaCheckOnly = 1;
    IF @query_embedding IS NOT NULL
    BEGIN
        EXEC sys.sp_execute_external_script
            @language = N'Python',
            @script = N'
from hartonomous_ext import vectors
# every OUTPUT parameter gets a value: one left unset (or None) stops BxlServer; empty reads back as NULL
query, query_json, problem = b"", "", ""
try:
    query = vectors.from_json(query_embedding, dimension, "query_embedding")
    query_json = vectors.to_json(query)
except ValueError as exc:
    problem = str(exc)
',
            @params = N'@query_embedding NVARCHAR(MAX), @dimension INT, @query VARBINARY(MAX) OUTPUT,
                        @query_json NVARCHAR(MAX) OUTPUT, @problem NVARCHAR(2048) OUTPUT',
            @query_embedding = @query_embedding, @dimension = @query_dimension, @query = @Query OUTPUT,
            @query_json = @QueryJson OUTPUT, @problem = @Problem OUTPUT
        WITH RESULT SETS NONE;
        SELECT @Problem = NULLIF(@Problem, N''), @Query = CASE WHEN DATALENGTH(@Query) > 0 THEN @Query END,
               @QueryJson = NULLIF(@QueryJson, N'');
        IF @Problem IS NOT NULL
        BEGIN
            SET @Message = CONCAT(N'sp_SemanticSearch: ', @Problem);
            THROW 50207, @Message, 1;
        END;
    END
    ELSE IF @query_text IS NOT NULL
        EXEC dbo.sp_ComputeEmbedding @text_value = @query_text, @ModelId = NULL, @TenantId = @TenantId,
            @embedding = @Query OUTPUT, @embedding_json = @QueryJson OUTPUT;
    IF @query_dimension IS NOT NULL AND DATALENGTH(@Query) <> @query_dimension * 4
    BEGIN
        SET @Message = CONCAT(N'sp_SemanticSearch: the query has ', DATALENGTH(@Query) / 4,
                              N' dimensions, not the ', @query_dimension, N' of query_dimension');
        THROW 50208, @Message, 1;
    END;
    IF DATALENGTH(@Query) < 4 OR DATALENGTH(@Query) > {{ policy.MAX_DIMENSION }} * 4 OR DATALENGTH(@Query) % 4 <> 0
    BEGIN
        SET @Message = CONCAT(N'sp_SemanticSearch: the query must have 1 to {{ policy.MAX_DIMENSION }} float32 values, not ',
                              DATALENGTH(@Query), N' bytes');
        THROW 50203, @Message, 1;
    END;
    SET @Dimension = DATALENGTH(@Query) / 4;
    IF @use_hybrid = 1 AND @prefilter <> N'index' AND @Dimension <> 384
    BEGIN
        SET @Message = CONCAT(N'sp_SemanticSearch: prefilter ', @prefilter, N' searches the 384-dimension embeddings the ',
                              N'landmarks were fitted on; the query has ', @Dimension, N' dimensions');
        THROW 50211, @Message, 1;
    END;
    SET @Candidates = COALESCE(@candidate_count, CASE WHEN @top_k * {{ policy.CANDIDATES_PER_RESULT }} > {{ policy.MIN_CANDIDATES }}
                                                      THEN @top_k * {{ policy.CANDIDATES_PER_RESULT }} ELSE {{ policy.MIN_CANDIDATES }} END);

    CREATE TABLE #candidates (AtomEmbeddingId BIGINT PRIMARY KEY, EmbeddingVector VARBINARY(MAX) NOT NULL);
    -- ids cross as text: a BIGINT column reaches Python as a float
    CREATE TABLE #ranked (AtomEmbeddingId BIGINT PRIMARY KEY, Score FLOAT NOT NULL, AtomId BIGINT NULL,
                          Preview NVARCHAR({{ policy.PREVIEW_CHARACTERS * 2 }}) NULL);
{%- if mssql_version >= 2025 %}
    -- SQL Server 2025: the exact path over the packaged model's type runs in the engine
    -- (VECTOR_DISTANCE over EmbeddingNative, generally available in 2025) when that is the type the
    -- query resolves to and every such embedding of the tenant has its native copy; otherwise, and
    -- for every other type, as on 2019/2022 (a zero query too: that path refuses it, 50210). The
    -- approximate path stays this package's vector index: SQL Server 2025's own (CREATE VECTOR INDEX,
    -- VECTOR_SEARCH) is a preview feature behind the PREVIEW_FEATURES database setting, needs a
    -- clustered primary key on one INT column (dbo.AtomEmbeddings' is BIGINT), and leaves its table
    -- read-only (DML only with ALLOW_STALE_VECTOR_INDEX, stale results), which would stop
    -- sp_IngestAtom and sp_IngestAtoms.
    IF @use_hybrid = 0 AND @Dimension = 384 AND @QueryJson IS NOT NULL
       AND VECTOR_NORM(CAST(@QueryJson AS VECTOR(384)), 'norm2') > 0
       AND COALESCE(@EmbeddingType, N'all-MiniLM-L6-v2') = N'all-MiniLM-L6-v2'
       AND NOT EXISTS (SELECT 1 FROM dbo.AtomEmbeddings AS e INNER JOIN dbo.Atoms AS a ON a.AtomId = e.AtomId
                       WHERE a.TenantId = @TenantId AND e.Dimension = 384
                         AND (e.EmbeddingType <> N'all-MiniLM-L6-v2' OR e.EmbeddingNative IS NULL))
       AND EXISTS (SELECT 1 FROM dbo.AtomEmbeddings AS e INNER JOIN dbo.Atoms AS a ON a.AtomId = e.AtomId
                   WHERE a.TenantId = @TenantId AND e.EmbeddingType = N'all-MiniLM-L6-v2')
    BEGIN
        DECLARE @QueryNative VECTOR(384) = CAST(@QueryJson AS VECTOR(384));
        SELECT @Mode = N'exact (VECTOR_DISTANCE)', @Searched = N'all-MiniLM-L6-v2';
        INSERT INTO #ranked (AtomEmbeddingId, Score, AtomId)
        SELECT TOP (@top_k) e.AtomEmbeddingId, 1e0 - VECTOR_DISTANCE('cosine', e.EmbeddingNative, @QueryNative), e.AtomId
        FROM dbo.AtomEmbeddings AS e INNER JOIN dbo.Atoms AS a ON a.AtomId = e.AtomId
        WHERE a.TenantId = @TenantId AND e.EmbeddingType = N'all-MiniLM-L6-v2'
          AND (@category IS NULL OR a.Modality = @category)
        ORDER BY VECTOR_DISTANCE('cosine', e.EmbeddingNative, @QueryNative), e.AtomEmbeddingId;
        SELECT @Examined = COUNT_BIG(*)
        FROM dbo.AtomEmbeddings AS e INNER JOIN dbo.Atoms AS a ON a.AtomId = e.AtomId
        WHERE a.TenantId = @TenantId AND e.EmbeddingType = N'all-MiniLM-L6-v2' AND (@category IS NULL OR a.Modality = @category);
    END
    ELSE
{%- endif %}
    IF @use_hybrid = 0 OR @prefilter = N'index'
    BEGIN
        -- query_text is the packaged model's embedding: its type unless the caller names another
        SET @SearchType = COALESCE(@EmbeddingType, CASE WHEN @query_text IS NOT NULL THEN N'all-MiniLM-L6-v2' END);
        -- the tenant's active segments and raw delta sizes, read together
        SET @State = (SELECT (SELECT s.SegmentId AS id, s.EmbeddingType AS type, s.Dimension AS dimension
                              FROM dbo.VectorIndexSegments AS s WHERE s.TenantId = @TenantId AND s.IsActive = 1
                              FOR JSON PATH) AS segments,
                             (SELECT e.EmbeddingType AS type, e.Dimension AS dimension, COUNT_BIG(*) AS pending
                              FROM dbo.AtomEmbeddings AS e INNER JOIN dbo.Atoms AS a ON a.AtomId = e.AtomId
                              WHERE e.Indexed = 0 AND a.TenantId = @TenantId
                              GROUP BY e.EmbeddingType, e.Dimension FOR JSON PATH) AS pending
                      FOR JSON PATH, WITHOUT_ARRAY_WRAPPER);
        -- what the script reads (it cannot query back): the segments of the query's dimension (and
        -- type), the raw delta, and the ids that still exist (of the tenant and category); ids as text
        CREATE TABLE #search (Part CHAR(1) NOT NULL, Id VARCHAR(20) NOT NULL, Ordinal INT NULL, Data VARBINARY(MAX) NULL);
        INSERT INTO #search (Part, Id, Ordinal, Data)
        SELECT 'S', CONVERT(VARCHAR(20), c.SegmentId), c.ChunkIndex, c.Data
        FROM dbo.VectorIndexSegments AS s INNER JOIN dbo.VectorIndexChunks AS c ON c.SegmentId = s.SegmentId
        WHERE s.TenantId = @TenantId AND s.IsActive = 1 AND s.Dimension = @Dimension
          AND (@SearchType IS NULL OR s.EmbeddingType = @SearchType);
        INSERT INTO #search (Part, Id, Ordinal, Data)
        SELECT 'D', CONVERT(VARCHAR(20), e.AtomEmbeddingId), NULL, e.EmbeddingVector
        FROM dbo.AtomEmbeddings AS e INNER JOIN dbo.Atoms AS a ON a.AtomId = e.AtomId
        WHERE e.Indexed = 0 AND a.TenantId = @TenantId AND e.Dimension = @Dimension
          AND (@SearchType IS NULL OR e.EmbeddingType = @SearchType) AND (@category IS NULL OR a.Modality = @category);
        INSERT INTO #search (Part, Id, Ordinal, Data)
        SELECT 'L', CONVERT(VARCHAR(20), e.AtomEmbeddingId), NULL, NULL
        FROM dbo.AtomEmbeddings AS e INNER JOIN dbo.Atoms AS a ON a.AtomId = e.AtomId
        WHERE a.TenantId = @TenantId AND e.Dimension = @Dimension
          AND (@SearchType IS NULL OR e.EmbeddingType = @SearchType) AND (@category IS NULL OR a.Modality = @category);
        SELECT @Results = NULL, @Problem = NULL;
        EXEC sys.sp_execute_external_script
            @language = N'Python',
            @script = N'
import json
from hartonomous_ext import vector_index
state = json.loads(state)
segments = [(int(s["id"]), s["type"], int(s["dimension"])) for s in state.get("segments", [])]
pending = {(p["type"], int(p["dimension"])): int(p["pending"]) for p in state.get("pending", [])}
# nothing to read (an unknown tenant, an empty category) may come as a frame without columns
parts = {part: frame for part, frame in InputDataSet.groupby("Part")} if len(InputDataSet) else {}
stored = {}
if "S" in parts:
    for segment, chunks in parts["S"].sort_values(["Id", "Ordinal"]).groupby("Id"):
        stored[int(segment)] = b"".join(chunks["Data"])
delta = ([int(i) for i in parts["D"]["Id"]], b"".join(parts["D"]["Data"])) if "D" in parts else ([], b"")
live = [int(i) for i in parts["L"]["Id"]] if "L" in parts else []
reader = vector_index.MemoryIndexReader(segments, pending, stored, delta, live)
# every OUTPUT parameter gets a value: one left unset (or None) stops BxlServer; empty reads back as NULL
ranked, searched, examined, mode, problem = "[]", "", 0, "", ""
try:
    found = vector_index.search_index(reader, vector_index.SegmentCache(0), tenant, requested or None, query,
                                      top_k, not hybrid)
    ranked, searched, examined, mode = json.dumps(found.rows), found.searched or "", found.examined, found.mode
except vector_index.SearchError as exc:
    problem = str(exc)
',
            @input_data_1 = N'SELECT Part, Id, Ordinal, Data FROM #search',
            @params = N'@state NVARCHAR(MAX), @query VARBINARY(MAX), @top_k INT, @tenant INT, @requested NVARCHAR(64),
                        @hybrid BIT, @ranked NVARCHAR(MAX) OUTPUT, @searched NVARCHAR(64) OUTPUT, @examined INT OUTPUT,
                        @mode NVARCHAR(200) OUTPUT, @problem NVARCHAR(2048) OUTPUT',
            @state = @State, @query = @Query, @top_k = @top_k, @tenant = @TenantId, @requested = @SearchType,
            @hybrid = @use_hybrid, @ranked = @Results OUTPUT, @searched = @Searched OUTPUT, @examined = @Compared OUTPUT,
            @mode = @Mode OUTPUT, @problem = @Problem OUTPUT
        WITH RESULT SETS NONE;
        SELECT @Problem = NULLIF(@Problem, N''), @Examined = @Compared;
        IF @Problem IS NOT NULL
        BEGIN
            SET @Message = CONCAT(N'sp_SemanticSearch: ', @Problem);
            THROW 50210, @Message, 1;
        END;
        SET @Mode = COALESCE(NULLIF(@Mode, N''), CASE WHEN @use_hybrid = 1 THEN N'index: nothing stored' ELSE N'exact: nothing stored' END);
        INSERT INTO #ranked (AtomEmbeddingId, Score, AtomId)
        SELECT r.AtomEmbeddingId, r.Score, e.AtomId
        FROM OPENJSON(@Results) WITH (AtomEmbeddingId BIGINT '$[0]', Score FLOAT '$[1]') AS r
        INNER JOIN dbo.AtomEmbeddings AS e ON e.AtomEmbeddingId = r.AtomEmbeddingId;
    END
    ELSE
    BEGIN
        SELECT @Mean = MeanVector, @Axes = Axes, @Width = BucketWidth, @Centroids = Centroids, @CentroidCount = CentroidCount
        FROM dbo.SpatialLandmarks WHERE IsActive = 1 AND Dimension = 384;
        -- probing more than half the buckets is an exact scan, and runs as one (as on PostgreSQL)
        IF @use_hybrid = 1 AND @Mean IS NOT NULL AND @prefilter = N'buckets' AND @Centroids IS NOT NULL
           AND COALESCE(@probes, 0) <= @CentroidCount / 2
        BEGIN
            SET @Probes = COALESCE(@probes, CASE WHEN @CentroidCount / 2 < 1 THEN 1
                                                 WHEN @CentroidCount / 2 < {{ policy.DEFAULT_PROBES }} THEN @CentroidCount / 2
                                                 ELSE {{ policy.DEFAULT_PROBES }} END);
            CREATE TABLE #buckets (VectorBucket INT PRIMARY KEY);
            EXEC sys.sp_execute_external_script
                @language = N'Python',
                @script = N'
import json
from hartonomous_ext import spatial
buckets = json.dumps(spatial.nearest_buckets(query, centroids, probes))
',
                @params = N'@query VARBINARY(MAX), @centroids VARBINARY(MAX), @probes INT, @buckets NVARCHAR(MAX) OUTPUT',
                @query = @Query, @centroids = @Centroids, @probes = @Probes, @buckets = @Results OUTPUT
            WITH RESULT SETS NONE;
            INSERT INTO #buckets (VectorBucket) SELECT CAST(j.value AS INT) FROM OPENJSON(@Results) AS j;
            SET @Mode = CONCAT(N'hybrid: ', (SELECT COUNT(*) FROM #buckets), N' of ', @CentroidCount, N' buckets');
            INSERT INTO #candidates (AtomEmbeddingId, EmbeddingVector)
            SELECT e.AtomEmbeddingId, e.EmbeddingVector
            FROM dbo.AtomEmbeddings AS e
            INNER JOIN #buckets AS b ON b.VectorBucket = e.VectorBucket
            INNER JOIN dbo.Atoms AS a ON a.AtomId = e.AtomId
            WHERE a.TenantId = @TenantId AND e.Dimension = 384 AND (@category IS NULL OR a.Modality = @category);
        END
        ELSE IF @use_hybrid = 1 AND @Mean IS NOT NULL AND (@prefilter = N'spatial' OR @Centroids IS NULL)
        BEGIN
            SET @Mode = CASE WHEN @prefilter = N'spatial' THEN N'hybrid: spatial' ELSE N'hybrid: spatial (no buckets fitted)' END;
            EXEC sys.sp_execute_external_script
                @language = N'Python',
                @script = N'
from hartonomous_ext import spatial
point = spatial.project([query], mean, axes, width)[0]
x, y = float(point[0]), float(point[1])
',
                @params = N'@query VARBINARY(MAX), @mean VARBINARY(MAX), @axes VARBINARY(MAX), @width FLOAT, @x FLOAT OUTPUT, @y FLOAT OUTPUT',
                @query = @Query, @mean = @Mean, @axes = @Axes, @width = @Width, @x = @X OUTPUT, @y = @Y OUTPUT
            WITH RESULT SETS NONE;
            INSERT INTO #candidates (AtomEmbeddingId, EmbeddingVector)
            SELECT TOP (@Candidates) e.AtomEmbeddingId, e.EmbeddingVector
            FROM dbo.AtomEmbeddings AS e
            INNER JOIN dbo.Atoms AS a ON a.AtomId = e.AtomId
            WHERE a.TenantId = @TenantId AND e.SpatialGeometry IS NOT NULL AND e.Dimension = 384
              AND e.SpatialGeometry.STDistance(geometry::Point(@X, @Y, 0)) IS NOT NULL -- lets the spatial index answer
              AND (@category IS NULL OR a.Modality = @category)
            ORDER BY e.SpatialGeometry.STDistance(geometry::Point(@X, @Y, 0));
        END
        ELSE
        BEGIN
            -- (use_hybrid 0 never comes here: the vector index answers it)
            SET @Mode = CASE WHEN @Mean IS NULL THEN N'exact (no landmarks fitted)'
                             ELSE N'exact (probes cover most buckets)' END;
            INSERT INTO #candidates (AtomEmbeddingId, EmbeddingVector)
            SELECT e.AtomEmbeddingId, e.EmbeddingVector
            FROM dbo.AtomEmbeddings AS e
            INNER JOIN dbo.Atoms AS a ON a.AtomId = e.AtomId
            WHERE a.TenantId = @TenantId AND e.Dimension = 384 AND (@category IS NULL OR a.Modality = @category);
        END;
        SET @Examined = (SELECT COUNT_BIG(*) FROM #candidates);
    END;

    IF EXISTS (SELECT 1 FROM #candidates)
    BEGIN
        SET @Results = NULL;
        EXEC sys.sp_execute_external_script
            @language = N'Python',
            @script = N'
import json
from hartonomous_ext import search
ids = list(InputDataSet["AtomEmbeddingId"])
best = search.rank_by_cosine(query, list(InputDataSet["EmbeddingVector"]), top_k)
ranked = json.dumps([[ids[i], score] for i, score in best])
',
            @input_data_1 = N'SELECT CAST(AtomEmbeddingId AS VARCHAR(20)) AS AtomEmbeddingId, EmbeddingVector FROM #candidates',
            @params = N'@query VARBINARY(MAX), @top_k INT, @ranked NVARCHAR(MAX) OUTPUT',
            @query = @Query, @top_k = @top_k, @ranked = @Results OUTPUT
        WITH RESULT SETS NONE;
        INSERT INTO #ranked (AtomEmbeddingId, Score, AtomId)
        SELECT r.AtomEmbeddingId, r.Score, e.AtomId
        FROM OPENJSON(@Results) WITH (AtomEmbeddingId BIGINT '$[0]', Score FLOAT '$[1]') AS r
        INNER JOIN dbo.AtomEmbeddings AS e ON e.AtomEmbeddingId = r.AtomEmbeddingId;
    END;
    IF EXISTS (SELECT 1 FROM #ranked)
    BEGIN
        -- the previews of the few results, decoded in Python. The script's input query runs in the
        -- caller's own context, outside this procedure's ownership chain (an application user holds
        -- no SELECT on dbo.Atoms): it reads a temporary table filled here.
        SET @Results = NULL;
        SELECT r.AtomId, SUBSTRING(p.Payload, 1, 800) AS Payload
        INTO #previews
        FROM #ranked AS r
        INNER JOIN dbo.Atoms AS a ON a.AtomId = r.AtomId AND a.Modality = N'text'
        INNER JOIN dbo.AtomPayloadStore AS p ON p.AtomId = r.AtomId;
        IF EXISTS (SELECT 1 FROM #previews)
        EXEC sys.sp_execute_external_script
            @language = N'Python',
            @script = N'
import json
from hartonomous_ext import atoms
previews = json.dumps({atom: atoms.preview(payload) for atom, payload
                       in zip(InputDataSet["AtomId"], InputDataSet["Payload"])})
',
            @input_data_1 = N'SELECT CAST(AtomId AS VARCHAR(20)) AS AtomId, Payload FROM #previews',
            @params = N'@previews NVARCHAR(MAX) OUTPUT',
            @previews = @Results OUTPUT
        WITH RESULT SETS NONE;
        UPDATE r SET Preview = j.value
        FROM #ranked AS r
        INNER JOIN OPENJSON(@Results) AS j ON CAST(j.[key] AS BIGINT) = r.AtomId;
    END;

    -- the request and its charge commit together before any row is returned: a refused charge
    -- (a concurrent call took the quota's last unit) returns no rows
    SET @Found = (SELECT COUNT(*) FROM #ranked AS r INNER JOIN dbo.Atoms AS a ON a.AtomId = r.AtomId);
    SET XACT_ABORT ON;
    BEGIN TRANSACTION;
        INSERT INTO dbo.InferenceRequests (TenantId, TaskType, StartTime, Parameters, DurationMs, CandidatesExamined, ResultCount)
        VALUES (@TenantId, N'semantic-search', @Started,
                (SELECT @top_k AS top_k, @category AS category, @use_hybrid AS use_hybrid, @Mode AS mode,
                        @Searched AS embedding_type, @Dimension AS dimension,
                        @prefilter AS prefilter, @Probes AS probes, @candidate_count AS candidate_count,
                        LEFT(@query_text, 200) AS query_text FOR JSON PATH, WITHOUT_ARRAY_WRAPPER),
                DATEDIFF_BIG(MICROSECOND, @Started, SYSUTCDATETIME()) / 1000.0, @Examined, @Found);
        EXEC dbo.sp_ChargeUsage @TenantId = @TenantId, @Operation = 'search', @Units = 1,
            @Source = N'sp_SemanticSearch', @QuotaCheckOnly = 0;
        IF @query_text IS NOT NULL
            EXEC dbo.sp_ChargeUsage @TenantId = @TenantId, @Operation = 'embedding', @Units = 1,
                @Source = N'sp_SemanticSearch', @QuotaCheckOnly = 0;
    COMMIT TRANSACTION;

    SELECT a.AtomId, r.Score, a.ContentType, r.Preview
    FROM #ranked AS r
    INNER JOIN dbo.Atoms AS a ON a.AtomId = r.AtomId
    ORDER BY r.Score DESC, a.AtomId;
END;
