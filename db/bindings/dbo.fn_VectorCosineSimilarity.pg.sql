-- kind: function
-- requires: dbo.fn_LoadExternalLibrary, hartonomous_ext
-- engine-specific: a set-based form for queries; SQL Server functions cannot call sp_execute_external_script, so SQL Server has the procedure only
-- Cosine similarity of two float32-byte vectors (an error for a zero vector).
CREATE OR REPLACE FUNCTION dbo.fn_VectorCosineSimilarity(v1 bytea, v2 bytea)
RETURNS double precision
LANGUAGE plpython3u
IMMUTABLE STRICT PARALLEL SAFE
AS $$
{% include "bindings/_plpython_preamble.py" %}
from hartonomous_ext import vectors
return vectors.cosine_similarity(v1, v2)
$$;
