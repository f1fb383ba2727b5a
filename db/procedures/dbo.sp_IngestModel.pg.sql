-- kind: procedure
-- requires: dbo.Atoms, dbo.AtomPayloadStore, dbo.Models, dbo.ModelLayers, dbo.ModelTensors, dbo.TensorChunks, dbo.ModelTensorChunks, dbo.sp_StoreModel, dbo.IngestionJobs, dbo.fn_ModelImportDir, dbo.fn_LoadExternalLibrary, hartonomous_ext
-- Ingest a model the database already holds: an atom's payload (AtomId, the tenant's own), or a
-- file in the server's model import folder (Path, relative to the setting
-- hartonomous.model_import_dir; nothing outside it is read). The same parser as the client's
-- ingest-model (hartonomous_ext.model_formats) and the same rows (hartonomous_ext.model_store).
-- The job row is committed first; the model's rows go in as one unit, so a bad file leaves the
-- job Failed with the reason and no model rows. The same content again returns the existing model.
-- CALL it outside an explicit transaction (it commits the job row).
CREATE OR REPLACE PROCEDURE dbo.sp_IngestModel(
    AtomId bigint DEFAULT NULL,
    Path text DEFAULT NULL,
    ModelName text DEFAULT NULL,
    TenantId integer DEFAULT 0,
    INOUT ModelId integer DEFAULT NULL,
    INOUT IngestionJobId bigint DEFAULT NULL
)
LANGUAGE plpython3u
AS $$
{% include "bindings/_plpython_preamble.py" %}
import json
import os
from hartonomous_ext import model_formats, model_store

# arguments arrive under their lower-case names; results go out through the return value
atom_id, file_path, model_name, tenant = atomid, path, modelname, tenantid
if (atom_id is None) == (file_path is None):
    plpy.error("sp_IngestModel: give exactly one of AtomId and Path", sqlstate="22023")
source_label = f"atom {atom_id}" if atom_id is not None else f"import:{file_path}"
job_id = plpy.execute(plpy.prepare(
    "INSERT INTO dbo.IngestionJobs (TenantId, JobType, Status, Source, StartTime, Parameters) "
    "VALUES ($1, 'model', 'Running', $2, clock_timestamp(), $3) RETURNING IngestionJobId", ["integer", "text", "jsonb"]),
    [tenant, source_label, json.dumps({"name": model_name, "in_database": True})])[0]["ingestionjobid"]
plpy.commit()


def fail(message):
    plpy.execute(plpy.prepare("UPDATE dbo.IngestionJobs SET Status = 'Failed', EndTime = clock_timestamp(), "
                              "ErrorMessage = $1 WHERE IngestionJobId = $2", ["text", "bigint"]), [message[:4000], job_id])
    plpy.commit()
    plpy.error(f"sp_IngestModel: {message}", sqlstate="22023")


try:
    if atom_id is not None:
        rows = plpy.execute(plpy.prepare(
            "SELECT p.Payload FROM dbo.Atoms a JOIN dbo.AtomPayloadStore p ON p.AtomId = a.AtomId "
            "WHERE a.AtomId = $1 AND a.TenantId = $2", ["bigint", "integer"]), [atom_id, tenant])
        if not rows:
            raise model_formats.FormatError(f"atom {atom_id} does not exist for tenant {tenant}")
        source = model_formats.BytesSource(rows[0]["payload"], f"atom {atom_id}")
        default_name = f"atom-{atom_id}"
    else:
        folder = plpy.execute("SELECT dbo.fn_ModelImportDir() AS folder")[0]["folder"]
        if not folder:
            raise model_formats.FormatError("reading model files on the server is off: set hartonomous.model_import_dir")
        root = os.path.realpath(folder)
        target = os.path.realpath(os.path.join(root, file_path))
        if os.path.commonpath([root, target]) != root or target == root:
            raise model_formats.FormatError(f"{file_path} is not a file inside the model import folder")
        source = model_formats.as_source(target)
        default_name = os.path.splitext(os.path.basename(target))[0]
    model = model_formats.read(source)
    described = model_store.describe(model, model_name or default_name)
except (model_formats.FormatError, ValueError, OSError) as exc:
    fail(str(exc))

existing = plpy.execute(plpy.prepare("SELECT ModelId FROM dbo.Models WHERE TenantId = $1 AND SourceHash = $2",
                                     ["integer", "bytea"]), [tenant, model.source_hash])
if existing:
    model_id = existing[0]["modelid"]
else:
    try:
        with plpy.subtransaction():
            put_chunk = plpy.prepare("INSERT INTO dbo.TensorChunks (ChunkHash, ByteSize, Data) VALUES ($1, $2, $3) "
                                     "ON CONFLICT (ChunkHash) DO NOTHING", ["bytea", "integer", "bytea"])
            for _tensor, _index, chunk_hash, data in model_store.chunks(described):
                plpy.execute(put_chunk, [chunk_hash, len(data), data])
            # the model's rows: dbo.sp_StoreModel, the one writer the client's ingest-model uses too
            model_id = plpy.execute(plpy.prepare("CALL dbo.sp_StoreModel($1, $2, NULL)", ["text", "integer"]),
                                    [model_store.manifest(described), tenant])[0]["modelid"]
    except (model_formats.FormatError, plpy.SPIError) as exc:
        fail(str(exc))
plpy.execute(plpy.prepare(
    "UPDATE dbo.IngestionJobs SET Status = 'Completed', EndTime = clock_timestamp(), TotalItems = $1, "
    "AtomsProcessed = $1, Parameters = Parameters || $2 WHERE IngestionJobId = $3", ["bigint", "jsonb", "bigint"]),
    [len(described.tensors), json.dumps({"model_id": model_id, "existing": bool(existing), "format": model.format}), job_id])
return (model_id, job_id)
$$;
