-- kind: function
-- requires: dbo.fn_LoadExternalLibrary, hartonomous_ext
-- engine-specific: SQL Server binds inside dbo.sp_BindAtomConcepts' own sp_execute_external_script call (a SQL Server function cannot run Python)
-- The concepts each of a batch of vectors joins (hartonomous_ext.concepts.bind_batch, the rule
-- discovery uses), in one call into Python for the whole batch: those whose centroid is at least
-- Threshold close (cosine), at most MaxConcepts, nearest first (Rank 1 is the primary). Item is the
-- 1-based place of the vector in Vectors; Centroids holds the concepts' float32 centroids
-- concatenated (one string_agg: a single value crosses into Python); Ordinal is the 1-based place
-- of the chosen one among them. A vector that joins none has no row.
CREATE OR REPLACE FUNCTION dbo.fn_NearestConcepts(Vectors bytea[], Centroids bytea, Threshold double precision,
                                                  MaxConcepts integer)
RETURNS TABLE (Item integer, Rank integer, Ordinal integer, Similarity double precision)
LANGUAGE plpython3u
STABLE STRICT
AS $$
{% include "bindings/_plpython_preamble.py" %}
from hartonomous_ext import concepts
return [(item + 1, rank + 1, index + 1, min(max(score, -1.0), 1.0))
        for item, chosen in enumerate(concepts.bind_batch(vectors, centroids, threshold, maxconcepts))
        for rank, (index, score) in enumerate(chosen)]
$$;
