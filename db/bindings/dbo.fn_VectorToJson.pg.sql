-- kind: function
-- requires: dbo.fn_LoadExternalLibrary, hartonomous_ext
-- engine-specific: SQL Server converts inside sp_GenerateEmbedding's script
-- A float32-byte vector as a JSON array of numbers (hartonomous_ext.vectors.to_json).
CREATE OR REPLACE FUNCTION dbo.fn_VectorToJson(vector bytea)
RETURNS text
LANGUAGE plpython3u
SECURITY DEFINER
SET search_path = dbo, public, pg_temp
IMMUTABLE STRICT PARALLEL SAFE
AS $$
{% include "bindings/_plpython_preamble.py" %}
from hartonomous_ext.vectors import to_json
return to_json(vector)
$$;
