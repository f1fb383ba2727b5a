-- kind: function
-- requires: dbo.fn_LoadExternalLibrary, hartonomous_ext
-- engine-specific: SQL Server reranks inside dbo.sp_SemanticSearch through sp_execute_external_script's input data set
-- The top_k of the candidates by exact cosine similarity to the query (hartonomous_ext.search).
-- vectors holds the candidates' float32 bytes concatenated in the order of ids (one string_agg:
-- a single value crosses into Python, not one per candidate).
CREATE OR REPLACE FUNCTION dbo.fn_RankByCosine(query_embedding bytea, ids bigint[], vectors bytea, top_k integer)
RETURNS TABLE (Id bigint, Score double precision)
LANGUAGE plpython3u
STABLE STRICT
AS $$
{% include "bindings/_plpython_preamble.py" %}
from hartonomous_ext import search
if len(vectors) != len(ids) * len(query_embedding):
    plpy.error(f"fn_RankByCosine: {len(ids)} ids need {len(ids) * len(query_embedding)} bytes of vectors, got {len(vectors)}")
return [(ids[i], score) for i, score in search.rank_by_cosine(query_embedding, vectors, top_k)]
$$;
