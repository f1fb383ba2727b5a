-- kind: function
-- requires: dbo.fn_LoadExternalLibrary, hartonomous_ext
-- engine-specific: SQL Server converts inside sp_SemanticSearch's script
-- A JSON array of numbers ('[0.123, 0.456, ...]') as a float32-byte vector
-- (hartonomous_ext.vectors.from_json); dimension, when given, must be its number of values.
-- The inverse of dbo.fn_VectorToJson.
CREATE OR REPLACE FUNCTION dbo.fn_VectorFromJson(vector_json text, dimension integer DEFAULT NULL)
RETURNS bytea
LANGUAGE plpython3u
IMMUTABLE PARALLEL SAFE
AS $$
{% include "bindings/_plpython_preamble.py" %}
from hartonomous_ext.vectors import from_json
try:
    return from_json(vector_json, dimension, "query_embedding")
except ValueError as exc:
    plpy.error(str(exc), sqlstate="22023")
$$;
