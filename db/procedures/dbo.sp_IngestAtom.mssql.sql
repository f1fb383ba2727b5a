-- kind: procedure
-- requires: dbo.Atoms, dbo.AtomPayloadStore, dbo.AtomEmbeddings, dbo.Models, dbo.sp_GenerateEmbedding
-- Ingest content as an atom. Its SHA-256 is its identity within the tenant: the same content again
-- returns the same AtomId and raises ReferenceCount, also when many sessions ingest it at once
-- (UPDLOCK + HOLDLOCK on the key, then insert). The modality follows the content type. With
-- @GenerateEmbedding, a text atom gets its embedding (computed before the transaction) by the
-- packaged all-MiniLM-L6-v2, or with @ModelId by that stored model of the tenant (EmbeddingType is
-- then the model's name).
CREATE OR ALTER PROCEDURE dbo.sp_IngestAtom
    @Content VARBINARY(MAX),
    @ContentType NVARCHAR(128),
    @Metadata NVARCHAR(MAX) = NULL,
    @TenantId INT = 0,
    @GenerateEmbedding BIT = 0,
    @ModelId INT = NULL,
    @AtomId BIGINT = NULL OUTPUT
AS
BEGIN
    SET NOCOUNT ON;
    SET XACT_ABORT ON;
    SET @AtomId = NULL; -- an OUTPUT parameter is also an input: never answer with the caller's value
    DECLARE @MaxBytes BIGINT = 268435456;  -- 256 MiB
    DECLARE @Type NVARCHAR(128) = LOWER(LTRIM(RTRIM(@ContentType)));
    DECLARE @BaseType NVARCHAR(128);
    DECLARE @Modality NVARCHAR(16);
    DECLARE @Text NVARCHAR(MAX);
    DECLARE @Embedding VARBINARY(MAX), @EmbeddingJson NVARCHAR(MAX), @EmbeddingType NVARCHAR(256);
    DECLARE @Hash BINARY(32);
    DECLARE @Message NVARCHAR(2048);

    IF @Content IS NULL OR DATALENGTH(@Content) = 0
        THROW 50001, N'sp_IngestAtom: Content is empty', 1;
    IF DATALENGTH(@Content) > @MaxBytes
    BEGIN
        SET @Message = CONCAT(N'sp_IngestAtom: Content has ', DATALENGTH(@Content), N' bytes, more than the ',
                              @MaxBytes, N' allowed');
        THROW 50002, @Message, 1;
    END;
    IF @Type IS NULL OR @Type NOT LIKE N'[a-z0-9]%/[a-z0-9]%' OR @Type LIKE N'% %/%'
    BEGIN
        SET @Message = CONCAT(N'sp_IngestAtom: ContentType ', COALESCE(@ContentType, N'NULL'),
                              N' is not a media type such as text/plain');
        THROW 50003, @Message, 1;
    END;
    IF @TenantId IS NULL OR @TenantId < 0
        THROW 50004, N'sp_IngestAtom: TenantId must be 0 or more', 1;
    IF @Metadata IS NOT NULL AND ISJSON(@Metadata) = 0
        THROW 50005, N'sp_IngestAtom: Metadata is not valid JSON', 1;

    SET @BaseType = CASE WHEN CHARINDEX(N';', @Type) > 0 THEN LEFT(@Type, CHARINDEX(N';', @Type) - 1) ELSE @Type END;
    SET @Modality = CASE
        WHEN @BaseType LIKE N'text/%' OR @BaseType IN (N'application/json', N'application/xml',
             N'application/x-ndjson', N'application/yaml') THEN N'text'
        WHEN @BaseType LIKE N'image/%' THEN N'image'
        WHEN @BaseType LIKE N'audio/%' THEN N'audio'
        WHEN @BaseType IN (N'application/onnx', N'application/x-onnx', N'application/x-safetensors',
             N'application/x-gguf', N'application/x-pytorch', N'application/vnd.hartonomous.model') THEN N'model'
        ELSE N'binary'
    END;
    IF @Modality = N'text'
    BEGIN
        -- UTF-8 bytes through a UTF-8 collation and back: invalid sequences do not survive the trip
        SET @Text = CAST(CAST(@Content AS VARCHAR(MAX)) COLLATE Latin1_General_100_CI_AS_SC_UTF8 AS NVARCHAR(MAX));
        IF CAST(CAST(@Text AS VARCHAR(MAX)) COLLATE Latin1_General_100_CI_AS_SC_UTF8 AS VARBINARY(MAX)) <> @Content
        BEGIN
            SET @Message = CONCAT(N'sp_IngestAtom: Content is not valid UTF-8 text (ContentType ', @Type, N')');
            THROW 50006, @Message, 1;
        END;
    END;
    IF @GenerateEmbedding = 1
    BEGIN
        IF @Modality <> N'text'
        BEGIN
            SET @Message = CONCAT(N'sp_IngestAtom: GenerateEmbedding needs a text atom; this one is ', @Modality);
            THROW 50007, @Message, 1;
        END;
        IF @ModelId IS NOT NULL
        BEGIN
            SELECT @EmbeddingType = LEFT(ModelName, 64) FROM dbo.Models WHERE ModelId = @ModelId AND TenantId = @TenantId;
            IF @EmbeddingType IS NULL
            BEGIN
                SET @Message = CONCAT(N'sp_IngestAtom: model ', @ModelId, N' does not exist for tenant ', @TenantId);
                THROW 50008, @Message, 1;
            END;
        END;
        -- Python work before the transaction, so concurrent ingests do not wait on it
        EXEC dbo.sp_GenerateEmbedding @text_value = @Text, @ModelId = @ModelId, @TenantId = @TenantId,
            @embedding = @Embedding OUTPUT, @embedding_json = @EmbeddingJson OUTPUT;
    END;

    SET @Hash = CAST(HASHBYTES('SHA2_256', @Content) AS BINARY(32));
    BEGIN TRANSACTION;
    SELECT @AtomId = AtomId
    FROM dbo.Atoms WITH (UPDLOCK, HOLDLOCK)
    WHERE TenantId = @TenantId AND ContentHash = @Hash;
    IF @AtomId IS NULL
    BEGIN
        INSERT INTO dbo.Atoms (TenantId, ContentHash, ContentType, Modality, ContentSize, Metadata)
        VALUES (@TenantId, @Hash, @Type, @Modality, DATALENGTH(@Content), @Metadata);
        SET @AtomId = SCOPE_IDENTITY();
        INSERT INTO dbo.AtomPayloadStore (AtomId, Payload) VALUES (@AtomId, @Content);
    END
    ELSE
    BEGIN
        UPDATE dbo.Atoms
        SET ReferenceCount = ReferenceCount + 1,
            UpdatedAt = SYSUTCDATETIME()
        WHERE AtomId = @AtomId;
    END;
    IF @Embedding IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM dbo.AtomEmbeddings WHERE AtomId = @AtomId
        AND EmbeddingType = COALESCE(@EmbeddingType, N'all-MiniLM-L6-v2'))
    BEGIN
{%- if mssql_version >= 2025 %}
        INSERT INTO dbo.AtomEmbeddings (AtomId, ModelId, EmbeddingType, Dimension, EmbeddingVector, EmbeddingNative)
        VALUES (@AtomId, @ModelId, COALESCE(@EmbeddingType, N'all-MiniLM-L6-v2'), DATALENGTH(@Embedding) / 4, @Embedding,
                CASE WHEN DATALENGTH(@Embedding) = 1536 THEN CAST(@EmbeddingJson AS VECTOR(384)) END);
{%- else %}
        INSERT INTO dbo.AtomEmbeddings (AtomId, ModelId, EmbeddingType, Dimension, EmbeddingVector)
        VALUES (@AtomId, @ModelId, COALESCE(@EmbeddingType, N'all-MiniLM-L6-v2'), DATALENGTH(@Embedding) / 4, @Embedding);
{%- endif %}
    END;
    COMMIT TRANSACTION;
END;
