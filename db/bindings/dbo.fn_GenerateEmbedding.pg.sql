-- kind: function
-- requires: dbo.fn_LoadExternalLibrary, hartonomous_ext, dbo.fn_StoredModel, dbo.fn_StoredModelTensors, dbo.fn_TensorChunk
-- engine-specific: a set-based form for queries; SQL Server functions cannot call sp_execute_external_script, so SQL Server has the procedure only
-- The embedding of a text (float32 bytes, L2-normalized), computed in the database by onnxruntime
-- (hartonomous_ext.embeddings): by the packaged all-MiniLM-L6-v2 when ModelId is NULL, else by the
-- BERT sentence encoder stored as model ModelId of tenant TenantId (its weights read from
-- dbo.TensorChunks, loaded once per session and weight version). NULL text gives NULL; empty text
-- is an error.
CREATE OR REPLACE FUNCTION dbo.fn_GenerateEmbedding(text_value text, ModelId integer DEFAULT NULL,
                                                    TenantId integer DEFAULT 0)
RETURNS bytea
LANGUAGE plpython3u
STABLE PARALLEL SAFE
AS $$
{% include "bindings/_plpython_preamble.py" %}
{% include "bindings/_plpython_stored_models.py" %}
from hartonomous_ext import embeddings, model_store
from hartonomous_ext.model_formats import FormatError
if text_value is None:
    return None
if modelid is None:
    return embeddings.embed_one(text_value)
try:
    pair = model_store.cached(GD.setdefault("stored_embedders", {}), PlpyStoredModels(), modelid, tenantid,
                              embeddings.stored_runtime)
except FormatError as exc:
    plpy.error(f"fn_GenerateEmbedding: {exc}", sqlstate="22023")
return embeddings.embed_one(text_value, pair)
$$;
