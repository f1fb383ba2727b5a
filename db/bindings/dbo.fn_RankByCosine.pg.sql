-- kind: function
-- requires: dbo.fn_LoadExternalLibrary, hartonomous_ext
-- engine-specific: SQL Server reranks inside dbo.sp_SemanticSearch through sp_execute_external_script's input data set
-- The top_k of the candidates by exact cosine similarity to the query (hartonomous_ext.search).
CREATE OR REPLACE FUNCTION dbo.fn_RankByCosine(query_embedding bytea, ids bigint[], vectors bytea[], top_k integer)
RETURNS TABLE (Id bigint, Score double precision)
LANGUAGE plpython3u
STABLE STRICT
AS $$
{% include "bindings/_plpython_preamble.py" %}
from hartonomous_ext import search
if len(ids) != len(vectors):
    plpy.error("ids and vectors differ in length")
return [(ids[i], score) for i, score in search.rank_by_cosine(query_embedding, vectors, top_k)]
$$;
