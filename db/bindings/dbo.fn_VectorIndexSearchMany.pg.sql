-- kind: function
-- requires: dbo.Atoms, dbo.AtomEmbeddings, dbo.VectorIndexSegments, dbo.VectorIndexChunks, dbo.fn_LoadExternalLibrary, hartonomous_ext
-- engine-specific: SQL Server runs hartonomous_ext.vector_index.search_many inside dbo.sp_GraphRecordAtoms (no session to keep segments in)
-- dbo.fn_VectorIndexSearch for many queries in one call (hartonomous_ext.vector_index.search_many):
-- each query's rows are the ones fn_VectorIndexSearch gives it alone, but the index's state, its
-- segments and the raw delta are read once for the call, not once per query, and the candidates of
-- all the queries are checked against dbo.AtomEmbeddings together. Queries: float32 bytes each
-- (NULL or a zero vector is refused, naming its position); QueryOrdinal is the query's position in
-- the array, from 1. EmbeddingType NULL: per query, the tenant's one type with its dimension.
CREATE OR REPLACE FUNCTION dbo.fn_VectorIndexSearchMany(
    TenantId integer,
    EmbeddingType text,
    queries bytea[],
    top_k integer,
    category text DEFAULT NULL,
    exact boolean DEFAULT false
)
RETURNS TABLE (QueryOrdinal integer, AtomEmbeddingId bigint, Score double precision, SearchedType text, Examined bigint,
               Mode text)
LANGUAGE plpython3u
VOLATILE
AS $$
{% include "bindings/_plpython_preamble.py" %}
from hartonomous_ext import policy, vector_index

{% include "bindings/_plpython_vector_search.py" %}

if queries is None:
    plpy.error("fn_VectorIndexSearchMany: the queries must be an array of float32 vectors as bytes", sqlstate="22023")
try:
    found = vector_index.search_many(PlpyIndexReader(), cache, tenantid, embeddingtype, queries, top_k, exact)
except vector_index.SearchError as exc:
    plpy.error(f"fn_VectorIndexSearchMany: {exc}", sqlstate="22023")
return [(ordinal, i, score, result.searched, result.examined, result.mode)
        for ordinal, result in enumerate(found, start=1) for i, score in result.rows]
$$;
