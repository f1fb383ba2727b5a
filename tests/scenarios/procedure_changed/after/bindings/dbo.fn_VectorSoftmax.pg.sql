-- kind: function
-- requires: dbo.fn_LoadExternalLibrary, hartonomous_ext
-- engine-specific: a set-based form for queries; SQL Server functions cannot call sp_execute_external_script, so SQL Server has the procedure only
-- Softmax of a float32-byte vector of logits, as float32 bytes (numerically stable).
CREATE OR REPLACE FUNCTION dbo.fn_VectorSoftmax(v bytea)
RETURNS bytea
LANGUAGE plpython3u
IMMUTABLE STRICT PARALLEL SAFE
AS $$
{% include "bindings/_plpython_preamble.py" %}
from hartonomous_ext import vectors
probabilities = vectors.softmax(v)
return probabilities
$$;
