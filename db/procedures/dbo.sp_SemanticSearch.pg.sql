-- kind: function
-- requires: dbo.Atoms, dbo.AtomEmbeddings, dbo.AtomPayloadStore, dbo.SpatialLandmarks, dbo.InferenceRequests, dbo.fn_Flag, dbo.fn_VectorFromJson, dbo.fn_GenerateEmbedding, dbo.fn_ProjectEmbeddings, dbo.fn_NearestBuckets, dbo.fn_RankByCosine, dbo.fn_VectorIndexSearch, dbo.fn_ResolveTenant, dbo.sp_ChargeUsage
-- Semantic search over the tenant's embeddings of one type. Give one of query_embedding (a JSON
-- array of numbers, '[0.123, 0.456, ...]'; query_dimension, when given, must be its length),
-- query_vector (float32 values as bytes) or query_text (embedded in the database by the packaged
-- all-MiniLM-L6-v2, and searched among that type's embeddings unless EmbeddingType says otherwise).
-- EmbeddingType NULL: the tenant's one type with the query's dimension (up to 1998); a dimension no
-- type has, or several types have, is an error that names the types.
-- Hybrid (use_hybrid 1, the default) with prefilter 'index' (the default): the vector index
-- (dbo.fn_VectorIndexSearch: an HNSW graph at the ef_search calibrated when it was built, plus the
-- embeddings merged since, scanned exactly); candidates are checked against the table and
-- reranked on their stored vectors, so deleted embeddings never return and scores are exact.
-- Exact (use_hybrid 0 or false): cosine over every embedding of the type, in memory.
-- The earlier pre-filters stay for the 384-dimension type the landmarks were fitted on:
--   prefilter 'buckets': the members of the `probes` vector buckets whose k-means centres are
--     nearest the query (b-tree on VectorBucket); probes defaults to {{ policy.DEFAULT_PROBES }} (at most half the buckets);
--   prefilter 'spatial': the candidate_count embeddings nearest the query's 3-D point (GiST n-d).
-- Each call is recorded in dbo.InferenceRequests with the path it took, and metered (dbo.sp_ChargeUsage):
-- one 'search', and one 'embedding' for a query_text; past a quota it refuses before the work.
-- A function on PostgreSQL (it returns rows): SELECT * FROM dbo.sp_SemanticSearch(query_text => '...').
CREATE OR REPLACE FUNCTION dbo.sp_SemanticSearch(
    query_embedding text DEFAULT NULL,
    query_dimension integer DEFAULT NULL,
    query_vector bytea DEFAULT NULL,
    query_text text DEFAULT NULL,
    top_k integer DEFAULT 10,
    category text DEFAULT NULL,
    use_hybrid anycompatible DEFAULT true,
    TenantId integer DEFAULT NULL,
    candidate_count integer DEFAULT NULL,
    prefilter text DEFAULT 'index',
    probes integer DEFAULT NULL,
    EmbeddingType text DEFAULT NULL
)
RETURNS TABLE (AtomId bigint, Score double precision, ContentType text, Preview text)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = dbo, public, pg_temp
VOLATILE
AS $$
#variable_conflict use_column
DECLARE
    started timestamptz := clock_timestamp();
    query bytea := query_vector;
    hybrid boolean := coalesce(dbo.fn_Flag(use_hybrid, 'use_hybrid'), true);
    landmarks record;
    point record;
    mode text;
    examined bigint;
    ids bigint[];
    vectors bytea;
    buckets integer[];
    best_ids bigint[] := '{}';
    best_scores double precision[] := '{}';
    last_id bigint := 0;
    batch_count integer;
    scan_batch integer := coalesce(nullif(current_setting('hartonomous.search_scan_batch', true), '')::integer, 5000);
    group_size integer;
    first integer;
    found integer;
BEGIN
    sp_SemanticSearch.TenantId := dbo.fn_ResolveTenant(sp_SemanticSearch.TenantId, 'sp_SemanticSearch');
    IF top_k IS NULL OR top_k < 1 OR top_k > {{ policy.MAX_TOP_K }} THEN
        RAISE EXCEPTION 'sp_SemanticSearch: top_k must be between 1 and {{ policy.MAX_TOP_K }}' USING ERRCODE = '22023';
    END IF;
    IF prefilter IS NULL OR prefilter NOT IN ('index', 'buckets', 'spatial') THEN
        RAISE EXCEPTION 'sp_SemanticSearch: prefilter must be ''index'', ''buckets'' or ''spatial'', not %', coalesce(prefilter, 'NULL')
            USING ERRCODE = '22023';
    END IF;
    IF probes IS NOT NULL AND probes < 1 OR candidate_count IS NOT NULL AND candidate_count < 1 THEN
        RAISE EXCEPTION 'sp_SemanticSearch: probes and candidate_count must be at least 1' USING ERRCODE = '22023';
    END IF;
    IF candidate_count > {{ policy.MAX_CANDIDATES }} THEN
        RAISE EXCEPTION 'sp_SemanticSearch: candidate_count must be at most {{ policy.MAX_CANDIDATES }}; use use_hybrid => false for an exact scan'
            USING ERRCODE = '22023';
    END IF;
    IF num_nonnulls(query_embedding, query_vector, query_text) <> 1 THEN
        RAISE EXCEPTION 'sp_SemanticSearch: give exactly one of query_embedding, query_vector and query_text'
            USING ERRCODE = '22023';
    END IF;
    IF query_text !~ '\S' THEN  -- nothing but whitespace (btrim strips only spaces)
        RAISE EXCEPTION 'sp_SemanticSearch: query_text is empty' USING ERRCODE = '22023';
    END IF;
    CALL dbo.sp_ChargeUsage(sp_SemanticSearch.TenantId, 'search', 1, 'sp_SemanticSearch', true);
    IF query_text IS NOT NULL THEN
        CALL dbo.sp_ChargeUsage(sp_SemanticSearch.TenantId, 'embedding', 1, 'sp_SemanticSearch', true);
    END IF;
    IF query_embedding IS NOT NULL THEN
        BEGIN
            query := dbo.fn_VectorFromJson(query_embedding, query_dimension);
        EXCEPTION WHEN invalid_parameter_value THEN  -- (PL/Python prefixes its errors with their class)
            RAISE EXCEPTION 'sp_SemanticSearch: %', regexp_replace(SQLERRM, '^plpy\.Error: ', '') USING ERRCODE = '22023';
        END;
    ELSIF query_text IS NOT NULL THEN
        query := dbo.fn_GenerateEmbedding(query_text);
    END IF;
    IF query_dimension IS NOT NULL AND octet_length(query) <> query_dimension * 4 THEN
        RAISE EXCEPTION 'sp_SemanticSearch: the query has % dimensions, not the % of query_dimension',
            trim_scale(octet_length(query) / 4.0), query_dimension USING ERRCODE = '22023';
    END IF;
    IF octet_length(query) NOT BETWEEN 4 AND {{ policy.MAX_DIMENSION }} * 4 OR octet_length(query) % 4 <> 0 THEN
        RAISE EXCEPTION 'sp_SemanticSearch: the query must have 1 to {{ policy.MAX_DIMENSION }} float32 values, not % bytes',
            octet_length(query) USING ERRCODE = '22023';
    END IF;

    IF NOT hybrid OR prefilter = 'index' THEN
        BEGIN
            SELECT array_agg(r.AtomEmbeddingId ORDER BY r.Score DESC, r.AtomEmbeddingId),
                   array_agg(r.Score ORDER BY r.Score DESC, r.AtomEmbeddingId), max(r.Examined), max(r.Mode)
            INTO best_ids, best_scores, examined, mode
            FROM dbo.fn_VectorIndexSearch(sp_SemanticSearch.TenantId,
                                          coalesce(EmbeddingType, CASE WHEN query_text IS NOT NULL THEN 'all-MiniLM-L6-v2' END),
                                          query, top_k, category, NOT hybrid) r;
        EXCEPTION WHEN invalid_parameter_value THEN  -- (PL/Python prefixes its errors with their class)
            RAISE EXCEPTION 'sp_SemanticSearch: %', regexp_replace(SQLERRM, '^plpy\.Error: fn_VectorIndexSearch: ', '')
                USING ERRCODE = '22023';
        END;
        best_ids := coalesce(best_ids, '{}');
        best_scores := coalesce(best_scores, '{}');
        mode := coalesce(mode, CASE WHEN hybrid THEN 'index: nothing stored' ELSE 'exact: nothing stored' END);
    ELSIF octet_length(query) <> 384 * 4 THEN
        RAISE EXCEPTION 'sp_SemanticSearch: prefilter % searches the 384-dimension embeddings the landmarks were fitted on; the query has % dimensions',
            prefilter, octet_length(query) / 4 USING ERRCODE = '22023';
    ELSE
        SELECT * INTO landmarks FROM dbo.SpatialLandmarks l WHERE l.IsActive AND l.Dimension = 384;
        IF hybrid AND landmarks IS NOT NULL AND prefilter = 'buckets' AND landmarks.Centroids IS NOT NULL
           AND coalesce(probes, 0) <= landmarks.CentroidCount / 2 THEN
            buckets := dbo.fn_NearestBuckets(query, landmarks.Centroids,
                                             coalesce(probes, greatest(1, least({{ policy.DEFAULT_PROBES }}, landmarks.CentroidCount / 2))));
            mode := format('hybrid: %s of %s buckets', cardinality(buckets), landmarks.CentroidCount);
            -- a few buckets at a time, about scan_batch candidates each: one huge value costs more per
            -- candidate than several small ones
            SELECT greatest(1, floor(scan_batch / greatest(1.0, c.reltuples / landmarks.CentroidCount)))::integer
            INTO group_size FROM pg_class c WHERE c.oid = 'dbo.atomembeddings'::regclass;
            examined := 0;
            FOR first IN 1 .. cardinality(buckets) BY group_size LOOP
                -- both aggregates read the same rows in the same order: ids[i] owns the i-th 1536 bytes
                SELECT array_agg(e.AtomEmbeddingId), string_agg(e.EmbeddingVector, ''::bytea), count(*)
                INTO ids, vectors, batch_count
                FROM dbo.AtomEmbeddings e JOIN dbo.Atoms a ON a.AtomId = e.AtomId
                WHERE e.VectorBucket = ANY (buckets[first:first + group_size - 1])
                  AND a.TenantId = sp_SemanticSearch.TenantId AND e.Dimension = 384
                  AND (category IS NULL OR a.Modality = category);
                CONTINUE WHEN batch_count = 0;
                examined := examined + batch_count;
                SELECT best_ids || array_agg(r.Id), best_scores || array_agg(r.Score) INTO best_ids, best_scores
                FROM dbo.fn_RankByCosine(query, ids, vectors, top_k) r;
            END LOOP;
            ids := NULL;
        ELSIF hybrid AND landmarks IS NOT NULL AND (prefilter = 'spatial' OR landmarks.Centroids IS NULL) THEN
            mode := CASE WHEN prefilter = 'spatial' THEN 'hybrid: spatial' ELSE 'hybrid: spatial (no buckets fitted)' END;
            SELECT * INTO point FROM dbo.fn_ProjectEmbeddings(ARRAY[query], landmarks.MeanVector, landmarks.Axes,
                                                              landmarks.BucketWidth, NULL);
            SELECT array_agg(c.AtomEmbeddingId), string_agg(c.EmbeddingVector, ''::bytea) INTO ids, vectors
            FROM (SELECT e.AtomEmbeddingId, e.EmbeddingVector
                  FROM dbo.AtomEmbeddings e JOIN dbo.Atoms a ON a.AtomId = e.AtomId
                  WHERE a.TenantId = sp_SemanticSearch.TenantId AND e.SpatialGeometry IS NOT NULL AND e.Dimension = 384
                    AND (category IS NULL OR a.Modality = category)
                  ORDER BY e.SpatialGeometry <<->> ST_MakePoint(point.X, point.Y, point.Z)
                  LIMIT coalesce(candidate_count, greatest(top_k * {{ policy.CANDIDATES_PER_RESULT }}, {{ policy.MIN_CANDIDATES }}))) c;
        ELSE
            -- (use_hybrid false never comes here: the vector index answers it)
            mode := CASE WHEN landmarks IS NULL THEN 'exact (no landmarks fitted)'
                         ELSE 'exact (probes cover most buckets)' END;
            examined := 0;
            LOOP
                SELECT array_agg(c.AtomEmbeddingId), string_agg(c.EmbeddingVector, ''::bytea), count(*), max(c.AtomEmbeddingId)
                INTO ids, vectors, batch_count, last_id
                FROM (SELECT e.AtomEmbeddingId, e.EmbeddingVector
                      FROM dbo.AtomEmbeddings e JOIN dbo.Atoms a ON a.AtomId = e.AtomId
                      WHERE a.TenantId = sp_SemanticSearch.TenantId AND e.Dimension = 384
                        AND (category IS NULL OR a.Modality = category) AND e.AtomEmbeddingId > last_id
                      ORDER BY e.AtomEmbeddingId LIMIT scan_batch) c;
                EXIT WHEN batch_count = 0;
                examined := examined + batch_count;
                SELECT best_ids || array_agg(r.Id), best_scores || array_agg(r.Score) INTO best_ids, best_scores
                FROM dbo.fn_RankByCosine(query, ids, vectors, top_k) r;
            END LOOP;
            ids := NULL;
        END IF;
    END IF;
    IF ids IS NOT NULL THEN
        examined := array_length(ids, 1);
        SELECT coalesce(array_agg(r.Id), '{}'), coalesce(array_agg(r.Score), '{}') INTO best_ids, best_scores
        FROM dbo.fn_RankByCosine(query, ids, vectors, top_k) r;
    END IF;
    examined := coalesce(examined, 0);

    RETURN QUERY
    SELECT a.AtomId, r.Score, a.ContentType,
           CASE WHEN a.Modality = 'text' THEN left(convert_from(p.Payload, 'UTF8'), {{ policy.PREVIEW_CHARACTERS }}) END
    FROM unnest(best_ids, best_scores) AS r(Id, Score)
    JOIN dbo.AtomEmbeddings e ON e.AtomEmbeddingId = r.Id
    JOIN dbo.Atoms a ON a.AtomId = e.AtomId
    LEFT JOIN dbo.AtomPayloadStore p ON p.AtomId = a.AtomId
    ORDER BY r.Score DESC, a.AtomId
    LIMIT top_k;
    GET DIAGNOSTICS found = ROW_COUNT;

    INSERT INTO dbo.InferenceRequests (TenantId, TaskType, Parameters, DurationMs, CandidatesExamined, ResultCount)
    VALUES (sp_SemanticSearch.TenantId, 'semantic-search',
            jsonb_build_object('top_k', top_k, 'category', category, 'use_hybrid', hybrid, 'mode', mode,
                               'embedding_type', EmbeddingType, 'dimension', octet_length(query) / 4,
                               'prefilter', prefilter, 'probes', cardinality(buckets), 'candidate_count', candidate_count,
                               'query_text', left(query_text, 200)),
            extract(epoch FROM clock_timestamp() - started) * 1000, examined, found);
    CALL dbo.sp_ChargeUsage(sp_SemanticSearch.TenantId, 'search', 1, 'sp_SemanticSearch');
    IF query_text IS NOT NULL THEN
        CALL dbo.sp_ChargeUsage(sp_SemanticSearch.TenantId, 'embedding', 1, 'sp_SemanticSearch');
    END IF;
END
$$;
