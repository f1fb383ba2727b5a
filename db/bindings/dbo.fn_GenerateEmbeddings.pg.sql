-- kind: function
-- requires: dbo.fn_LoadExternalLibrary, hartonomous_ext
-- engine-specific: a batch form for bulk ingestion; SQL Server batches through sp_execute_external_script's input data set instead
-- all-MiniLM-L6-v2 embeddings of many texts in one call (batched through onnxruntime): one row per
-- element of the array, with its 1-based position. An error for an empty or NULL element.
CREATE OR REPLACE FUNCTION dbo.fn_GenerateEmbeddings(text_values text[])
RETURNS TABLE (Ordinal integer, Embedding bytea)
LANGUAGE plpython3u
SECURITY DEFINER
SET search_path = dbo, public, pg_temp
STABLE STRICT
AS $$
{% include "bindings/_plpython_preamble.py" %}
from hartonomous_ext import embeddings
if any(value is None for value in text_values):
    plpy.error("text_values contains NULL", hint="remove the NULL elements")
vectors = embeddings.embed(list(text_values))
return [(position + 1, vector.astype("<f4").tobytes()) for position, vector in enumerate(vectors)]
$$;
