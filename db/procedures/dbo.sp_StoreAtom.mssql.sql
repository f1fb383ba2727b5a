-- kind: procedure
-- requires: dbo.Atoms, dbo.AtomPayloadStore, dbo.AtomEmbeddings, dbo.Models, dbo.SpatialLandmarks, dbo.sp_ComputeEmbedding, dbo.fn_JoinMetadata, hartonomous_ext, dbo.TenantSecurityPolicy, dbo.sp_ChargeUsage, dbo.fn_CheckModelAccess, dbo.sp_GraphRecordAtoms
-- Store content as an atom of @TenantId, which the caller has resolved (dbo.fn_ResolveTenant): what
-- dbo.sp_IngestAtom does, for it and for sp_GenerateText. Its SHA-256 is its identity within the
-- tenant: the same content again returns the same AtomId and raises ReferenceCount, also when many
-- sessions store it at once (UPDLOCK + HOLDLOCK on the key, then insert). The modality follows the
-- content type. With @GenerateEmbedding, a text atom gets its embedding (computed before the
-- transaction) by the packaged all-MiniLM-L6-v2, or with @ModelId by that stored model of the tenant
-- (EmbeddingType is then the model's name), projected to its 3-D point and vector bucket when
-- landmarks are fitted; other atoms are stored without one, with a message saying so.
-- Content types, modalities and UTF-8 are hartonomous_ext.atoms's rules, as on PostgreSQL.
-- @ContentType is wider than its column: too long is an error, not a silent truncation.
-- @Metered 1 (sp_IngestAtom's calls): the bytes of new content ('ingested_byte'; content already
-- stored costs nothing) and the embedding computed ('embedding'), refused before the work past a
-- quota (dbo.sp_ChargeUsage). sp_GenerateText stores its text unmetered: its tokens are what it
-- charges. A new atom, or one embedded now, gets its node in the provenance graph and its SimilarTo
-- edges (dbo.sp_GraphRecordAtoms) in the same transaction. No tenant role may execute it.
CREATE OR ALTER PROCEDURE dbo.sp_StoreAtom
    @Content VARBINARY(MAX),
    @ContentType NVARCHAR(4000),
    @Metadata NVARCHAR(MAX) = NULL,
    @TenantId INT = NULL,
    @GenerateEmbedding BIT = 0,
    @ModelId INT = NULL,
    @Metered BIT = 1,
    @AtomId BIGINT = NULL OUTPUT
AS
BEGIN
    SET NOCOUNT ON;
    SET TRANSACTION ISOLATION LEVEL READ COMMITTED;  -- its charge reaches the memory-optimized ledger (dbo.sp_ChargeUsage)
    SET XACT_ABORT ON;
    IF @TenantId IS NULL
        THROW 50039, N'sp_StoreAtom: TenantId is required (the caller resolves it)', 1;
    SET @AtomId = NULL; -- an OUTPUT parameter is also an input: never answer with the caller's value
    DECLARE @MaxBytes BIGINT = {{ policy.MAX_CONTENT_BYTES }};  -- hartonomous_ext.policy
    DECLARE @Type NVARCHAR(4000) = @ContentType;  -- as stored: hartonomous_ext.atoms.classify lower-cases and trims it
    DECLARE @Modality NVARCHAR(16);
    DECLARE @Text NVARCHAR(MAX);
    DECLARE @Embedding VARBINARY(MAX), @EmbeddingJson NVARCHAR(MAX), @EmbeddingType NVARCHAR(256);
    DECLARE @Hash BINARY(32);
    DECLARE @Mean VARBINARY(MAX), @Axes VARBINARY(MAX), @Width FLOAT, @Centroids VARBINARY(MAX);
    DECLARE @X FLOAT, @Y FLOAT, @Z FLOAT, @BucketX INT, @BucketY INT, @BucketZ INT, @VectorBucket INT;
    DECLARE @Message NVARCHAR(2048);

    IF @Content IS NULL OR DATALENGTH(@Content) = 0
        THROW 50001, N'sp_IngestAtom: Content is empty', 1;
    IF DATALENGTH(@Content) > @MaxBytes
    BEGIN
        SET @Message = CONCAT(N'sp_IngestAtom: Content has ', DATALENGTH(@Content), N' bytes, more than the ',
                              @MaxBytes, N' allowed');
        THROW 50002, @Message, 1;
    END;
    DECLARE @TenantMaxBytes BIGINT = (SELECT p.MaxIngestBytes FROM dbo.TenantSecurityPolicy AS p WHERE p.TenantId = @TenantId);
    IF DATALENGTH(@Content) > @TenantMaxBytes
    BEGIN
        SET @Message = CONCAT(N'sp_IngestAtom: Content has ', DATALENGTH(@Content), N' bytes, more than tenant ',
                              @TenantId, N'''s ', @TenantMaxBytes, N' (dbo.TenantSecurityPolicy)');
        THROW 50034, @Message, 1;
    END;
    DECLARE @ContentBytes BIGINT = DATALENGTH(@Content), @Inserted BIT = 0;
    IF @Metered = 1
        EXEC dbo.sp_ChargeUsage @TenantId = @TenantId, @Operation = 'ingested_byte', @Units = @ContentBytes,
            @Source = N'sp_IngestAtom', @QuotaCheckOnly = 1;
    IF @Metadata IS NOT NULL AND ISJSON(@Metadata) = 0
        THROW 50005, N'sp_IngestAtom: Metadata is not valid JSON', 1;
    IF @ContentType IS NULL  -- (before Python: None through an OUTPUT parameter stops BxlServer)
        THROW 50003, N'sp_IngestAtom: ContentType NULL is not a media type such as text/plain', 1;
    -- hartonomous_ext.atoms: the content type and modality rules, and UTF-8 decoding of text, are the
    -- same code PostgreSQL runs; T-SQL has no UTF-8 decoding that does not depend on the database's
    -- collation. Only text content crosses into Python, in a second call.
    EXEC sys.sp_execute_external_script
        @language = N'Python',
        @script = N'
from hartonomous_ext import atoms
# every OUTPUT parameter gets a value: one left unset (or None) stops BxlServer; "" reads back as NULL
problem = modality = ""
try:
    content_type, modality = atoms.classify(content_type)
except ValueError as exc:
    problem = str(exc)
',
        @params = N'@content_type NVARCHAR(4000) OUTPUT, @modality NVARCHAR(16) OUTPUT, @problem NVARCHAR(2048) OUTPUT',
        @content_type = @Type OUTPUT, @modality = @Modality OUTPUT, @problem = @Message OUTPUT
    WITH RESULT SETS NONE;
    SET @Message = NULLIF(@Message, N'');
    IF @Message IS NULL AND @Modality = N'text'
    BEGIN
        EXEC sys.sp_execute_external_script
            @language = N'Python',
            @script = N'
from hartonomous_ext import atoms
text = problem = ""
try:
    text = atoms.decode_text(content)
except ValueError as exc:
    problem = str(exc)
',
            @params = N'@content VARBINARY(MAX), @text NVARCHAR(MAX) OUTPUT, @problem NVARCHAR(2048) OUTPUT',
            @content = @Content, @text = @Text OUTPUT, @problem = @Message OUTPUT
        WITH RESULT SETS NONE;
        SET @Message = NULLIF(@Message, N''); -- (not @Text: T-SQL's = ignores trailing spaces, so N' ' = N'')
    END;
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
            SET @Message = (SELECT r.Refusal FROM dbo.fn_CheckModelAccess(@TenantId, CONCAT(N'[', @ModelId, N']'), N'sp_IngestAtom') AS r);
            IF @Message IS NOT NULL
                THROW 50043, @Message, 1;
        END;
        IF @Metered = 1
            EXEC dbo.sp_ChargeUsage @TenantId = @TenantId, @Operation = 'embedding', @Units = 1,
                @Source = N'sp_IngestAtom', @QuotaCheckOnly = 1;
        -- Python work before the transaction, so concurrent ingests do not wait on it
        EXEC dbo.sp_ComputeEmbedding @text_value = @Text, @ModelId = @ModelId, @TenantId = @TenantId,
            @embedding = @Embedding OUTPUT, @embedding_json = @EmbeddingJson OUTPUT;
        IF DATALENGTH(@Embedding) > {{ policy.MAX_DIMENSION }} * 4
        BEGIN
            SET @Message = CONCAT(N'sp_IngestAtom: model ', @ModelId, N' gives embeddings of ', DATALENGTH(@Embedding) / 4,
                                  N' dimensions; the store keeps at most {{ policy.MAX_DIMENSION }}');
            THROW 50009, @Message, 1;
        END;
        -- its 3-D point and vector bucket once landmarks are fitted, as on PostgreSQL
        SELECT @Mean = MeanVector, @Axes = Axes, @Width = BucketWidth, @Centroids = Centroids
        FROM dbo.SpatialLandmarks WHERE IsActive = 1 AND Dimension = 384;
        IF @Mean IS NOT NULL AND DATALENGTH(@Embedding) = 384 * 4
        BEGIN
            EXEC sys.sp_execute_external_script
                @language = N'Python',
                @script = N'
from hartonomous_ext import spatial
x, y, z, bucket_x, bucket_y, bucket_z, vector_bucket = spatial.project([embedding], mean, axes, width, centroids)[0]
vector_bucket = -1 if vector_bucket is None else vector_bucket  # every OUTPUT parameter gets a value
',
                @params = N'@embedding VARBINARY(MAX), @mean VARBINARY(MAX), @axes VARBINARY(MAX), @width FLOAT,
                            @centroids VARBINARY(MAX), @x FLOAT OUTPUT, @y FLOAT OUTPUT, @z FLOAT OUTPUT,
                            @bucket_x INT OUTPUT, @bucket_y INT OUTPUT, @bucket_z INT OUTPUT, @vector_bucket INT OUTPUT',
                @embedding = @Embedding, @mean = @Mean, @axes = @Axes, @width = @Width, @centroids = @Centroids,
                @x = @X OUTPUT, @y = @Y OUTPUT, @z = @Z OUTPUT, @bucket_x = @BucketX OUTPUT, @bucket_y = @BucketY OUTPUT,
                @bucket_z = @BucketZ OUTPUT, @vector_bucket = @VectorBucket OUTPUT
            WITH RESULT SETS NONE;
            SET @VectorBucket = NULLIF(@VectorBucket, -1);
        END;
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
        SET @Inserted = 1;
    END
    ELSE
    BEGIN
        UPDATE dbo.Atoms
        SET ReferenceCount = ReferenceCount + 1,
            UpdatedAt = SYSUTCDATETIME(),
            Metadata = dbo.fn_JoinMetadata(Metadata, @Metadata)  -- as jsonb's || joins two objects
        WHERE AtomId = @AtomId;
    END;
    IF @Embedding IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM dbo.AtomEmbeddings WHERE AtomId = @AtomId
        AND EmbeddingType = COALESCE(@EmbeddingType, N'all-MiniLM-L6-v2'))
    BEGIN
{%- if mssql_version >= 2025 %}
        INSERT INTO dbo.AtomEmbeddings (AtomId, ModelId, EmbeddingType, Dimension, EmbeddingVector, EmbeddingNative,
                                        SpatialX, SpatialY, SpatialZ, SpatialBucketX, SpatialBucketY, SpatialBucketZ,
                                        SpatialGeometry, VectorBucket)
        VALUES (@AtomId, @ModelId, COALESCE(@EmbeddingType, N'all-MiniLM-L6-v2'), DATALENGTH(@Embedding) / 4, @Embedding,
                CASE WHEN DATALENGTH(@Embedding) = 1536 THEN CAST(@EmbeddingJson AS VECTOR(384)) END,
                @X, @Y, @Z, @BucketX, @BucketY, @BucketZ,
                CASE WHEN @X IS NOT NULL THEN geometry::Point(@X, @Y, 0) END, @VectorBucket);
{%- else %}
        INSERT INTO dbo.AtomEmbeddings (AtomId, ModelId, EmbeddingType, Dimension, EmbeddingVector,
                                        SpatialX, SpatialY, SpatialZ, SpatialBucketX, SpatialBucketY, SpatialBucketZ,
                                        SpatialGeometry, VectorBucket)
        VALUES (@AtomId, @ModelId, COALESCE(@EmbeddingType, N'all-MiniLM-L6-v2'), DATALENGTH(@Embedding) / 4, @Embedding,
                @X, @Y, @Z, @BucketX, @BucketY, @BucketZ,
                CASE WHEN @X IS NOT NULL THEN geometry::Point(@X, @Y, 0) END, @VectorBucket);
{%- endif %}
    END;
    IF @Inserted = 1 AND @Metered = 1
        EXEC dbo.sp_ChargeUsage @TenantId = @TenantId, @Operation = 'ingested_byte', @Units = @ContentBytes,
            @Source = N'sp_IngestAtom', @QuotaCheckOnly = 0;
    IF @Embedding IS NOT NULL AND @Metered = 1
        EXEC dbo.sp_ChargeUsage @TenantId = @TenantId, @Operation = 'embedding', @Units = 1,
            @Source = N'sp_IngestAtom', @QuotaCheckOnly = 0;
    IF @Inserted = 1 OR @Embedding IS NOT NULL
    BEGIN
        DECLARE @GraphAtoms NVARCHAR(40) = CONCAT(N'[', @AtomId, N']');
        EXEC dbo.sp_GraphRecordAtoms @AtomIds = @GraphAtoms, @TenantId = @TenantId;
    END;
    COMMIT TRANSACTION;
END;
