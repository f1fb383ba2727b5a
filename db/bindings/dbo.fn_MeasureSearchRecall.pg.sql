-- kind: function
-- requires: dbo.VectorIndexSegments, dbo.VectorIndexChunks, dbo.fn_LoadExternalLibrary, hartonomous_ext
-- engine-specific: SQL Server measures inside dbo.sp_Analyze (hartonomous_ext.vector_index.measure_recall in sp_execute_external_script)
-- The search recall of a tenant's vector index for one embedding type, measured against exact
-- (hartonomous_ext.vector_index.measure_recall): SampleSize of the type's own indexed embeddings,
-- picked by Seed, are asked of the index path as fn_VectorIndexSearch runs it (the graph at its
-- calibrated ef_search, the flat segments exactly) and of an exact scan of the same segments;
-- Recall is recall@K, each query left out of both answers. Dimension NULL: the dimension of the
-- type's graph. The segments come from this session's cache (the one fn_VectorIndexSearch
-- fills), loaded when missing. No row when the type has no active graph (flat segments are
-- exact: nothing to measure). Run by dbo.sp_Analyze once a day per graph (search_recall).
CREATE OR REPLACE FUNCTION dbo.fn_MeasureSearchRecall(
    TenantId integer,
    EmbeddingType text,
    SampleSize integer DEFAULT {{ policy.LOOP_RECALL_SAMPLE }},
    K integer DEFAULT {{ policy.LOOP_RECALL_K }},
    Seed integer DEFAULT 0,
    Dimension integer DEFAULT NULL
)
RETURNS TABLE (Recall double precision, Queries integer, Embeddings bigint, GraphSegmentId bigint,
               MeasuredDimension integer, Seconds double precision)
LANGUAGE plpython3u
VOLATILE
AS $$
{% include "bindings/_plpython_preamble.py" %}
from hartonomous_ext import policy, vector_index

if samplesize is None or not 1 <= samplesize <= 1000:
    plpy.error(f"fn_MeasureSearchRecall: SampleSize must be between 1 and 1000, not {samplesize}", sqlstate="22023")
if k is None or not 1 <= k <= policy.MAX_TOP_K:
    plpy.error(f"fn_MeasureSearchRecall: K must be between 1 and {policy.MAX_TOP_K}, not {k}", sqlstate="22023")
if tenantid is None or embeddingtype is None:
    plpy.error("fn_MeasureSearchRecall: TenantId and EmbeddingType must be given", sqlstate="22023")

plans = GD.get("vector_recall_plans")
if plans is None:
    plans = dict(
        segments=plpy.prepare(
            "SELECT s.SegmentId AS id, s.Kind AS kind, s.Dimension AS dimension FROM dbo.VectorIndexSegments s "
            "WHERE s.TenantId = $1 AND s.EmbeddingType = $2 AND s.IsActive ORDER BY s.SegmentId", ["integer", "text"]),
        chunks=plpy.prepare("SELECT Data FROM dbo.VectorIndexChunks WHERE SegmentId = $1 ORDER BY ChunkIndex", ["bigint"]))
    GD["vector_recall_plans"] = plans
# the session's segment cache, as fn_VectorIndexSearch makes it: a search after the measure (or
# before it) loads nothing again
cache = GD.get("vector_segment_cache")
if cache is None:
    setting = plpy.execute("SELECT current_setting('hartonomous.vector_cache_mb', true) AS mb")[0]["mb"]
    budget = int(setting) * 1048576 if setting else policy.INDEX_CACHE_BYTES
    cache = GD["vector_segment_cache"] = vector_index.SegmentCache(budget)


def load(segment_id):
    parts = [r["data"] for r in plpy.execute(plans["chunks"], [segment_id])]
    if not parts:
        raise LookupError(segment_id)  # retired by a rebuild since it was listed
    return vector_index.deserialize(b"".join(parts))


for attempt in range(3):
    listed = plpy.execute(plans["segments"], [tenantid, embeddingtype])
    graphs = [r for r in listed if r["kind"] == "hnsw" and (dimension is None or r["dimension"] == dimension)]
    if not graphs:
        return []
    if len({r["dimension"] for r in graphs}) > 1:
        plpy.error(f"fn_MeasureSearchRecall: embedding type {embeddingtype} of tenant {tenantid} has graphs of "
                   f"{len({r['dimension'] for r in graphs})} dimensions: give Dimension", sqlstate="22023")
    measured_dimension = graphs[0]["dimension"]
    live = [r["id"] for r in listed if r["dimension"] == measured_dimension]
    try:
        segments = cache.segments((tenantid, embeddingtype, measured_dimension), live, load)
        break
    except LookupError:
        if attempt == 2:
            plpy.error("fn_MeasureSearchRecall: the vector index changed during the measure; try again", sqlstate="40001")
found = vector_index.measure_recall(segments, samplesize, k, seed or 0)
return [(found.recall, found.queries, found.embeddings, graphs[-1]["id"], measured_dimension, found.seconds)]
$$;
