-- kind: procedure
-- requires: dbo.fn_LoadExternalLibrary, hartonomous_ext
-- The all-MiniLM-L6-v2 embedding of a text (384 float32 values, L2-normalized, as bytes), and the
-- same vector as a JSON array (the text form SQL Server 2025 casts to VECTOR(384); both engines'
-- procedures take the same parameters). NULL text gives NULLs; empty text is an error.
-- CALL dbo.sp_GenerateEmbedding('some text') returns them as the row of its INOUT parameters.
CREATE OR REPLACE PROCEDURE dbo.sp_GenerateEmbedding(text_value text, INOUT embedding bytea DEFAULT NULL,
                                                     INOUT embedding_json text DEFAULT NULL)
LANGUAGE plpython3u
AS $$
{% include "bindings/_plpython_preamble.py" %}
from hartonomous_ext import embeddings
from hartonomous_ext.vectors import to_json
if text_value is None:
    return (None, None)
embedding = embeddings.embed_one(text_value)
return (embedding, to_json(embedding))
$$;
