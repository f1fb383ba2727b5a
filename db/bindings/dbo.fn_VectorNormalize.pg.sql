-- kind: function
-- requires: dbo.fn_LoadExternalLibrary, hartonomous_ext
-- engine-specific: a set-based form for queries; SQL Server functions cannot call sp_execute_external_script, so SQL Server has the procedure only
-- The vector scaled to unit length, as float32 bytes (an error for a zero vector).
CREATE OR REPLACE FUNCTION dbo.fn_VectorNormalize(v bytea)
RETURNS bytea
LANGUAGE plpython3u
IMMUTABLE STRICT PARALLEL SAFE
AS $$
{% include "bindings/_plpython_preamble.py" %}
from hartonomous_ext import vectors
return vectors.normalize(v)
$$;
