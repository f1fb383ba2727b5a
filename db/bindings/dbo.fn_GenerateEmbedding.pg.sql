-- kind: function
-- requires: dbo.fn_LoadExternalLibrary, hartonomous_ext
-- engine-specific: a set-based form for queries; SQL Server functions cannot call sp_execute_external_script, so SQL Server has the procedure only
-- The all-MiniLM-L6-v2 embedding of a text (384 float32 values, L2-normalized, as bytes), computed
-- in the database by onnxruntime (hartonomous_ext.embeddings). An error for empty text.
CREATE OR REPLACE FUNCTION dbo.fn_GenerateEmbedding(text_value text)
RETURNS bytea
LANGUAGE plpython3u
STABLE STRICT PARALLEL SAFE
AS $$
{% include "bindings/_plpython_preamble.py" %}
from hartonomous_ext import embeddings
return embeddings.embed_one(text_value)
$$;
