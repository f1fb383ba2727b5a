-- kind: function
-- requires: dbo.Atoms, dbo.AtomEmbeddings, dbo.VectorIndexSegments, dbo.VectorIndexChunks, dbo.fn_LoadExternalLibrary, hartonomous_ext
-- engine-specific: SQL Server builds inside dbo.sp_BuildVectorIndex (hartonomous_ext.vector_index.build_action and build_segment in sp_execute_external_script)
-- One step of the vector index of a tenant's embedding type (hartonomous_ext.vector_index), in the
-- caller's transaction, under a lock per tenant and type (Wait false: return at once, doing
-- nothing, when another session holds it):
--   merge: the raw delta (embeddings not yet indexed) becomes one flat segment;
--   rebuild: every embedding of the type becomes one segment (an HNSW graph, calibrated, from
--     policy.GRAPH_MIN_VECTORS on; flat below) and the old segments are retired;
--   graph: rebuild, as a graph whatever the number of embeddings.
-- Mode 'auto' merges, and rebuilds when the flat segments outgrow policy.FLAT_MERGE_SHARE of the
-- graph (or, without a graph, reach policy.GRAPH_MIN_VECTORS, or number more than eight).
-- Returns what it did ('none' when there was nothing to do).
CREATE OR REPLACE FUNCTION dbo.fn_BuildVectorSegment(
    TenantId integer,
    EmbeddingType text,
    Mode text DEFAULT 'auto',
    Wait boolean DEFAULT true
)
RETURNS TABLE (Action text, SegmentId bigint, Kind text, VectorCount bigint, EfSearch integer,
               CalibratedRecall double precision, Merged bigint, Retired integer, Seconds double precision)
LANGUAGE plpython3u
VOLATILE
AS $$
{% include "bindings/_plpython_preamble.py" %}
import json
import time

import numpy as np
from hartonomous_ext import vector_index

started = time.perf_counter()
if tenantid is None or not embeddingtype:
    plpy.error("fn_BuildVectorSegment: give TenantId and EmbeddingType", sqlstate="22023")
if mode not in vector_index.BUILD_MODES:
    plpy.error(f"fn_BuildVectorSegment: Mode must be 'auto', 'merge', 'rebuild' or 'graph', not {mode!r}", sqlstate="22023")
lock_key = f"hartonomous vector index {tenantid} {embeddingtype}"
if wait:
    plpy.execute(plpy.prepare("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", ["text"]), [lock_key])
elif not plpy.execute(plpy.prepare("SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0)) AS got", ["text"]),
                      [lock_key])[0]["got"]:
    return [("none", None, None, 0, None, None, 0, 0, time.perf_counter() - started)]

active = plpy.execute(plpy.prepare(
    "SELECT SegmentId, Kind, VectorCount FROM dbo.VectorIndexSegments "
    "WHERE TenantId = $1 AND EmbeddingType = $2 AND IsActive ORDER BY SegmentId", ["integer", "text"]),
    [tenantid, embeddingtype])
delta_count = plpy.execute(plpy.prepare(
    "SELECT count(*) AS n FROM dbo.AtomEmbeddings e JOIN dbo.Atoms a ON a.AtomId = e.AtomId "
    "WHERE NOT e.Indexed AND e.EmbeddingType = $2 AND a.TenantId = $1", ["integer", "text"]),
    [tenantid, embeddingtype])[0]["n"]
action = vector_index.build_action(mode, [(r["kind"], r["vectorcount"]) for r in active], delta_count)
if action == "none":
    return [("none", None, None, 0, None, None, 0, 0, time.perf_counter() - started)]


def read(only_unindexed):
    """(ids, float32 matrix) of the tenant's embeddings of the type, keyset batches of one string_agg."""
    plan = plpy.prepare(
        "SELECT array_agg(c.AtomEmbeddingId ORDER BY c.AtomEmbeddingId) AS ids, "
        "       string_agg(c.EmbeddingVector, ''::bytea ORDER BY c.AtomEmbeddingId) AS vectors, "
        "       min(c.Dimension) AS low, max(c.Dimension) AS high "
        "FROM (SELECT e.AtomEmbeddingId, e.EmbeddingVector, e.Dimension FROM dbo.AtomEmbeddings e "
        "      JOIN dbo.Atoms a ON a.AtomId = e.AtomId "
        "      WHERE e.EmbeddingType = $2 AND a.TenantId = $1 AND e.AtomEmbeddingId > $3 AND (NOT $4 OR NOT e.Indexed) "
        "      ORDER BY e.AtomEmbeddingId LIMIT 20000) c",
        ["integer", "text", "bigint", "boolean"])
    ids, parts, dimension, last = [], [], None, 0
    while True:
        row = plpy.execute(plan, [tenantid, embeddingtype, last, only_unindexed])[0]
        if row["ids"] is None:
            break
        if row["low"] != row["high"] or (dimension is not None and row["low"] != dimension):
            plpy.error(f"fn_BuildVectorSegment: embedding type {embeddingtype} of tenant {tenantid} has vectors of "
                       f"several dimensions; one type has one dimension", sqlstate="22023")
        dimension = row["low"]
        ids.extend(row["ids"])
        parts.append(row["vectors"])
        last = row["ids"][-1]
    if not ids:
        return np.empty(0, np.int64), None
    return np.asarray(ids, np.int64), vector_index.matrix_from_bytes(b"".join(parts), dimension)


segment_ids, vectors = read(action == "merge")
retired = [] if action == "merge" else [r["segmentid"] for r in active]
if not len(segment_ids):
    # nothing left of the type (all deleted): retire what there was
    plpy.execute(plpy.prepare("DELETE FROM dbo.VectorIndexSegments WHERE SegmentId = ANY($1)", ["bigint[]"]), [retired])
    return [(action, None, None, 0, None, None, 0, len(retired), time.perf_counter() - started)]
segment = vector_index.build_segment(action, segment_ids, vectors)
del vectors
blob = vector_index.serialize(segment)
new_id = plpy.execute(plpy.prepare(
    "INSERT INTO dbo.VectorIndexSegments (TenantId, EmbeddingType, Dimension, Kind, VectorCount, ByteSize, EfSearch, "
    "CalibratedRecall, Parameters) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb) RETURNING SegmentId",
    ["integer", "text", "integer", "text", "bigint", "bigint", "integer", "double precision", "text"]),
    [tenantid, embeddingtype, segment.dimension, segment.kind, segment.count, len(blob), segment.ef_search,
     segment.info.get("calibrated_recall"), json.dumps(segment.info)])[0]["segmentid"]
put = plpy.prepare("INSERT INTO dbo.VectorIndexChunks (SegmentId, ChunkIndex, Data) VALUES ($1, $2, $3)",
                   ["bigint", "integer", "bytea"])
for index, chunk in enumerate(vector_index.chunks(blob)):
    plpy.execute(put, [new_id, index, chunk])
del blob
# every embedding in the new segment is indexed (a rebuild also takes those committed since the delta was read)
merged = plpy.execute(plpy.prepare("UPDATE dbo.AtomEmbeddings SET Indexed = true WHERE AtomEmbeddingId = ANY($1) AND NOT Indexed",
                                   ["bigint[]"]), [segment_ids.tolist()]).nrows()
if retired:
    plpy.execute(plpy.prepare("DELETE FROM dbo.VectorIndexSegments WHERE SegmentId = ANY($1)", ["bigint[]"]), [retired])
return [(action, new_id, segment.kind, segment.count, segment.ef_search, segment.info.get("calibrated_recall"),
         merged, len(retired), time.perf_counter() - started)]
$$;
