-- kind: procedure
-- requires: dbo.Models, dbo.ModelTensors, dbo.fn_StoredModel, dbo.fn_StoredModelChunks, dbo.InferenceRequests, dbo.GenerationStreams, dbo.sp_StoreAtom, hartonomous_ext, dbo.fn_ResolveTenant, dbo.TenantSecurityPolicy, dbo.sp_ChargeUsage, dbo.fn_CheckModelAccess, dbo.sp_GraphRecordGeneration, Attention.AttentionGenerationLog
-- Generate text after a prompt with the stored Llama-architecture GGUF model(s) @ModelIds of the
-- tenant (a comma-separated list '1,2,3' as the seeds write it, or a JSON array), in Machine Learning Services (hartonomous_ext.generation: numpy
-- over the stored weights, handed to the script as its input data set). Greedy at temperature 0
-- (deterministic); otherwise sampled from the @top_k most likely tokens (0: all), reproducibly with
-- @seed. Several models generate as an ensemble: the average of their log-probabilities picks each
-- token (one vocabulary needed). Records the request in dbo.InferenceRequests, the tokens and
-- lineage in dbo.GenerationStreams, what attention did in Attention.AttentionGenerationLog
-- (hartonomous_ext.generation.attention_record), stores the text as an atom; returns StreamId, GeneratedText,
-- TokenCount, RequestId.
-- Metered: the tokens generated ('generated_token', dbo.sp_ChargeUsage); a call whose @max_tokens would
-- not fit in what is left of the tenant's monthly quota is refused before it generates.
CREATE OR ALTER PROCEDURE dbo.sp_GenerateText
    @prompt NVARCHAR(MAX),
    @max_tokens INT = 64,
    @temperature FLOAT = 0,
    @top_k INT = 0,
    @ModelIds NVARCHAR(4000) = NULL,
    @TenantId INT = NULL,
    @seed BIGINT = NULL
