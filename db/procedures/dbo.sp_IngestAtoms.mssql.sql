-- kind: procedure
-- requires: dbo.Atoms, dbo.AtomPayloadStore, dbo.AtomEmbeddings, dbo.Models, dbo.sp_BindAtomConcepts, provenance.Concepts, dbo.SpatialLandmarks, dbo.fn_JoinMetadata, dbo.fn_StoredModel, dbo.fn_StoredModelChunks, hartonomous_ext, dbo.fn_ResolveTenant, dbo.TenantSecurityPolicy, dbo.sp_ChargeUsage, dbo.fn_CheckModelAccess, dbo.sp_GraphRecordAtoms
-- Ingest a batch of contents as atoms in one call and one transaction: what sp_IngestAtom does for
-- one content, for up to {{ policy.MAX_BATCH_ATOMS }} (and {{ policy.MAX_BATCH_BYTES }} bytes together).
-- @Atoms is a JSON array of objects {"content": <the bytes in base64>, "contentType": <a media type>,
-- "metadata": <a JSON object or array, optional>}. The same content twice, in the batch or already
-- stored, is one atom whose ReferenceCount rises each time, with metadata joined as sp_IngestAtom
-- joins it. With @GenerateEmbedding = 1, the text atoms that have no embedding of the type yet get
-- one, all in one Python call (hartonomous_ext.atoms.prepare_batch: batched, sorted by length,
-- projected when landmarks are fitted); as in sp_IngestAtom the packaged all-MiniLM-L6-v2, or with
-- @ModelId that stored model of the tenant. One bad element refuses the whole batch, naming it
-- ("item 3: ..."), and nothing is written. The atoms it embeds join their tenant's concepts of the
-- type (dbo.sp_BindAtomConcepts, one external script call for the batch; stored content ingested
-- again is not bound again); a bind that fails leaves them stored and unbound, with a message.
-- Metered as sp_IngestAtom is (dbo.sp_ChargeUsage): the bytes of the atoms this call created and
-- the embeddings computed; past a quota it refuses before the work.
-- Returns one row per element, in order: Ordinal, AtomId, Inserted (this call created the atom),
-- AtomEmbeddingId (the atom's embedding of the type; NULL when it has none). As on PostgreSQL.
--   EXEC dbo.sp_IngestAtoms @Atoms = N'[{"content": "aGVsbG8=", "contentType": "text/plain"}]', @GenerateEmbedding = 1;
CREATE OR ALTER PROCEDURE dbo.sp_IngestAtoms
    @Atoms NVARCHAR(MAX),
    @TenantId INT = NULL,
    @GenerateEmbedding BIT = 0,
    @ModelId INT = NULL
AS
BEGIN
    SET NOCOUNT ON;
    SET TRANSACTION ISOLATION LEVEL READ COMMITTED;  -- its charge reaches the memory-optimized ledger (dbo.sp_ChargeUsage)
    SET XACT_ABORT ON;
    DECLARE @TenantRefusal NVARCHAR(400);  -- the session's tenant, or an administrator's choice (dbo.fn_ResolveTenant)
    SELECT @TenantId = r.TenantId, @TenantRefusal = r.Refusal FROM dbo.fn_ResolveTenant(@TenantId, N'sp_IngestAtoms') AS r;
    IF @TenantRefusal IS NOT NULL
        THROW 50030, @TenantRefusal, 1;
    DECLARE @MaxAtoms INT = {{ policy.MAX_BATCH_ATOMS }};  -- hartonomous_ext.policy
    DECLARE @MaxBytes BIGINT = {{ policy.MAX_CONTENT_BYTES }};
    DECLARE @MaxBatchBytes BIGINT = {{ policy.MAX_BATCH_BYTES }};
    DECLARE @Shape NVARCHAR(200) = N'a JSON array of objects {"content": <base64>, "contentType": <media type>, "metadata": <JSON>}';
    DECLARE @JsonBlank NVARCHAR(4) = CONCAT(N' ', NCHAR(9), NCHAR(10), NCHAR(13));
    DECLARE @EmbeddingType NVARCHAR(64) = N'all-MiniLM-L6-v2';
    DECLARE @Count INT, @Item INT, @Problem NVARCHAR(2048), @Message NVARCHAR(2048), @Bytes BIGINT;
    DECLARE @Wanted NVARCHAR(MAX), @Prepared NVARCHAR(MAX), @Unembedded INT, @Round INT = 1, @Rounds INT;
    DECLARE @Format NVARCHAR(32), @Architecture NVARCHAR(128), @Config NVARCHAR(MAX);
    DECLARE @Mean VARBINARY(MAX), @Axes VARBINARY(MAX), @Width FLOAT, @Centroids VARBINARY(MAX);

    IF @Atoms IS NULL OR ISJSON(@Atoms) = 0
       OR SUBSTRING(@Atoms, PATINDEX(CONCAT(N'%[^', @JsonBlank, N']%'), @Atoms), 1) <> N'['
    BEGIN
        SET @Message = CONCAT(N'sp_IngestAtoms: Atoms must be ', @Shape);
        THROW 50011, @Message, 1;
    END;
    SELECT @Count = COUNT(*) FROM OPENJSON(@Atoms);
    IF @Count > @MaxAtoms
    BEGIN
        SET @Message = CONCAT(N'sp_IngestAtoms: ', @Count, N' atoms in one batch, more than the ', @MaxAtoms, N' allowed');
        THROW 50012, @Message, 1;
    END;
    IF @Count = 0
    BEGIN
        SELECT CONVERT(INT, NULL) AS Ordinal, CONVERT(BIGINT, NULL) AS AtomId, CONVERT(BIT, NULL) AS Inserted,
               CONVERT(BIGINT, NULL) AS AtomEmbeddingId
        WHERE 1 = 0;
        RETURN;
    END;
    IF @GenerateEmbedding = 1 AND @ModelId IS NOT NULL
    BEGIN
        SET @EmbeddingType = (SELECT LEFT(m.ModelName, 64) FROM dbo.Models AS m
                              WHERE m.ModelId = @ModelId AND m.TenantId = @TenantId);
        SELECT @Format = s.ModelFormat, @Architecture = s.Architecture, @Config = s.Config
        FROM dbo.fn_StoredModel(@ModelId, @TenantId) AS s;
        IF @EmbeddingType IS NULL OR @Format IS NULL
        BEGIN
            SET @Message = CONCAT(N'sp_IngestAtoms: model ', @ModelId, N' does not exist for tenant ', @TenantId);
            THROW 50017, @Message, 1;
        END;
        SET @Message = (SELECT r.Refusal FROM dbo.fn_CheckModelAccess(@TenantId, CONCAT(N'[', @ModelId, N']'), N'sp_IngestAtoms') AS r);
        IF @Message IS NOT NULL
            THROW 50043, @Message, 1;
    END;

    -- the shape of each element, before anything is decoded: the first bad one is named. Keys are
    -- case-sensitive, as in PostgreSQL; base64 is strict (no blanks), as on PostgreSQL.
    SELECT TOP (1) @Item = e.Ordinal, @Problem = e.Problem
    FROM (SELECT CONVERT(INT, j.[key]) + 1 AS Ordinal,
                 CASE WHEN j.[type] <> 5 THEN N'is not a JSON object'
                      WHEN k.Repeated > 0 THEN N'names a key more than once'
                      WHEN k.ContentKind IS NULL OR k.ContentKind <> 1 THEN N'has no "content" string (its bytes in base64)'
                      WHEN k.Content COLLATE Latin1_General_BIN2 LIKE N'%[^A-Za-z0-9+/=]%'
                           OR LEN(k.Content + N'x') % 4 <> 1
                           OR (CHARINDEX(N'=', k.Content) > 0
                               AND RIGHT(k.Content, LEN(k.Content + N'x') - CHARINDEX(N'=', k.Content)) NOT IN (N'=', N'=='))
                           THEN N'"content" is not base64'
                      WHEN k.TypeKind IS NULL OR k.TypeKind <> 1 THEN N'has no "contentType" string (a media type such as text/plain)'
                      WHEN k.MetadataKind IN (1, 2, 3) THEN N'"metadata" must be a JSON object or array'
                 END AS Problem
          FROM OPENJSON(@Atoms) AS j
          OUTER APPLY (SELECT MAX(CASE WHEN p.[key] = N'content' COLLATE Latin1_General_BIN2 THEN p.[type] END) AS ContentKind,
                              MAX(CASE WHEN p.[key] = N'content' COLLATE Latin1_General_BIN2 THEN p.[value] END) AS Content,
                              MAX(CASE WHEN p.[key] = N'contentType' COLLATE Latin1_General_BIN2 THEN p.[type] END) AS TypeKind,
                              MAX(CASE WHEN p.[key] = N'metadata' COLLATE Latin1_General_BIN2 THEN p.[type] END) AS MetadataKind,
                              COUNT(p.[key]) - COUNT(DISTINCT p.[key] COLLATE Latin1_General_BIN2) AS Repeated
                       FROM OPENJSON(CASE WHEN j.[type] = 5 THEN j.[value] ELSE N'{}' END) AS p) AS k) AS e
    WHERE e.Problem IS NOT NULL
    ORDER BY e.Ordinal;
    IF @Item IS NOT NULL
    BEGIN
        SET @Message = CONCAT(N'sp_IngestAtoms: item ', @Item, N': ', @Problem, N'; Atoms must be ', @Shape);
        THROW 50013, @Message, 1;
    END;

    CREATE TABLE #atoms (
        Ordinal INT NOT NULL PRIMARY KEY, Content VARBINARY(MAX) NULL, Metadata NVARCHAR(MAX) NULL, ContentHash BINARY(32) NULL, Wanted BIT NOT NULL DEFAULT 0,
        ContentType NVARCHAR(128) NULL, Modality NVARCHAR(16) NULL, Problem NVARCHAR(2048) NULL,
        Embedding VARBINARY(MAX) NULL, EmbeddingJson NVARCHAR(MAX) NULL,
        X FLOAT NULL, Y FLOAT NULL, Z FLOAT NULL, BucketX INT NULL, BucketY INT NULL, BucketZ INT NULL, VectorBucket INT NULL,
        Occurrence INT NULL, AtomId BIGINT NULL, Inserted BIT NOT NULL DEFAULT 0,
        INDEX IX_atoms_Occurrence NONCLUSTERED (Occurrence, ContentHash));
    -- OPENJSON decodes base64 into VARBINARY; "metadata": null is no metadata
    INSERT INTO #atoms (Ordinal, Content, Metadata)
    SELECT CONVERT(INT, j.[key]) + 1, a.content, a.metadata
    FROM OPENJSON(@Atoms) AS j
    CROSS APPLY OPENJSON(j.[value]) WITH (content VARBINARY(MAX) '$.content', metadata NVARCHAR(MAX) '$.metadata' AS JSON) AS a;

    SELECT TOP (1) @Item = Ordinal,
           @Problem = CASE WHEN ISNULL(DATALENGTH(Content), 0) = 0 THEN N'Content is empty'
                           ELSE CONCAT(N'Content has ', DATALENGTH(Content), N' bytes, more than the ', @MaxBytes, N' allowed') END
    FROM #atoms WHERE ISNULL(DATALENGTH(Content), 0) = 0 OR DATALENGTH(Content) > @MaxBytes ORDER BY Ordinal;
    IF @Item IS NOT NULL
    BEGIN
        SET @Message = CONCAT(N'sp_IngestAtoms: item ', @Item, N': ', @Problem);
        THROW 50014, @Message, 1;
    END;
    SELECT @Bytes = SUM(CONVERT(BIGINT, DATALENGTH(Content))) FROM #atoms;
    IF @Bytes > @MaxBatchBytes
    BEGIN
        SET @Message = CONCAT(N'sp_IngestAtoms: the batch holds ', @Bytes, N' bytes, more than the ', @MaxBatchBytes,
                              N' allowed together');
        THROW 50015, @Message, 1;
    END;
    DECLARE @TenantMaxBytes BIGINT = (SELECT p.MaxIngestBytes FROM dbo.TenantSecurityPolicy AS p WHERE p.TenantId = @TenantId);
    IF @Bytes > @TenantMaxBytes
    BEGIN
        SET @Message = CONCAT(N'sp_IngestAtoms: the batch holds ', @Bytes, N' bytes, more than tenant ', @TenantId,
                              N'''s ', @TenantMaxBytes, N' (dbo.TenantSecurityPolicy)');
        THROW 50034, @Message, 1;
    END;
    EXEC dbo.sp_ChargeUsage @TenantId = @TenantId, @Operation = 'ingested_byte', @Units = @Bytes,
        @Source = N'sp_IngestAtoms', @QuotaCheckOnly = 1;

    -- an embedding is wanted for the contents whose atom has none of the type yet
    UPDATE b
    SET ContentHash = CONVERT(BINARY(32), HASHBYTES('SHA2_256', b.Content))
    FROM #atoms AS b;
    UPDATE b
    SET Wanted = CASE WHEN @GenerateEmbedding = 1 AND NOT EXISTS (
                          SELECT 1 FROM dbo.Atoms AS a JOIN dbo.AtomEmbeddings AS e
                              ON e.AtomId = a.AtomId AND e.EmbeddingType = @EmbeddingType
                          WHERE a.TenantId = @TenantId AND a.ContentHash = b.ContentHash) THEN 1 ELSE 0 END
    FROM #atoms AS b;
    DECLARE @Units BIGINT = (SELECT COUNT_BIG(*) FROM #atoms WHERE Wanted = 1);
    EXEC dbo.sp_ChargeUsage @TenantId = @TenantId, @Operation = 'embedding', @Units = @Units,
        @Source = N'sp_IngestAtoms', @QuotaCheckOnly = 1;
    SET @Wanted = (SELECT STRING_AGG(CONVERT(NVARCHAR(MAX), CONVERT(NCHAR(1), Wanted)), N'') WITHIN GROUP (ORDER BY Ordinal)
                   FROM #atoms);
    -- landmarks (fitted on 384 dimensions): the script projects embeddings of that dimension, as
    -- sp_IngestAtom does, whichever model made them
    SELECT @Mean = MeanVector, @Axes = Axes, @Width = BucketWidth, @Centroids = Centroids
    FROM dbo.SpatialLandmarks WHERE IsActive = 1 AND Dimension = 384;

    -- Python once for the batch (content types, UTF-8, embeddings, 3-D points), before any row is
    -- locked; every OUTPUT parameter gets a value (None stops BxlServer). A problem of the whole
    -- batch (the model) comes back as {"problem": ...}, never as a script error.
    IF @ModelId IS NULL OR @GenerateEmbedding = 0 OR CHARINDEX(N'1', @Wanted) = 0
        EXEC sys.sp_execute_external_script
            @language = N'Python',
            @script = N'
from hartonomous_ext import atoms, embeddings
prepared = atoms.prepare_batch_json(batch, wanted, embeddings.embed, False, (mean, axes, width, centroids),
                                    with_json=with_json)
',
            @params = N'@batch NVARCHAR(MAX), @wanted NVARCHAR(MAX), @mean VARBINARY(MAX), @axes VARBINARY(MAX),
                        @width FLOAT, @centroids VARBINARY(MAX), @with_json BIT, @prepared NVARCHAR(MAX) OUTPUT',
            @batch = @Atoms, @wanted = @Wanted, @mean = @Mean, @axes = @Axes, @width = @Width, @centroids = @Centroids,
            @with_json = {{ 1 if mssql_version >= 2025 else 0 }}, @prepared = @Prepared OUTPUT
        WITH RESULT SETS NONE;
    ELSE
    BEGIN
        -- the stored model's tensors are the script's input data set, as sp_GenerateEmbedding reads them
        CREATE TABLE #weights (TensorIndex INT, TensorName NVARCHAR(512), DType NVARCHAR(16), Shape NVARCHAR(400),
                               ByteSize BIGINT, ChunkIndex INT, ChunkHash BINARY(32), Data VARBINARY(MAX));
        INSERT INTO #weights (TensorIndex, TensorName, DType, Shape, ByteSize, ChunkIndex, ChunkHash, Data)
        SELECT TensorIndex, TensorName, DType, Shape, ByteSize, ChunkIndex, ChunkHash, Data
        FROM dbo.fn_StoredModelChunks(@ModelId);
        SET @Message = (SELECT TOP (1) CONCAT(N'sp_IngestAtoms: tensor ', w.TensorName, N' of model ', @ModelId,
                                              N' maps to chunk ', CONVERT(NVARCHAR(64), w.ChunkHash, 2), N', which is not stored')
                        FROM #weights AS w WHERE w.ChunkHash IS NOT NULL AND w.Data IS NULL);
        IF @Message IS NOT NULL
            THROW 50019, @Message, 1;
        EXEC sys.sp_execute_external_script
            @language = N'Python',
            @script = N'
import json
from hartonomous_ext import atoms, embeddings, model_store
from hartonomous_ext.model_formats import FormatError
try:
    model = model_store.from_chunk_rows({"format": model_format, "architecture": architecture, "config": config},
                                        InputDataSet.itertuples(index=False, name=None))
    runtime = embeddings.stored_runtime(model)
except (FormatError, ValueError) as exc:
    prepared = json.dumps({"problem": str(exc)})
else:
    prepared = atoms.prepare_batch_json(batch, wanted, lambda texts: embeddings.embed(texts, runtime_pair=runtime),
                                        True, (mean, axes, width, centroids), with_json=with_json)
',
            @input_data_1 = N'SELECT TensorIndex, TensorName, DType, Shape, ByteSize, ChunkIndex, ChunkHash, Data
                              FROM #weights ORDER BY TensorIndex, ChunkIndex',
            @params = N'@batch NVARCHAR(MAX), @wanted NVARCHAR(MAX), @model_format NVARCHAR(32),
                        @architecture NVARCHAR(128), @config NVARCHAR(MAX), @mean VARBINARY(MAX), @axes VARBINARY(MAX),
                        @width FLOAT, @centroids VARBINARY(MAX), @with_json BIT, @prepared NVARCHAR(MAX) OUTPUT',
            @batch = @Atoms, @wanted = @Wanted, @model_format = @Format, @architecture = @Architecture,
            @config = @Config, @mean = @Mean, @axes = @Axes, @width = @Width, @centroids = @Centroids,
            @with_json = {{ 1 if mssql_version >= 2025 else 0 }}, @prepared = @Prepared OUTPUT
        WITH RESULT SETS NONE;
    END;
    -- (OPENJSON, not JSON_VALUE: JSON_VALUE gives NULL for a text over 4,000 characters)
    IF LEFT(@Prepared, 1) = N'{'  -- (the usual answer is an array: not parsed here)
        SET @Problem = (SELECT p.problem FROM OPENJSON(@Prepared) WITH (problem NVARCHAR(MAX) '$.problem') AS p);
    IF @Problem IS NOT NULL
    BEGIN
        SET @Message = CONCAT(N'sp_IngestAtoms: ', @Problem);
        THROW 50020, @Message, 1;
    END;
    UPDATE b
    SET ContentType = p.contentType, Modality = p.modality, Problem = p.problem, Embedding = p.embedding,
        EmbeddingJson = p.embeddingJson, X = p.x, Y = p.y, Z = p.z, BucketX = p.bucketX, BucketY = p.bucketY,
        BucketZ = p.bucketZ, VectorBucket = p.vectorBucket
    FROM #atoms AS b
    JOIN OPENJSON(@Prepared) WITH (ordinal INT '$.ordinal', contentType NVARCHAR(128) '$.contentType',
                                   modality NVARCHAR(16) '$.modality', problem NVARCHAR(2048) '$.problem',
                                   embedding VARBINARY(MAX) '$.embedding', embeddingJson NVARCHAR(MAX) '$.embeddingJson',
                                   x FLOAT '$.x', y FLOAT '$.y', z FLOAT '$.z', bucketX INT '$.bucketX',
                                   bucketY INT '$.bucketY', bucketZ INT '$.bucketZ', vectorBucket INT '$.vectorBucket') AS p
        ON p.ordinal = b.Ordinal;
    SET @Item = NULL;
    SELECT TOP (1) @Item = Ordinal, @Problem = Problem FROM #atoms WHERE Problem IS NOT NULL ORDER BY Ordinal;
    IF @Item IS NOT NULL
    BEGIN
        SET @Message = CONCAT(N'sp_IngestAtoms: item ', @Item, N': ', @Problem);
        THROW 50018, @Message, 1;
    END;
    SELECT @Unembedded = COUNT(*) FROM #atoms WHERE Wanted = 1 AND Modality <> N'text';
    IF @Unembedded > 0
        PRINT CONCAT(N'sp_IngestAtoms: ', @Unembedded, N' atoms are not text and get no embedding (the embedding models embed text); stored without one');

    -- the atoms: the k-th occurrence of each content goes in round k, so the batch counts and joins
    -- exactly as that many sp_IngestAtom calls. HOLDLOCK keeps the gaps of absent keys locked from the
    -- UPDATE to the INSERT; batches of one tenant take turns (an application lock for the
    -- transaction), since two of them would take those key-range locks in no common order.
    -- At most {{ policy.MAX_BATCH_ATOMS }} atoms a batch, each looked up by a seek of
    -- UQ_Atoms_Tenant_ContentHash on both its columns (INDEX + FORCESEEK: a seek on another index's
    -- TenantId alone, or a scan, under HOLDLOCK would lock the tenant's every key), keeps each
    -- statement under the 5,000 locks that escalate to a table lock.
    UPDATE b SET Occurrence = o.Occurrence
    FROM #atoms AS b
    JOIN (SELECT Ordinal, ROW_NUMBER() OVER (PARTITION BY ContentHash ORDER BY Ordinal) AS Occurrence FROM #atoms) AS o
        ON o.Ordinal = b.Ordinal;
    SELECT @Rounds = MAX(Occurrence) FROM #atoms;
    CREATE TABLE #new_atoms (AtomId BIGINT NOT NULL, ContentHash BINARY(32) NOT NULL);
    CREATE TABLE #found_atoms (AtomId BIGINT NOT NULL PRIMARY KEY, Metadata NVARCHAR(MAX) NULL);
    DECLARE @Lock INT, @Resource NVARCHAR(255) = CONCAT(N'hartonomous:sp_IngestAtoms:', @TenantId);
    BEGIN TRANSACTION;
    EXEC @Lock = sys.sp_getapplock @Resource = @Resource, @LockMode = N'Exclusive', @LockOwner = N'Transaction',
                                   @LockTimeout = 600000;
    IF @Lock < 0
    BEGIN  -- (THROW under XACT_ABORT rolls the transaction back)
        SET @Message = CONCAT(N'sp_IngestAtoms: ', CASE @Lock
                                  WHEN -1 THEN CONCAT(N'waited 10 minutes for another batch of tenant ', @TenantId)
                                  WHEN -3 THEN N'chosen as a deadlock victim while waiting for the ingest lock'
                                  ELSE CONCAT(N'could not take the ingest lock of tenant ', @TenantId) END,
                              N' (sp_getapplock returned ', @Lock, N')');
        THROW 50021, @Message, 1;
    END;
    WHILE @Round <= @Rounds
    BEGIN
        -- the round's keys, each by its own seek on (TenantId, ContentHash), locked to the end
        DELETE FROM #found_atoms;
        INSERT INTO #found_atoms (AtomId, Metadata)
        SELECT a.AtomId, b.Metadata
        FROM #atoms AS b
        JOIN dbo.Atoms AS a WITH (UPDLOCK, HOLDLOCK, INDEX (UQ_Atoms_Tenant_ContentHash), FORCESEEK)
            ON a.TenantId = @TenantId AND a.ContentHash = b.ContentHash
        WHERE b.Occurrence = @Round;
        UPDATE a
        SET ReferenceCount = a.ReferenceCount + 1,
            UpdatedAt = SYSUTCDATETIME(),
            Metadata = dbo.fn_JoinMetadata(a.Metadata, f.Metadata)
        FROM dbo.Atoms AS a
        JOIN #found_atoms AS f ON f.AtomId = a.AtomId;
        DELETE FROM #new_atoms;
        INSERT INTO dbo.Atoms (TenantId, ContentHash, ContentType, Modality, ContentSize, Metadata)
        OUTPUT inserted.AtomId, inserted.ContentHash INTO #new_atoms (AtomId, ContentHash)
        SELECT @TenantId, b.ContentHash, b.ContentType, b.Modality, DATALENGTH(b.Content), b.Metadata
        FROM (SELECT r.*, ROW_NUMBER() OVER (PARTITION BY r.ContentHash ORDER BY r.Ordinal) AS Copy
              FROM #atoms AS r WHERE r.Occurrence = @Round) AS b  -- (one per key by construction)
        WHERE b.Copy = 1
          AND NOT EXISTS (SELECT 1 FROM dbo.Atoms AS a
                                   WITH (UPDLOCK, HOLDLOCK, INDEX (UQ_Atoms_Tenant_ContentHash), FORCESEEK)
                          WHERE a.TenantId = @TenantId AND a.ContentHash = b.ContentHash)
        ORDER BY b.ContentHash;
        UPDATE b
        SET AtomId = a.AtomId,
            Inserted = CASE WHEN EXISTS (SELECT 1 FROM #new_atoms AS i WHERE i.AtomId = a.AtomId) THEN 1 ELSE 0 END
        FROM #atoms AS b
        JOIN dbo.Atoms AS a ON a.TenantId = @TenantId AND a.ContentHash = b.ContentHash
        WHERE b.Occurrence = @Round;
        SET @Round += 1;
    END;
    INSERT INTO dbo.AtomPayloadStore (AtomId, Payload)
    SELECT AtomId, Content FROM #atoms WHERE Inserted = 1;
{%- if mssql_version >= 2025 %}
    INSERT INTO dbo.AtomEmbeddings (AtomId, ModelId, EmbeddingType, Dimension, EmbeddingVector, EmbeddingNative,
                                    SpatialX, SpatialY, SpatialZ, SpatialBucketX, SpatialBucketY, SpatialBucketZ,
                                    SpatialGeometry, VectorBucket)
    SELECT f.AtomId, @ModelId, @EmbeddingType, DATALENGTH(f.Embedding) / 4, f.Embedding,
           CASE WHEN DATALENGTH(f.Embedding) = 1536 THEN CAST(f.EmbeddingJson AS VECTOR(384)) END,
{%- else %}
    INSERT INTO dbo.AtomEmbeddings (AtomId, ModelId, EmbeddingType, Dimension, EmbeddingVector,
                                    SpatialX, SpatialY, SpatialZ, SpatialBucketX, SpatialBucketY, SpatialBucketZ,
                                    SpatialGeometry, VectorBucket)
    SELECT f.AtomId, @ModelId, @EmbeddingType, DATALENGTH(f.Embedding) / 4, f.Embedding,
{%- endif %}
           f.X, f.Y, f.Z, f.BucketX, f.BucketY, f.BucketZ,
           CASE WHEN f.X IS NOT NULL THEN geometry::Point(f.X, f.Y, 0) END, f.VectorBucket
    FROM (SELECT b.*, ROW_NUMBER() OVER (PARTITION BY b.AtomId ORDER BY b.Ordinal) AS Copy
          FROM #atoms AS b WHERE b.Embedding IS NOT NULL) AS f
    WHERE f.Copy = 1
      AND NOT EXISTS (SELECT 1 FROM dbo.AtomEmbeddings AS e WHERE e.AtomId = f.AtomId AND e.EmbeddingType = @EmbeddingType)
    ORDER BY f.Ordinal;
    -- the provenance graph: the new atoms' and the embedded ones' nodes and SimilarTo edges
    DECLARE @GraphAtoms NVARCHAR(MAX) = (SELECT CONCAT(N'[', STRING_AGG(CONVERT(NVARCHAR(MAX), d.AtomId), N','), N']')
                                         FROM (SELECT DISTINCT b.AtomId FROM #atoms AS b
                                               WHERE b.Inserted = 1 OR b.Embedding IS NOT NULL) AS d);
    EXEC dbo.sp_GraphRecordAtoms @AtomIds = @GraphAtoms, @TenantId = @TenantId;
    SET @Units = (SELECT COALESCE(SUM(CONVERT(BIGINT, DATALENGTH(Content))), 0) FROM #atoms WHERE Inserted = 1);
    EXEC dbo.sp_ChargeUsage @TenantId = @TenantId, @Operation = 'ingested_byte', @Units = @Units,
        @Source = N'sp_IngestAtoms', @QuotaCheckOnly = 0;
    SET @Units = (SELECT COUNT_BIG(*) FROM #atoms WHERE Embedding IS NOT NULL);
    EXEC dbo.sp_ChargeUsage @TenantId = @TenantId, @Operation = 'embedding', @Units = @Units,
        @Source = N'sp_IngestAtoms', @QuotaCheckOnly = 0;
    COMMIT TRANSACTION;

    -- the atoms this call embedded join their tenant's live concepts of the type (the rule of
    -- dbo.fn_BindConcepts, no re-clustering), all in one external script call, after the commit as
    -- in sp_IngestAtom. Binding never fails the batch: XACT_ABORT OFF so a bind error leaves a
    -- caller's transaction committable. No savepoint: the charges above wrote the memory-optimized
    -- ledger, after which a transaction takes none (12326); sp_BindAtomConcepts writes nothing until
    -- every type is computed, so a bind that fails has written nothing to undo.
    IF EXISTS (SELECT 1 FROM #atoms WHERE Embedding IS NOT NULL)
       AND EXISTS (SELECT 1 FROM provenance.Concepts AS c
                   WHERE c.TenantId = @TenantId AND c.EmbeddingType = @EmbeddingType AND c.RetiredAt IS NULL)
    BEGIN
        SET XACT_ABORT OFF;
        DECLARE @Outer INT = @@TRANCOUNT, @Embedded INT, @AtomIds NVARCHAR(MAX);
        SELECT @Embedded = COUNT(*), @AtomIds = CONCAT(N'[', STRING_AGG(CONVERT(NVARCHAR(MAX), d.AtomId), N','), N']')
        FROM (SELECT DISTINCT AtomId FROM #atoms WHERE Embedding IS NOT NULL) AS d;
        BEGIN TRY
            EXEC dbo.sp_BindAtomConcepts @AtomIds = @AtomIds,
                @SimilarityThreshold = {{ policy.CONCEPT_MEMBERSHIP_SIMILARITY }},
                @MaxConceptsPerAtom = {{ policy.CONCEPT_MAX_PER_ATOM }}, @TenantId = @TenantId,
                @EmbeddingType = @EmbeddingType;
        END TRY
        BEGIN CATCH
            IF @Outer > 0 AND XACT_STATE() <> 1
            BEGIN
                -- doomed (-1: an error that always dooms) or gone (0: a deadlock victim's whole
                -- transaction was rolled back): the stored batch cannot be kept; tell the caller why
                SET @Message = CONCAT(N'sp_IngestAtoms: binding ', @Embedded, N' atoms to their concepts failed (error ',
                                      ERROR_NUMBER(), N': ', ERROR_MESSAGE(), N') and ',
                                      CASE WHEN XACT_STATE() = -1 THEN N'doomed the caller''s transaction, which can only be rolled back'
                                           ELSE N'the caller''s transaction was rolled back' END,
                                      N', the stored batch with it');
                THROW 50639, @Message, 1;
            END;
            IF @Outer = 0 AND XACT_STATE() <> 0
                ROLLBACK TRANSACTION;  -- the bind's own (it rolls it back itself; this is in case it could not)
            SET @Message = CONCAT(N'sp_IngestAtoms: ', @Embedded, N' atoms are stored but not bound to their concepts (error ',
                                  ERROR_NUMBER(), N': ', ERROR_MESSAGE(), N'); the next concept discovery run binds them');
            PRINT @Message;
        END CATCH;
    END;

    SELECT b.Ordinal, b.AtomId, b.Inserted,
           (SELECT MIN(e.AtomEmbeddingId) FROM dbo.AtomEmbeddings AS e
            WHERE e.AtomId = b.AtomId AND e.EmbeddingType = @EmbeddingType) AS AtomEmbeddingId
    FROM #atoms AS b
    ORDER BY b.Ordinal;
END;
