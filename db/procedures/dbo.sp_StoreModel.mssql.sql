-- kind: procedure
-- requires: dbo.Models, dbo.ModelLayers, dbo.ModelTensors, dbo.TensorChunks, dbo.ModelTensorChunks, dbo.fn_ResolveTenant, dbo.sp_GraphRecordModel
-- Store a model described by @Manifest (hartonomous_ext.model_store.manifest: the model, its layers,
-- its tensors with their chunk hashes) whose chunk bytes the caller has put in the session's
-- #chunks (ChunkHash, ByteSize, Data): the client's ingest-model (fast_executemany) and
-- dbo.sp_IngestModel (an atom's payload) both end here, as on PostgreSQL. One transaction; chunks
-- already stored are not stored again; a model with the same source hash for the tenant is
-- returned as it is. The model's node and its tensors' (ComponentOf it) go into the provenance graph
-- in that transaction (dbo.sp_GraphRecordModel).
CREATE OR ALTER PROCEDURE dbo.sp_StoreModel
    @Manifest NVARCHAR(MAX),
    @TenantId INT = NULL,
    @ModelId INT = NULL OUTPUT
AS
BEGIN
    SET NOCOUNT ON;
    SET XACT_ABORT ON;
    DECLARE @TenantRefusal NVARCHAR(400);  -- the session's tenant, or an administrator's choice (dbo.fn_ResolveTenant)
    SELECT @TenantId = r.TenantId, @TenantRefusal = r.Refusal FROM dbo.fn_ResolveTenant(@TenantId, N'sp_StoreModel') AS r;
    IF @TenantRefusal IS NOT NULL
        THROW 50030, @TenantRefusal, 1;
    SET @ModelId = NULL; -- an OUTPUT parameter is also an input: never answer with the caller's value
    DECLARE @SourceHash BINARY(32), @Missing INT, @Message NVARCHAR(2048);
    IF @Manifest IS NULL OR ISJSON(@Manifest) = 0
        THROW 50411, N'sp_StoreModel: @Manifest is not JSON', 1;
    SET @SourceHash = CONVERT(BINARY(32), JSON_VALUE(@Manifest, '$.model.source_hash'), 2);
    SELECT @ModelId = ModelId FROM dbo.Models WHERE TenantId = @TenantId AND SourceHash = @SourceHash;
    IF @ModelId IS NULL
    BEGIN
        SELECT @Missing = COUNT(*)
        FROM OPENJSON(@Manifest, '$.tensors') WITH (chunks NVARCHAR(MAX) AS JSON) AS t
        CROSS APPLY OPENJSON(t.chunks) AS c
        WHERE NOT EXISTS (SELECT 1 FROM #chunks AS k WHERE k.ChunkHash = CONVERT(BINARY(32), c.value, 2))
          AND NOT EXISTS (SELECT 1 FROM dbo.TensorChunks AS k WHERE k.ChunkHash = CONVERT(BINARY(32), c.value, 2));
        IF @Missing > 0
        BEGIN
            SET @Message = CONCAT(N'sp_StoreModel: ', @Missing, N' chunks the manifest names are neither in #chunks ',
                                  N'nor stored');
            THROW 50412, @Message, 1;
        END;
        BEGIN TRANSACTION;
        INSERT INTO dbo.Models (TenantId, ModelName, ModelFormat, Architecture, ParameterCount, Config, SourceHash,
                                TensorCount, TotalBytes, FormatSkeleton)
        SELECT @TenantId, m.name, m.format, m.architecture, m.parameter_count, m.config, @SourceHash,
               m.tensor_count, m.total_bytes, CONVERT(VARBINARY(MAX), m.skeleton, 2)
        FROM OPENJSON(@Manifest, '$.model') WITH (
            name NVARCHAR(256), format NVARCHAR(32), architecture NVARCHAR(128), parameter_count BIGINT,
            config NVARCHAR(MAX), tensor_count INT, total_bytes BIGINT, skeleton NVARCHAR(MAX)) AS m;
        SET @ModelId = SCOPE_IDENTITY();
        INSERT INTO dbo.ModelLayers (ModelId, LayerIndex, LayerName, LayerType, ParameterCount)
        SELECT @ModelId, l.[index], l.name, l.type, l.parameter_count
        FROM OPENJSON(@Manifest, '$.layers') WITH (
            [index] INT, name NVARCHAR(512), type NVARCHAR(64), parameter_count BIGINT) AS l;
        -- NOT EXISTS does not dedupe the source itself: one row per chunk hash, whoever filled #chunks
        INSERT INTO dbo.TensorChunks (ChunkHash, ByteSize, Data)
        SELECT c.ChunkHash, c.ByteSize, c.Data
        FROM (SELECT s.ChunkHash, s.ByteSize, s.Data,
                     ROW_NUMBER() OVER (PARTITION BY s.ChunkHash ORDER BY s.ChunkHash) AS Copy
              FROM #chunks AS s) AS c
        WHERE c.Copy = 1
          AND NOT EXISTS (SELECT 1 FROM dbo.TensorChunks AS k WITH (UPDLOCK, HOLDLOCK) WHERE k.ChunkHash = c.ChunkHash);
        INSERT INTO dbo.ModelTensors (ModelId, LayerId, TensorIndex, TensorName, DType, Shape, ElementCount, ByteSize,
                                      Sha256)
        SELECT @ModelId, l.LayerId, t.[index], t.name, t.dtype, t.shape, t.element_count, t.byte_size,
               CONVERT(BINARY(32), t.sha256, 2)
        FROM OPENJSON(@Manifest, '$.tensors') WITH (
            [index] INT, name NVARCHAR(512), dtype NVARCHAR(16), shape NVARCHAR(400), element_count BIGINT,
            byte_size BIGINT, layer_index INT, sha256 NVARCHAR(64)) AS t
        INNER JOIN dbo.ModelLayers AS l ON l.ModelId = @ModelId AND l.LayerIndex = t.layer_index;
        INSERT INTO dbo.ModelTensorChunks (TensorId, ChunkIndex, ChunkHash)
        SELECT mt.TensorId, CAST(c.[key] AS INT), CONVERT(BINARY(32), c.value, 2)
        FROM OPENJSON(@Manifest, '$.tensors') WITH (name NVARCHAR(512), chunks NVARCHAR(MAX) AS JSON) AS t
        CROSS APPLY OPENJSON(t.chunks) AS c
        INNER JOIN dbo.ModelTensors AS mt ON mt.ModelId = @ModelId AND mt.TensorName = t.name;
        EXEC dbo.sp_GraphRecordModel @ModelId = @ModelId, @Operation = N'store', @TenantId = @TenantId;
        COMMIT TRANSACTION;
    END;
END;
