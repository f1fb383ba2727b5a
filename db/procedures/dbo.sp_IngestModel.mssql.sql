-- kind: procedure
-- requires: dbo.Atoms, dbo.AtomPayloadStore, dbo.IngestionJobs, dbo.sp_StoreModel, hartonomous_ext
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
    @IngestionJobId BIGINT = NULL OUTPUT
AS
BEGIN
    SET NOCOUNT ON;
    -- its job row must outlive a failure and it commits on its own: refused inside a caller's
    -- transaction (RAISERROR, not THROW, which under XACT_ABORT would doom the caller's transaction),
    -- and implicit transactions (a driver's autocommit off) are off for its duration
    IF @@TRANCOUNT > 0
    BEGIN
        RAISERROR(N'sp_IngestModel: run it outside a transaction (its job row records a failure)', 16, 1);
        RETURN 50400;
    END;
    SET IMPLICIT_TRANSACTIONS OFF;
    SET XACT_ABORT ON;
    SET @ModelId = NULL; -- OUTPUT parameters are also inputs: never answer with the caller's values
    SET @IngestionJobId = NULL;
    DECLARE @Payload VARBINARY(MAX), @Manifest NVARCHAR(MAX), @Message NVARCHAR(MAX), @Name NVARCHAR(256);
    IF (@AtomId IS NULL AND @Path IS NULL) OR (@AtomId IS NOT NULL AND @Path IS NOT NULL)
        THROW 50401, N'sp_IngestModel: give exactly one of AtomId and Path', 1;
    IF @Path IS NOT NULL
        THROW 50402, N'sp_IngestModel: @Path is not supported on SQL Server; ingest the file as an atom and pass @AtomId', 1;
    INSERT INTO dbo.IngestionJobs (TenantId, JobType, Status, Source, StartTime, Parameters)
    VALUES (@TenantId, N'model', N'Running', CONCAT(N'atom ', @AtomId), SYSUTCDATETIME(),
            (SELECT @ModelName AS name, CAST(1 AS BIT) AS in_database FOR JSON PATH, WITHOUT_ARRAY_WRAPPER));
    SET @IngestionJobId = SCOPE_IDENTITY();
    SET @Name = COALESCE(@ModelName, CONCAT(N'atom-', @AtomId));
    SELECT @Payload = p.Payload
    FROM dbo.Atoms AS a
    INNER JOIN dbo.AtomPayloadStore AS p ON p.AtomId = a.AtomId
    WHERE a.AtomId = @AtomId AND a.TenantId = @TenantId;

    CREATE TABLE #chunks (ChunkHash BINARY(32) NOT NULL, ByteSize INT NOT NULL, Data VARBINARY(MAX) NOT NULL);
    -- Python's result set carries text (str maps to NVARCHAR); bytes columns are inferred, not declared
    CREATE TABLE #chunkhex (ChunkHash NVARCHAR(64) NOT NULL, ByteSize INT NOT NULL, DataHex NVARCHAR(MAX) NOT NULL);
    BEGIN TRY
        IF @Payload IS NULL
        BEGIN
            SET @Message = CONCAT(N'atom ', @AtomId, N' does not exist for tenant ', @TenantId);
            THROW 50403, @Message, 1;
        END;
        INSERT INTO #chunkhex (ChunkHash, ByteSize, DataHex)
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
del payload, model
OutputDataSet = pd.DataFrame([[h.hex(), len(d), d.hex()] for h, d in chunks.items()],
                             columns=["ChunkHash", "ByteSize", "DataHex"])
',
            @params = N'@payload VARBINARY(MAX), @name NVARCHAR(256), @manifest NVARCHAR(MAX) OUTPUT',
            @payload = @Payload,
            @name = @Name,
            @manifest = @Manifest OUTPUT;
        INSERT INTO #chunks (ChunkHash, ByteSize, Data)
        SELECT CONVERT(BINARY(32), ChunkHash, 2), ByteSize, CONVERT(VARBINARY(MAX), DataHex, 2) FROM #chunkhex;
        DROP TABLE #chunkhex;
        BEGIN TRANSACTION; -- the model and its job's Completed together
        EXEC dbo.sp_StoreModel @Manifest = @Manifest, @TenantId = @TenantId, @ModelId = @ModelId OUTPUT;
        UPDATE dbo.IngestionJobs
        SET Status = N'Completed', EndTime = SYSUTCDATETIME(),
            TotalItems = JSON_VALUE(@Manifest, '$.model.tensor_count'),
            AtomsProcessed = JSON_VALUE(@Manifest, '$.model.tensor_count')
        WHERE IngestionJobId = @IngestionJobId;
        COMMIT TRANSACTION;
    END TRY
    BEGIN CATCH
        SET @Message = ERROR_MESSAGE();
        IF XACT_STATE() <> 0 ROLLBACK TRANSACTION; -- a doomed transaction takes no more writes
        UPDATE dbo.IngestionJobs SET Status = N'Failed', EndTime = SYSUTCDATETIME(), ErrorMessage = @Message
        WHERE IngestionJobId = @IngestionJobId;
        SET @Message = LEFT(CONCAT(N'sp_IngestModel: ', @Message), 2047);
        THROW 50404, @Message, 1;
    END CATCH;
END;
