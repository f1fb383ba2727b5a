-- kind: function
-- requires: dbo.fn_LoadExternalLibrary, hartonomous_ext, dbo.fn_StoredModel, dbo.fn_StoredModelTensors, dbo.fn_TensorChunk
-- engine-specific: SQL Server's sp_IngestAtoms calls hartonomous_ext.atoms.prepare_batch through sp_execute_external_script's input data set
-- sp_IngestAtoms's one pass through Python for a batch (hartonomous_ext.atoms.prepare_batch): per
-- element, in input order, its content type as stored, its modality, its first problem (NULL when
-- none) and, where wanted, its embedding (float32 bytes) by the packaged all-MiniLM-L6-v2 when
-- ModelId is NULL, else by the tenant's stored BERT encoder ModelId (loaded once per session).
CREATE OR REPLACE FUNCTION dbo.fn_PrepareAtoms(contents bytea[], content_types text[], wanted boolean[],
                                               ModelId integer DEFAULT NULL, TenantId integer DEFAULT 0)
RETURNS TABLE (Ordinal integer, ContentType text, Modality text, Problem text, Embedding bytea)
LANGUAGE plpython3u
STABLE
AS $$
{% include "bindings/_plpython_preamble.py" %}
{% include "bindings/_plpython_stored_models.py" %}
from hartonomous_ext import atoms, embeddings, model_store
from hartonomous_ext.model_formats import FormatError
if contents is None or content_types is None or wanted is None or not (len(contents) == len(content_types) == len(wanted)):
    plpy.error("fn_PrepareAtoms: contents, content_types and wanted are arrays of one length", sqlstate="22023")
pair = None
if modelid is not None and any(wanted):
    try:
        pair = model_store.cached(GD.setdefault("stored_embedders", {}), PlpyStoredModels(), modelid, tenantid,
                                  embeddings.stored_runtime)
    except (FormatError, ValueError) as exc:  # as SQL Server's script catches them
        plpy.error(f"sp_IngestAtoms: {exc}", sqlstate="22023")
try:
    prepared = atoms.prepare_batch(contents, content_types, [bool(w) for w in wanted],
                                   lambda texts: embeddings.embed(texts, runtime_pair=pair), modelid is not None)
except ValueError as exc:  # a problem of the whole batch (the model's output), worded as SQL Server words it
    plpy.error(f"sp_IngestAtoms: {exc}", sqlstate="22023")
return [(position + 1, *item) for position, item in enumerate(prepared)]
$$;
