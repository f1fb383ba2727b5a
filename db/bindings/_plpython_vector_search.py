# The vector index's reader over a session's prepared plans and its segment cache, shared by
# dbo.fn_VectorIndexSearch and dbo.fn_VectorIndexSearchMany (GD: one cache for both). Expects the
# function's arguments tenantid and category.
plans = GD.get("vector_search_plans")
if plans is None:
    plans = dict(
        # the active segments and the raw delta's size per type, in one snapshot
        state=plpy.prepare(
            "SELECT s.SegmentId AS id, s.EmbeddingType AS type, s.Dimension AS dimension, 0::bigint AS pending "
            "FROM dbo.VectorIndexSegments s WHERE s.TenantId = $1 AND s.IsActive "
            "UNION ALL SELECT NULL, e.EmbeddingType, e.Dimension, count(*) FROM dbo.AtomEmbeddings e "
            "JOIN dbo.Atoms a ON a.AtomId = e.AtomId WHERE NOT e.Indexed AND a.TenantId = $1 "
            "GROUP BY e.EmbeddingType, e.Dimension", ["integer"]),
        delta=plpy.prepare(
            "SELECT array_agg(c.AtomEmbeddingId ORDER BY c.AtomEmbeddingId) AS ids, "
            "       string_agg(c.EmbeddingVector, ''::bytea ORDER BY c.AtomEmbeddingId) AS vectors "
            "FROM (SELECT e.AtomEmbeddingId, e.EmbeddingVector FROM dbo.AtomEmbeddings e "
            "      JOIN dbo.Atoms a ON a.AtomId = e.AtomId "
            "      WHERE NOT e.Indexed AND e.EmbeddingType = $2 AND a.TenantId = $1 AND e.Dimension = $3 "
            "        AND ($4::text IS NULL OR a.Modality = $4) AND e.AtomEmbeddingId > $5 "
            "      ORDER BY e.AtomEmbeddingId LIMIT 20000) c",
            ["integer", "text", "integer", "text", "bigint"]),
        segments=plpy.prepare(
            "SELECT SegmentId FROM dbo.VectorIndexSegments WHERE TenantId = $1 AND EmbeddingType = $2 AND IsActive "
            "AND Dimension = $3 ORDER BY SegmentId", ["integer", "text", "integer"]),
        chunks=plpy.prepare("SELECT Data FROM dbo.VectorIndexChunks WHERE SegmentId = $1 ORDER BY ChunkIndex", ["bigint"]),
        live=plpy.prepare(
            "SELECT e.AtomEmbeddingId AS id FROM dbo.AtomEmbeddings e "
            "JOIN dbo.Atoms a ON a.AtomId = e.AtomId WHERE e.AtomEmbeddingId = ANY($1) AND a.TenantId = $2 "
            "AND e.EmbeddingType = $3 AND e.Dimension = $4 AND ($5::text IS NULL OR a.Modality = $5)",
            ["bigint[]", "integer", "text", "integer", "text"]))
    GD["vector_search_plans"] = plans
cache = GD.get("vector_segment_cache")
if cache is None:
    setting = plpy.execute("SELECT current_setting('hartonomous.vector_cache_mb', true) AS mb")[0]["mb"]
    budget = int(setting) * 1048576 if setting else policy.INDEX_CACHE_BYTES
    cache = GD["vector_segment_cache"] = vector_index.SegmentCache(budget)


class PlpyIndexReader:
    """hartonomous_ext.vector_index.IndexReader over this session's prepared plans."""

    def state(self):
        active, pending = [], {}
        for row in plpy.execute(plans["state"], [tenantid]):
            if row["id"] is None:
                pending[(row["type"], row["dimension"])] = row["pending"]
            else:
                active.append((row["id"], row["type"], row["dimension"]))
        return active, pending

    def delta(self, embedding_type, dimension):
        ids, parts, last = [], [], 0
        while True:
            row = plpy.execute(plans["delta"], [tenantid, embedding_type, dimension, category, last])[0]
            if row["ids"] is None:
                return ids, b"".join(parts)
            ids.extend(row["ids"])
            parts.append(row["vectors"])
            last = row["ids"][-1]

    def segment_ids(self, embedding_type, dimension):
        return [r["segmentid"] for r in plpy.execute(plans["segments"], [tenantid, embedding_type, dimension])]

    def segment(self, segment_id):
        parts = [r["data"] for r in plpy.execute(plans["chunks"], [segment_id])]
        return b"".join(parts) if parts else None

    def live(self, ids, embedding_type, dimension):
        return {r["id"] for r in plpy.execute(plans["live"], [ids, tenantid, embedding_type, dimension, category])}
