-- kind: procedure
-- requires: dbo.Atoms, dbo.AtomPayloadStore, dbo.Models, dbo.ModelLayers, dbo.ModelTensors, dbo.TensorChunks, dbo.ModelTensorChunks, dbo.IngestionJobs, hartonomous_ext
-- Ingest a model the database already holds as an atom's payload (@AtomId, the tenant's own), with
-- the same parser as the client's ingest-model (hartonomous_ext.model_formats, run by
-- sp_execute_external_script) and the same rows (hartonomous_ext.model_store). @Path is refused on
-- SQL Server: reading a server file needs OPENROWSET(BULK '<literal>'), which takes no parameter,
-- and this package builds no SQL from values; load the file into an atom first.
-- The job row is written first; the model's rows go in as one transaction, so a bad file leaves
-- the job Failed with the reason and no model rows. The same content again returns the existing model.
CREATE OR ALTER PROCEDURE dbo.sp_IngestModel
    @AtomId BIGINT = NULL,
    @Path NVARCHAR(4000) = NULL,
    @ModelName NVARCHAR(256) = NULL,
    @TenantId INT = 0,
    @ModelId INT = NULL OUTPUT,
    @JobId BIGINT = NULL OUTPUT
AS
BEGIN
    SET NOCOUNT ON;
    SET XACT_ABORT ON;
    DECLARE @Payload VARBINARY(MAX), @Manifest NVARCHAR(MAX), @Message NVARCHAR(4000), @Name NVARCHAR(256);
    DECLARE @SourceHash BINARY(32);
    IF (@AtomId IS NULL AND @Path IS NULL) OR (@AtomId IS NOT NULL AND @Path IS NOT NULL)
        THROW 50401, N'sp_IngestModel: give exactly one of AtomId and Path', 1;
    IF @Path IS NOT NULL
        THROW 50402, N'sp_IngestModel: @Path is not supported on SQL Server; ingest the file as an atom and pass @AtomId', 1;
    INSERT INTO dbo.IngestionJobs (TenantId, JobType, Status, Source, StartedAt, Parameters)
    VALUES (@TenantId, N'model', N'Running', CONCAT(N'atom ', @AtomId), SYSUTCDATETIME(),
            (SELECT @ModelName AS name, CAST(1 AS BIT) AS in_database FOR JSON PATH, WITHOUT_ARRAY_WRAPPER));
    SET @JobId = SCOPE_IDENTITY();
    SET @Name = COALESCE(@ModelName, CONCAT(N'atom-', @AtomId));
    SELECT @Payload = p.Payload
    FROM dbo.Atoms AS a
    INNER JOIN dbo.AtomPayloadStore AS p ON p.AtomId = a.AtomId
    WHERE a.AtomId = @AtomId AND a.TenantId = @TenantId;

    CREATE TABLE #chunks (ChunkHash BINARY(32) NOT NULL, ByteSize INT NOT NULL, Data VARBINARY(MAX) NOT NULL);
    BEGIN TRY
        IF @Payload IS NULL
        BEGIN
            SET @Message = CONCAT(N'atom ', @AtomId, N' does not exist for tenant ', @TenantId);
            THROW 50403, @Message, 1;
        END;
        INSERT INTO #chunks (ChunkHash, ByteSize, Data)
        EXEC sys.sp_execute_external_script
            @language = N'Python',
            @script = N'
import pandas as pd
from hartonomous_ext import model_formats, model_store
model = model_formats.read(model_formats.BytesSource(payload, "atom"))
rows = model_store.describe(model, name)
chunks = {}
for _tensor, _index, chunk_hash, data in model_store.chunks(rows):
    chunks.setdefault(chunk_hash, data)
manifest = model_store.manifest(rows)
OutputDataSet = pd.DataFrame([[h, len(d), d] for h, d in chunks.items()])
',
            @params = N'@payload VARBINARY(MAX), @name NVARCHAR(256), @manifest NVARCHAR(MAX) OUTPUT',
            @payload = @Payload,
            @name = @Name,
            @manifest = @Manifest OUTPUT;
    END TRY
    BEGIN CATCH
        SET @Message = LEFT(ERROR_MESSAGE(), 4000);
        UPDATE dbo.IngestionJobs SET Status = N'Failed', CompletedAt = SYSUTCDATETIME(), ErrorMessage = @Message
        WHERE JobId = @JobId;
        SET @Message = CONCAT(N'sp_IngestModel: ', @Message);
        THROW 50404, @Message, 1;
    END CATCH;

    SET @SourceHash = CONVERT(BINARY(32), JSON_VALUE(@Manifest, '$.model.source_hash'), 2);
    SELECT @ModelId = ModelId FROM dbo.Models WHERE TenantId = @TenantId AND SourceHash = @SourceHash;
    IF @ModelId IS NULL
    BEGIN
        BEGIN TRANSACTION;
        INSERT INTO dbo.Models (TenantId, ModelName, ModelFormat, Architecture, ParameterCount, ConfigJson, SourceHash,
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
        INSERT INTO dbo.TensorChunks (ChunkHash, ByteSize, Data)
        SELECT c.ChunkHash, c.ByteSize, c.Data
        FROM #chunks AS c
        WHERE NOT EXISTS (SELECT 1 FROM dbo.TensorChunks AS k WITH (UPDLOCK, HOLDLOCK) WHERE k.ChunkHash = c.ChunkHash);
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
        COMMIT TRANSACTION;
    END;
    UPDATE dbo.IngestionJobs
    SET Status = N'Completed', CompletedAt = SYSUTCDATETIME(),
        TotalItems = JSON_VALUE(@Manifest, '$.model.tensor_count'),
        AtomsProcessed = JSON_VALUE(@Manifest, '$.model.tensor_count')
    WHERE JobId = @JobId;
END;
