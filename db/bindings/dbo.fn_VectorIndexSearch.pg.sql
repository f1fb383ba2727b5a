-- kind: function
-- requires: dbo.Atoms, dbo.AtomEmbeddings, dbo.VectorIndexSegments, dbo.VectorIndexChunks, dbo.fn_LoadExternalLibrary, hartonomous_ext
-- engine-specific: SQL Server runs hartonomous_ext.vector_index.search_index inside dbo.sp_SemanticSearch (no session to keep segments in)
-- The top_k embeddings of a tenant nearest a query (float32 bytes) by cosine, through the vector
-- index (hartonomous_ext.vector_index): the graph at its calibrated ef_search, the flat segments
-- and the raw delta exactly (Exact true: every segment exactly). Candidates are checked against
-- dbo.AtomEmbeddings (deleted ones dropped, tenant and category applied); scores are exact
-- cosines. The segments are loaded once per session (the session setting
-- hartonomous.vector_cache_mb bounds them; policy.INDEX_CACHE_BYTES by default).
-- EmbeddingType NULL: the tenant's one type with the query's dimension (an error if none or several).
-- Returns the type searched, the vectors examined and the path taken with each row.
CREATE OR REPLACE FUNCTION dbo.fn_VectorIndexSearch(
    TenantId integer,
    EmbeddingType text,
    query bytea,
    top_k integer,
    category text DEFAULT NULL,
    exact boolean DEFAULT false
)
RETURNS TABLE (AtomEmbeddingId bigint, Score double precision, SearchedType text, Examined bigint, Mode text)
LANGUAGE plpython3u
VOLATILE
AS $$
{% include "bindings/_plpython_preamble.py" %}
from hartonomous_ext import policy, vector_index

{% include "bindings/_plpython_vector_search.py" %}

try:
    found = vector_index.search_index(PlpyIndexReader(), cache, tenantid, embeddingtype, query, top_k, exact)
except vector_index.SearchError as exc:
    plpy.error(f"fn_VectorIndexSearch: {exc}", sqlstate="22023")
return [(i, score, found.searched, found.examined, found.mode) for i, score in found.rows]
$$;