AS
BEGIN
    SET NOCOUNT ON;
    SET TRANSACTION ISOLATION LEVEL READ COMMITTED;  -- its charge reaches the memory-optimized ledger (dbo.sp_ChargeUsage)
    DECLARE @TenantRefusal NVARCHAR(400);  -- the session's tenant, or an administrator's choice (dbo.fn_ResolveTenant)
    SELECT @TenantId = r.TenantId, @TenantRefusal = r.Refusal FROM dbo.fn_ResolveTenant(@TenantId, N'sp_GenerateText') AS r;
    IF @TenantRefusal IS NOT NULL
        THROW 50030, @TenantRefusal, 1;
    DECLARE @Started DATETIME2(7) = SYSUTCDATETIME(), @Message NVARCHAR(2048), @Missing INT;
    DECLARE @Text NVARCHAR(MAX), @PromptTokens NVARCHAR(MAX), @TokenIds NVARCHAR(MAX), @TokenCount INT;
    DECLARE @FirstTokenMs FLOAT, @TokensPerSecond FLOAT, @RequestId BIGINT, @StreamId BIGINT, @AtomId BIGINT;
    DECLARE @Models NVARCHAR(MAX), @FirstModel INT, @Payload VARBINARY(MAX), @Lineage NVARCHAR(MAX);
    DECLARE @Attention NVARCHAR(MAX);  -- what attention did (hartonomous_ext.generation.attention_record)
    -- blank = spaces, tabs, line breaks, no-break spaces (LTRIM/RTRIM alone strip only spaces)
    DECLARE @Blank NVARCHAR(10) = CONCAT(N' ', NCHAR(9), NCHAR(10), NCHAR(11), NCHAR(12), NCHAR(13), NCHAR(160));
    IF @prompt IS NULL OR LEN(TRIM(@Blank FROM @prompt)) = 0
        THROW 50601, N'sp_GenerateText: the prompt is empty', 1;
    -- hartonomous_ext.generation.check_settings, before any weight is read (a T-SQL FLOAT holds no
    -- NaN); NULL means the default, as on PostgreSQL
    SET @max_tokens = COALESCE(@max_tokens, 64);
    SET @temperature = COALESCE(@temperature, 0);
    SET @top_k = COALESCE(@top_k, 0);
    IF @max_tokens < 1 OR @max_tokens > 4096
        THROW 50604, N'sp_GenerateText: max_tokens must be between 1 and 4096', 1;
    IF @temperature < 0
        THROW 50605, N'sp_GenerateText: temperature must be finite and must not be negative', 1;
    IF @top_k < 0
        THROW 50606, N'sp_GenerateText: top_k must be 0 (all tokens) or more', 1;
    -- the tenant's own limits (dbo.TenantSecurityPolicy; no row: the package's)
    DECLARE @AllowGeneration BIT, @TenantMaxTokens INT, @TenantMaxBytes BIGINT, @Refused NVARCHAR(2048);
    SELECT @AllowGeneration = p.AllowGeneration, @TenantMaxTokens = p.MaxTokensPerCall, @TenantMaxBytes = p.MaxIngestBytes
    FROM dbo.TenantSecurityPolicy AS p WHERE p.TenantId = @TenantId;
    IF @AllowGeneration = 0
    BEGIN
        SET @Refused = CONCAT(N'sp_GenerateText: tenant ', @TenantId, N' may not generate text (dbo.TenantSecurityPolicy)');
        THROW 50035, @Refused, 1;
    END;
    IF @max_tokens > @TenantMaxTokens
    BEGIN
        SET @Refused = CONCAT(N'sp_GenerateText: max_tokens ', @max_tokens, N' is more than tenant ', @TenantId, N'''s ',
                              @TenantMaxTokens, N' (dbo.TenantSecurityPolicy)');
        THROW 50036, @Refused, 1;
    END;
    -- the prompt is stored as an atom of the tenant (dbo.sp_GraphRecordGeneration, the provenance
    -- graph), as UTF-8, within the limits dbo.sp_StoreAtom holds it to: refused here, before the model
    -- runs, not by sp_StoreAtom after the generation (which would roll the whole call back)
    DECLARE @PromptBytes BIGINT = DATALENGTH(CAST(@prompt COLLATE Latin1_General_100_CI_AS_SC_UTF8 AS VARCHAR(MAX)));
    IF @PromptBytes > {{ policy.MAX_CONTENT_BYTES }} OR @PromptBytes > @TenantMaxBytes
    BEGIN
        SET @Refused = CONCAT(N'sp_GenerateText: the prompt has ', @PromptBytes, N' bytes (UTF-8), more than ',
                              CASE WHEN @PromptBytes > {{ policy.MAX_CONTENT_BYTES }}
                                   THEN N'the {{ policy.MAX_CONTENT_BYTES }} allowed'
                                   ELSE CONCAT(N'tenant ', @TenantId, N'''s ', @TenantMaxBytes, N' (dbo.TenantSecurityPolicy)') END,
                              N': it is stored as an atom');
        THROW 50610, @Refused, 1;
    END;
    EXEC dbo.sp_ChargeUsage @TenantId = @TenantId, @Operation = 'generated_token', @Units = @max_tokens,
        @Source = N'sp_GenerateText', @QuotaCheckOnly = 1;
    IF @ModelIds IS NULL OR LEN(TRIM(@Blank FROM @ModelIds)) = 0
        THROW 50602, N'sp_GenerateText: give ModelIds, the stored GGUF model(s) to generate with, e.g. ''1,2,3''', 1;
    -- the seeds' '1,2,3', or a JSON array '[1,2,3]' (hartonomous_ext.generation.parse_model_ids on PostgreSQL)
    SET @ModelIds = TRIM(@Blank FROM @ModelIds);
    DECLARE @ModelIdsGiven NVARCHAR(4000) = @ModelIds;
    IF LEFT(@ModelIds, 1) <> N'['
        SET @ModelIds = CONCAT(N'[', @ModelIds, N']');
    -- ISJSON first, in an IF of its own: T-SQL does not promise to stop an OR at its first true term,
    -- and OPENJSON over text that is not JSON raises its own error; GenerationStreams keeps 400 characters
    IF LEN(@ModelIds) > 400 OR ISJSON(@ModelIds) = 0
        SET @ModelIds = NULL;
    ELSE IF NOT EXISTS (SELECT 1 FROM OPENJSON(@ModelIds))
            OR EXISTS (SELECT 1 FROM OPENJSON(@ModelIds) AS j
                       WHERE j.[type] <> 2 OR TRY_CAST(j.value AS INT) IS NULL OR TRY_CAST(j.value AS INT) < 1)
        SET @ModelIds = NULL;
    IF @ModelIds IS NULL
    BEGIN
        SET @Message = CONCAT(N'sp_GenerateText: ModelIds ''', LEFT(@ModelIdsGiven, 100),
                              N''' is not a list of model ids such as ''1,2,3''');
        THROW 50607, @Message, 1;
    END;
    DECLARE @ModelRefusal NVARCHAR(400);  -- dbo.TenantSecurityPolicy.AllowedModelIds
    SELECT @ModelRefusal = r.Refusal FROM dbo.fn_CheckModelAccess(@TenantId, @ModelIds, N'sp_GenerateText') AS r;
    IF @ModelRefusal IS NOT NULL
        THROW 50043, @ModelRefusal, 1;
    CREATE TABLE #models (Position INT NOT NULL, ModelId INT NULL);
    INSERT INTO #models (Position, ModelId)
    SELECT CAST(j.[key] AS INT), TRY_CAST(j.value AS INT) FROM OPENJSON(@ModelIds) AS j;
    SELECT @Missing = COUNT(*)
    FROM #models AS r
    WHERE NOT EXISTS (SELECT 1 FROM dbo.Models AS m WHERE m.ModelId = r.ModelId AND m.TenantId = @TenantId);
    IF @Missing > 0
    BEGIN
        SET @Message = CONCAT(N'sp_GenerateText: ', @Missing, N' of the ModelIds do not exist for tenant ', @TenantId);
        THROW 50603, @Message, 1;
    END;
    -- before any weight is read: what hartonomous_ext.generation.load would refuse after reading them
    SET @Message = NULL;
    SELECT TOP (1) @Message = CASE
               WHEN m.ModelFormat <> N'gguf'
                   THEN CONCAT(N'sp_GenerateText: text generation needs a GGUF model; model ', m.ModelId, N' is ', m.ModelFormat)
               ELSE CONCAT(N'sp_GenerateText: model ', m.ModelId, N' has no tensors') END
    FROM #models AS r
    INNER JOIN dbo.Models AS m ON m.ModelId = r.ModelId
    WHERE m.ModelFormat <> N'gguf' OR NOT EXISTS (SELECT 1 FROM dbo.ModelTensors AS t WHERE t.ModelId = m.ModelId)
    ORDER BY r.Position;
    IF @Message IS NOT NULL
        THROW 50608, @Message, 1;
    SET @FirstModel = (SELECT TOP (1) r.ModelId FROM #models AS r ORDER BY r.Position);
    -- the models' rows (format, config) as JSON, their tensors as the script's input data set
    SET @Models = (SELECT r.ModelId AS model_id, m.ModelFormat AS format, m.Architecture AS architecture,
                          m.Config AS config
                   FROM (SELECT DISTINCT ModelId FROM #models) AS r
                   CROSS APPLY dbo.fn_StoredModel(r.ModelId, @TenantId) AS m FOR JSON PATH);
    CREATE TABLE #generation_weights (ModelId INT, TensorIndex INT, TensorName NVARCHAR(512), DType NVARCHAR(16),
                           Shape NVARCHAR(400), ByteSize BIGINT, ChunkIndex INT, ChunkHash BINARY(32), Data VARBINARY(MAX));
    -- the store's one reader (dbo.fn_StoredModelChunks): a model given twice is read once
    INSERT INTO #generation_weights (ModelId, TensorIndex, TensorName, DType, Shape, ByteSize, ChunkIndex, ChunkHash, Data)
    SELECT r.ModelId, w.TensorIndex, w.TensorName, w.DType, w.Shape, w.ByteSize, w.ChunkIndex, w.ChunkHash, w.Data
    FROM (SELECT DISTINCT ModelId FROM #models) AS r
    CROSS APPLY dbo.fn_StoredModelChunks(r.ModelId) AS w;
    -- a chunk the model maps to but dbo.TensorChunks lacks: named here, not as a script error
    SET @Message = (SELECT TOP (1) CONCAT(N'sp_GenerateText: tensor ', w.TensorName, N' of model ', w.ModelId,
                                          N' maps to chunk ', CONVERT(NVARCHAR(64), w.ChunkHash, 2), N', which is not stored')
                    FROM #generation_weights AS w WHERE w.ChunkHash IS NOT NULL AND w.Data IS NULL);
    IF @Message IS NOT NULL
        THROW 50609, @Message, 1;
    -- only now, after the refusals (50030, 50035-50043, 50601-50610): a refused call leaves a caller's
    -- transaction committable (XACT_ABORT ON makes every THROW doom it); from here a script error or an
    -- error in the writes at the end rolls all of them back
    SET XACT_ABORT ON;
    -- a BIGINT parameter reaches Python as a float (exact only to 2^53): the seed goes as its digits
    DECLARE @SeedDigits NVARCHAR(20) = CONVERT(NVARCHAR(20), @seed);
    EXEC sys.sp_execute_external_script
        @language = N'Python',
        @script = N'
import json
from hartonomous_ext import generation, model_store
rows = json.loads(models)
frames = {m: group for m, group in InputDataSet.groupby("ModelId")}
loaded = {}
for row in rows:
    chunk_rows = frames[row["model_id"]].drop(columns=["ModelId"]).itertuples(index=False, name=None)
    loaded[row["model_id"]] = generation.load(model_store.from_chunk_rows(row, chunk_rows))
order = [int(m) for m in json.loads(model_ids)]
result = generation.generate([loaded[m] for m in order], prompt, max_tokens, temperature, top_k,
                             None if seed is None else int(seed))
text = result["text"]
prompt_tokens = json.dumps(result["prompt_ids"])
token_ids = json.dumps(result["token_ids"])
first_token_ms = result["first_token_ms"]
# every OUTPUT parameter gets a value: None (a generation of one token or none, the reasoning
# procedures'' end of a chain) stops BxlServer; -1 reads back as NULL
tokens_per_second = -1.0 if result["tokens_per_second"] is None else result["tokens_per_second"]
attention = json.dumps(generation.attention_record(result))
',
        @input_data_1 = N'SELECT ModelId, TensorIndex, TensorName, DType, Shape, ByteSize, ChunkIndex, ChunkHash, Data
                          FROM #generation_weights ORDER BY ModelId, TensorIndex, ChunkIndex',
        @params = N'@prompt NVARCHAR(MAX), @max_tokens INT, @temperature FLOAT, @top_k INT, @seed NVARCHAR(20),
                    @models NVARCHAR(MAX), @model_ids NVARCHAR(400), @text NVARCHAR(MAX) OUTPUT,
                    @prompt_tokens NVARCHAR(MAX) OUTPUT, @token_ids NVARCHAR(MAX) OUTPUT,
                    @first_token_ms FLOAT OUTPUT, @tokens_per_second FLOAT OUTPUT, @attention NVARCHAR(MAX) OUTPUT',
        @prompt = @prompt, @max_tokens = @max_tokens, @temperature = @temperature, @top_k = @top_k, @seed = @SeedDigits,
        @models = @Models, @model_ids = @ModelIds, @text = @Text OUTPUT, @prompt_tokens = @PromptTokens OUTPUT,
        @token_ids = @TokenIds OUTPUT, @first_token_ms = @FirstTokenMs OUTPUT,
        @tokens_per_second = @TokensPerSecond OUTPUT, @attention = @Attention OUTPUT
    WITH RESULT SETS NONE;  -- no rows: the reasoning procedures read this procedure's one result with INSERT ... EXEC
    SET @TokensPerSecond = NULLIF(@TokensPerSecond, -1e0);  -- fewer than two tokens: no rate
    SET @TokenCount = (SELECT COUNT(*) FROM OPENJSON(@TokenIds));
    -- the request, the stored text (an atom, within the tenant's MaxIngestBytes) and the stream go in
    -- together or not at all
    BEGIN TRANSACTION;
    INSERT INTO dbo.InferenceRequests (TenantId, TaskType, StartTime, ModelId, Parameters, DurationMs, ResultCount)
    VALUES (@TenantId, N'text-generation', @Started, @FirstModel,
            (SELECT JSON_QUERY(@ModelIds) AS model_ids, @max_tokens AS max_tokens, @temperature AS temperature,
                    @top_k AS top_k, @seed AS seed, LEFT(@prompt, 200) AS prompt FOR JSON PATH, WITHOUT_ARRAY_WRAPPER),
            DATEDIFF_BIG(MICROSECOND, @Started, SYSUTCDATETIME()) / 1000.0, @TokenCount);
    SET @RequestId = SCOPE_IDENTITY();
    IF LEN(@Text) > 0
    BEGIN
        SET @Payload = CAST(CAST(@Text COLLATE Latin1_General_100_CI_AS_SC_UTF8 AS VARCHAR(MAX)) AS VARBINARY(MAX));
        SET @Lineage = (SELECT JSON_QUERY(@ModelIds) AS generated_by, @RequestId AS request FOR JSON PATH,
                               WITHOUT_ARRAY_WRAPPER);
        -- stored unmetered: the call charges the tokens it generated, not their bytes
        EXEC dbo.sp_StoreAtom @Content = @Payload, @ContentType = N'text/plain', @Metadata = @Lineage,
            @TenantId = @TenantId, @Metered = 0, @AtomId = @AtomId OUTPUT;
    END;
    INSERT INTO dbo.GenerationStreams (RequestId, TenantId, ModelIds, Prompt, PromptTokens, GeneratedTokens,
                                       GeneratedText, Temperature, TopK, Seed, OutputAtomId, FirstTokenMs,
                                       TokensPerSecond)
    VALUES (@RequestId, @TenantId, @ModelIds, @prompt, @PromptTokens, @TokenIds, @Text, @temperature, @top_k, @seed,
            @AtomId, @FirstTokenMs, @TokensPerSecond);
    SET @StreamId = SCOPE_IDENTITY();
    -- the provenance graph: the text DerivedFrom its prompt and its models (dbo.sp_GraphRecordGeneration)
    EXEC dbo.sp_GraphRecordGeneration @AtomId = @AtomId, @Prompt = @prompt, @ModelIds = @ModelIds, @TenantId = @TenantId;
    INSERT INTO Attention.AttentionGenerationLog (StreamId, RequestId, TenantId, ModelId, LayerCount, PromptTokens,
                                                  GeneratedTokens, Steps, LayerEntropy, MeanEntropy, TopPromptTokens,
                                                  MeanTokenLogProb, Temperature, TopK, DurationMs)
    SELECT @StreamId, @RequestId, @TenantId, @FirstModel, a.layer_count, a.prompt_tokens, a.generated_tokens, a.steps,
           a.layer_entropy, a.mean_entropy, a.top_prompt_tokens, a.mean_token_logprob, @temperature, @top_k,
           DATEDIFF_BIG(MICROSECOND, @Started, SYSUTCDATETIME()) / 1000.0
    FROM OPENJSON(@Attention) WITH (layer_count INT, prompt_tokens INT, generated_tokens INT, steps INT,
                                    layer_entropy NVARCHAR(MAX) AS JSON, mean_entropy FLOAT,
                                    top_prompt_tokens NVARCHAR(MAX) AS JSON, mean_token_logprob FLOAT) AS a;
    EXEC dbo.sp_ChargeUsage @TenantId = @TenantId, @Operation = 'generated_token', @Units = @TokenCount,
        @Source = N'sp_GenerateText', @QuotaCheckOnly = 0;
    COMMIT TRANSACTION;
    SELECT @StreamId AS StreamId, @Text AS GeneratedText, @TokenCount AS TokenCount, @RequestId AS RequestId;
END;
