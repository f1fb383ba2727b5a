-- kind: function
-- requires: dbo.Atoms, dbo.AtomEmbeddings, dbo.AtomPayloadStore, dbo.SpatialLandmarks, dbo.InferenceRequests, dbo.fn_GenerateEmbedding, dbo.fn_ProjectEmbeddings, dbo.fn_RankByCosine
-- Semantic search over the tenant's embeddings. Give query_embedding (384 float32 values as bytes)
-- or query_text (embedded in the database). Hybrid: the candidates nearest the query's 3-D point
-- through the n-d GiST index, then exact cosine rerank; without fitted landmarks it falls back to
-- exact. Exact: cosine over every embedding. Each call is recorded in dbo.InferenceRequests.
-- A function on PostgreSQL (it returns rows): SELECT * FROM dbo.sp_SemanticSearch(query_text => '...').
CREATE OR REPLACE FUNCTION dbo.sp_SemanticSearch(
    query_embedding bytea DEFAULT NULL,
    query_text text DEFAULT NULL,
    top_k integer DEFAULT 10,
    category text DEFAULT NULL,
    use_hybrid boolean DEFAULT true,
    TenantId integer DEFAULT 0,
    candidate_count integer DEFAULT NULL
)
RETURNS TABLE (AtomId bigint, Score double precision, ContentType text, Preview text)
LANGUAGE plpgsql
VOLATILE
AS $$
#variable_conflict use_column
DECLARE
    started timestamptz := clock_timestamp();
    query bytea := query_embedding;
    landmarks record;
    point record;
    mode text;
    examined bigint;
    ids bigint[];
    vectors bytea[];
    found integer;
BEGIN
    IF top_k IS NULL OR top_k < 1 OR top_k > 1000 THEN
        RAISE EXCEPTION 'sp_SemanticSearch: top_k must be between 1 and 1000' USING ERRCODE = '22023';
    END IF;
    IF (query IS NULL) = (query_text IS NULL) THEN
        RAISE EXCEPTION 'sp_SemanticSearch: give exactly one of query_embedding and query_text' USING ERRCODE = '22023';
    END IF;
    IF query IS NULL THEN
        query := dbo.fn_GenerateEmbedding(query_text);
    END IF;
    IF octet_length(query) <> 384 * 4 THEN
        RAISE EXCEPTION 'sp_SemanticSearch: query_embedding has % bytes (% float32 values); the embeddings have 384 dimensions',
            octet_length(query), trim_scale(octet_length(query) / 4.0) USING ERRCODE = '22023';
    END IF;

    SELECT * INTO landmarks FROM dbo.SpatialLandmarks l WHERE l.IsActive AND l.Dimension = 384;
    IF use_hybrid AND landmarks IS NOT NULL THEN
        mode := 'hybrid';
        SELECT * INTO point FROM dbo.fn_ProjectEmbeddings(ARRAY[query], landmarks.MeanVector, landmarks.Axes,
                                                          landmarks.BucketWidth);
        SELECT array_agg(c.AtomEmbeddingId), array_agg(c.EmbeddingVector) INTO ids, vectors
        FROM (SELECT e.AtomEmbeddingId, e.EmbeddingVector
              FROM dbo.AtomEmbeddings e JOIN dbo.Atoms a ON a.AtomId = e.AtomId
              WHERE a.TenantId = sp_SemanticSearch.TenantId AND e.SpatialGeometry IS NOT NULL
                AND (category IS NULL OR a.Modality = category)
              ORDER BY e.SpatialGeometry <<->> ST_MakePoint(point.X, point.Y, point.Z)
              LIMIT coalesce(candidate_count, greatest(top_k * 100, 1000))) c;
    ELSE
        mode := CASE WHEN use_hybrid THEN 'exact (no landmarks fitted)' ELSE 'exact' END;
        SELECT array_agg(e.AtomEmbeddingId), array_agg(e.EmbeddingVector) INTO ids, vectors
        FROM dbo.AtomEmbeddings e JOIN dbo.Atoms a ON a.AtomId = e.AtomId
        WHERE a.TenantId = sp_SemanticSearch.TenantId AND e.Dimension = 384
          AND (category IS NULL OR a.Modality = category);
    END IF;
    examined := coalesce(array_length(ids, 1), 0);

    RETURN QUERY
    SELECT a.AtomId, r.Score, a.ContentType,
           CASE WHEN a.Modality = 'text' THEN left(convert_from(p.Payload, 'UTF8'), 200) END
    FROM dbo.fn_RankByCosine(query, coalesce(ids, '{}'), coalesce(vectors, '{}'), top_k) r
    JOIN dbo.AtomEmbeddings e ON e.AtomEmbeddingId = r.Id
    JOIN dbo.Atoms a ON a.AtomId = e.AtomId
    LEFT JOIN dbo.AtomPayloadStore p ON p.AtomId = a.AtomId
    ORDER BY r.Score DESC, a.AtomId;
    GET DIAGNOSTICS found = ROW_COUNT;

    INSERT INTO dbo.InferenceRequests (TenantId, RequestType, Parameters, DurationMs, CandidatesExamined, ResultCount)
    VALUES (sp_SemanticSearch.TenantId, 'semantic-search',
            jsonb_build_object('top_k', top_k, 'category', category, 'use_hybrid', use_hybrid, 'mode', mode,
                               'query_text', left(query_text, 200)),
            extract(epoch FROM clock_timestamp() - started) * 1000, examined, found);
END
$$;
