-- kind: function
-- requires: dbo.fn_LoadExternalLibrary, hartonomous_ext
-- engine-specific: SQL Server binds inside dbo.fn_BindConcepts' own sp_execute_external_script call (a SQL Server function cannot run Python)
-- The concepts one vector joins (hartonomous_ext.concepts.bind, the rule discovery uses): those whose
-- centroid is at least Threshold close (cosine), at most MaxConcepts, nearest first (Rank 1 is the
-- primary). Centroids holds the concepts' float32 centroids concatenated (one string_agg: a single
-- value crosses into Python); Ordinal is the 1-based place of the chosen one among them.
CREATE OR REPLACE FUNCTION dbo.fn_NearestConcepts(Vector bytea, Centroids bytea, Threshold double precision,
                                                  MaxConcepts integer)
RETURNS TABLE (Rank integer, Ordinal integer, Similarity double precision)
LANGUAGE plpython3u
STABLE STRICT
AS $$
{% include "bindings/_plpython_preamble.py" %}
from hartonomous_ext import concepts
return [(rank + 1, index + 1, min(max(score, -1.0), 1.0))
        for rank, (index, score) in enumerate(concepts.bind(vector, centroids, threshold, maxconcepts))]
$$;
