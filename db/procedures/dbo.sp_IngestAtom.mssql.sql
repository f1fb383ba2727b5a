-- kind: procedure
-- requires: dbo.Atoms, dbo.AtomPayloadStore, dbo.AtomEmbeddings, dbo.Models, dbo.sp_GenerateEmbedding, hartonomous_ext
-- Ingest content as an atom. Its SHA-256 is its identity within the tenant: the same content again
-- returns the same AtomId and raises ReferenceCount, also when many sessions ingest it at once
-- (UPDLOCK + HOLDLOCK on the key, then insert). The modality follows the content type. With
-- @GenerateEmbedding, a text atom gets its embedding (computed before the transaction) by the
-- packaged all-MiniLM-L6-v2, or with @ModelId by that stored model of the tenant (EmbeddingType is
-- then the model's name); other atoms are stored without one, with a message saying so.
-- Content types, modalities and UTF-8 are hartonomous_ext.atoms's rules, as on PostgreSQL.
-- @ContentType is wider than its column: too long is an error, not a silent truncation.
CREATE OR ALTER PROCEDURE dbo.sp_IngestAtom
    @Content VARBINARY(MAX),
    @ContentType NVARCHAR(4000),
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
    DECLARE @Type NVARCHAR(4000) = @ContentType;  -- as stored: hartonomous_ext.atoms.classify lower-cases and trims it
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
    IF @TenantId IS NULL OR @TenantId < 0
        THROW 50004, N'sp_IngestAtom: TenantId must be 0 or more', 1;
    IF @Metadata IS NOT NULL AND ISJSON(@Metadata) = 0
        THROW 50005, N'sp_IngestAtom: Metadata is not valid JSON', 1;
    -- hartonomous_ext.atoms: the content type and modality rules, and UTF-8 decoding of text, are the
    -- same code PostgreSQL runs; T-SQL has no UTF-8 decoding that does not depend on the database's
    -- collation.
    EXEC sys.sp_execute_external_script
        @language = N'Python',
        @script = N'
from hartonomous_ext import atoms
# every OUTPUT parameter gets a value: one left unset (or None) stops BxlServer; "" reads back as NULL
text = problem = modality = ""
try:
    content_type, modality = atoms.classify(content_type)
    if modality == "text":
        text = atoms.decode_text(content)
except ValueError as exc:
    problem = str(exc)
',
        @params = N'@content VARBINARY(MAX), @content_type NVARCHAR(4000) OUTPUT, @modality NVARCHAR(16) OUTPUT,
                    @text NVARCHAR(MAX) OUTPUT, @problem NVARCHAR(2048) OUTPUT',
        @content = @Content, @content_type = @Type OUTPUT, @modality = @Modality OUTPUT, @text = @Text OUTPUT,
        @problem = @Message OUTPUT;
    SELECT @Message = NULLIF(@Message, N''), @Text = NULLIF(@Text, N'');
    IF @Message IS NOT NULL
    BEGIN
        SET @Message = CONCAT(N'sp_IngestAtom: ', @Message);
        THROW 50003, @Message, 1;
    END;
    IF @GenerateEmbedding = 1 AND @Modality <> N'text' AND @ModelId IS NULL
        -- the seeds ingest an image with @GenerateEmbedding = 1: store it, and say why it has no embedding
        PRINT CONCAT(N'sp_IngestAtom: ', @Modality, N' atoms get no embedding (the embedding models embed text); stored without one');
    ELSE IF @GenerateEmbedding = 1
    BEGIN
        IF @Modality <> N'text'
        BEGIN
            SET @Message = CONCAT(N'sp_IngestAtom: model ', @ModelId, N' embeds text; this atom is ', @Modality);
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
