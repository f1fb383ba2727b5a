-- kind: procedure
-- requires: dbo.Models, dbo.ModelLayers, dbo.ModelTensors, dbo.TensorChunks, dbo.ModelTensorChunks, dbo.fn_ResolveTenant, dbo.sp_GraphRecordModel
-- Store a model described by Manifest (hartonomous_ext.model_store.manifest: the model, its layers,
-- its tensors with their chunk hashes) whose chunks are already in dbo.TensorChunks: the client's
-- ingest-model (chunks by COPY) and dbo.sp_IngestModel (an atom's payload or an imported file) both
-- end here, as on SQL Server, so a model's rows have one writer. One transaction (the caller's);
-- a model with the same source hash for the tenant is returned as it is. The model's node and its
-- tensors' (ComponentOf it) go into the provenance graph in that transaction (dbo.sp_GraphRecordModel).
-- CALL dbo.sp_StoreModel(manifest, TenantId => 0) returns the ModelId as the row of its INOUT parameter.
CREATE OR REPLACE PROCEDURE dbo.sp_StoreModel(
    Manifest text,
    TenantId integer DEFAULT NULL,
    INOUT ModelId integer DEFAULT NULL
)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = dbo, public, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    doc jsonb;
    source_hash bytea;
    missing bigint;
BEGIN
    sp_StoreModel.TenantId := dbo.fn_ResolveTenant(sp_StoreModel.TenantId, 'sp_StoreModel');
    sp_StoreModel.ModelId := NULL; -- an INOUT parameter is also an input: never answer with the caller's value
    BEGIN
        doc := sp_StoreModel.Manifest::jsonb;
    EXCEPTION WHEN invalid_text_representation THEN
        RAISE EXCEPTION 'sp_StoreModel: Manifest is not JSON' USING ERRCODE = '22023';
    END;
    IF doc IS NULL OR jsonb_typeof(doc -> 'model') IS DISTINCT FROM 'object' THEN
        RAISE EXCEPTION 'sp_StoreModel: Manifest is not JSON' USING ERRCODE = '22023';
    END IF;
    source_hash := decode(doc #>> '{model,source_hash}', 'hex');
    SELECT m.ModelId INTO sp_StoreModel.ModelId FROM dbo.Models m
    WHERE m.TenantId = sp_StoreModel.TenantId AND m.SourceHash = source_hash;
    IF sp_StoreModel.ModelId IS NOT NULL THEN
        RETURN;
    END IF;
    SELECT count(*) INTO missing
    FROM jsonb_array_elements(doc -> 'tensors') t CROSS JOIN LATERAL jsonb_array_elements_text(t -> 'chunks') c(hash)
    WHERE NOT EXISTS (SELECT 1 FROM dbo.TensorChunks k WHERE k.ChunkHash = decode(c.hash, 'hex'));
    IF missing > 0 THEN
        RAISE EXCEPTION 'sp_StoreModel: % chunks the manifest names are not stored', missing USING ERRCODE = '22023';
    END IF;
    INSERT INTO dbo.Models (TenantId, ModelName, ModelFormat, Architecture, ParameterCount, Config, SourceHash,
                            TensorCount, TotalBytes, FormatSkeleton)
    SELECT sp_StoreModel.TenantId, m ->> 'name', m ->> 'format', m ->> 'architecture', (m ->> 'parameter_count')::bigint,
           (m ->> 'config')::jsonb, source_hash, (m ->> 'tensor_count')::integer, (m ->> 'total_bytes')::bigint,
           decode(m ->> 'skeleton', 'hex')
    FROM (SELECT doc -> 'model' AS m) s
    RETURNING dbo.Models.ModelId INTO sp_StoreModel.ModelId;
    INSERT INTO dbo.ModelLayers (ModelId, LayerIndex, LayerName, LayerType, ParameterCount)
    SELECT sp_StoreModel.ModelId, l."index", l.name, l.type, l.parameter_count
    FROM jsonb_to_recordset(doc -> 'layers') AS l("index" integer, name text, type text, parameter_count bigint);
    INSERT INTO dbo.ModelTensors (ModelId, LayerId, TensorIndex, TensorName, DType, Shape, ElementCount, ByteSize, Sha256)
    SELECT sp_StoreModel.ModelId, l.LayerId, t."index", t.name, t.dtype,
           ARRAY(SELECT d::bigint FROM jsonb_array_elements_text(t.shape::jsonb) d), t.element_count, t.byte_size,
           decode(t.sha256, 'hex')
    FROM jsonb_to_recordset(doc -> 'tensors') AS t("index" integer, name text, dtype text, shape text,
                                                   element_count bigint, byte_size bigint, layer_index integer, sha256 text)
    JOIN dbo.ModelLayers l ON l.ModelId = sp_StoreModel.ModelId AND l.LayerIndex = t.layer_index;
    INSERT INTO dbo.ModelTensorChunks (TensorId, ChunkIndex, ChunkHash)
    SELECT mt.TensorId, (c.ordinality - 1)::integer, decode(c.hash, 'hex')
    FROM jsonb_to_recordset(doc -> 'tensors') AS t(name text, chunks jsonb)
    CROSS JOIN LATERAL jsonb_array_elements_text(t.chunks) WITH ORDINALITY AS c(hash, ordinality)
    JOIN dbo.ModelTensors mt ON mt.ModelId = sp_StoreModel.ModelId AND mt.TensorName = t.name;
    CALL dbo.sp_GraphRecordModel(sp_StoreModel.ModelId, 'store', NULL, NULL, sp_StoreModel.TenantId);
END
$$;
