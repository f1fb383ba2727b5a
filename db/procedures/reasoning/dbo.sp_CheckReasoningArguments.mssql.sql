-- kind: procedure
-- requires: dbo.Models, dbo.sp_ChargeUsage
-- engine-specific: SQL Server's glue repeats hartonomous_ext.reasoning.check_arguments in T-SQL (before any external script runs); on PostgreSQL dbo.fn_Reasoning calls it
-- What the three reasoning procedures refuse before they generate anything, in the order and words
-- of hartonomous_ext.reasoning.check_arguments (PostgreSQL's dbo.fn_Reasoning): the prompt, the
-- counts (@CountName = @Count, and @DepthName = @Depth when given), the temperature, MaxTokens, the
-- seed; then @ModelIdsGiven ('1,2,3' or a JSON array, handed back as the JSON array @ModelIds), which must all be the
-- tenant's models; then the tenant's monthly quota for every token the run may generate
-- (@Generations * @MaxTokens, dbo.sp_ChargeUsage with QuotaCheckOnly). @TenantId is already resolved.
CREATE OR ALTER PROCEDURE dbo.sp_CheckReasoningArguments
    @Procedure NVARCHAR(128),
    @Prompt NVARCHAR(MAX),
    @CountName NVARCHAR(32),
    @Count INT,
    @DepthName NVARCHAR(32),
    @Depth INT,
    @Temperature FLOAT,
    @MaxTokens INT,
    @Seed BIGINT,
    @TenantId INT,
    @ModelIdsGiven NVARCHAR(4000),
    @ModelIds NVARCHAR(4000) OUTPUT
AS
BEGIN
    SET NOCOUNT ON;
    SET @ModelIds = NULL;
    DECLARE @Message NVARCHAR(2048), @Missing INT, @Limit INT;
    -- blank = spaces, tabs, line breaks, no-break spaces (LTRIM/RTRIM alone strip only spaces)
    DECLARE @Blank NVARCHAR(10) = CONCAT(N' ', NCHAR(9), NCHAR(10), NCHAR(11), NCHAR(12), NCHAR(13), NCHAR(160));
    IF @Prompt IS NULL OR LEN(TRIM(@Blank FROM @Prompt)) = 0
    BEGIN
        SET @Message = CONCAT(@Procedure, N': the prompt is empty');
        THROW 51500, @Message, 1;
    END;
    -- NumSamples and NumPaths up to REASONING_MAX_SAMPLES, MaxSteps and MaxDepth up to REASONING_MAX_STEPS
    SET @Limit = CASE WHEN @CountName IN (N'NumSamples', N'NumPaths') THEN {{ policy.REASONING_MAX_SAMPLES }}
                      ELSE {{ policy.REASONING_MAX_STEPS }} END;
    IF @Count IS NULL OR @Count < 1 OR @Count > @Limit
    BEGIN
        SET @Message = CONCAT(@Procedure, N': ', @CountName, N' must be between 1 and ', @Limit);
        THROW 51501, @Message, 1;
    END;
    IF @DepthName IS NOT NULL AND (@Depth IS NULL OR @Depth < 1 OR @Depth > {{ policy.REASONING_MAX_STEPS }})
    BEGIN
        SET @Message = CONCAT(@Procedure, N': ', @DepthName, N' must be between 1 and {{ policy.REASONING_MAX_STEPS }}');
        THROW 51501, @Message, 1;
    END;
    -- a T-SQL FLOAT holds no NaN or infinity
    IF @Temperature IS NULL OR @Temperature < 0
    BEGIN
        SET @Message = CONCAT(@Procedure, N': Temperature must be finite and must not be negative');
        THROW 51502, @Message, 1;
    END;
    IF @MaxTokens IS NULL OR @MaxTokens < 1 OR @MaxTokens > 4096
    BEGIN
        SET @Message = CONCAT(@Procedure, N': MaxTokens must be between 1 and 4096');
        THROW 51503, @Message, 1;
    END;
    -- seed + each sample's index stays a BIGINT (hartonomous_ext.reasoning.MAX_SEED)
    IF @Seed < 0 OR @Seed > 9223372036854775807 - {{ policy.REASONING_MAX_SAMPLES * policy.REASONING_MAX_STEPS }}
    BEGIN
        SET @Message = CONCAT(@Procedure, N': Seed must be between 0 and ',
                              9223372036854775807 - {{ policy.REASONING_MAX_SAMPLES * policy.REASONING_MAX_STEPS }});
        THROW 51504, @Message, 1;
    END;
    IF @ModelIdsGiven IS NULL OR LEN(TRIM(@Blank FROM @ModelIdsGiven)) = 0
    BEGIN
        SET @Message = CONCAT(@Procedure, N': give ModelIds, the stored GGUF model(s) to generate with, e.g. ''1,2,3''');
        THROW 51505, @Message, 1;
    END;
    -- the seeds' '1,2,3', or a JSON array '[1,2,3]' (hartonomous_ext.generation.parse_model_ids)
    SET @ModelIds = TRIM(@Blank FROM @ModelIdsGiven);
    IF LEFT(@ModelIds, 1) <> N'['
        SET @ModelIds = CONCAT(N'[', @ModelIds, N']');
    -- ISJSON first, in an IF of its own: OPENJSON over text that is not JSON raises its own error
    IF LEN(@ModelIds) > 400 OR ISJSON(@ModelIds) = 0
        SET @ModelIds = NULL;
    ELSE IF NOT EXISTS (SELECT 1 FROM OPENJSON(@ModelIds))
            OR EXISTS (SELECT 1 FROM OPENJSON(@ModelIds) AS j
                       WHERE j.[type] <> 2 OR TRY_CAST(j.value AS INT) IS NULL OR TRY_CAST(j.value AS INT) < 1)
        SET @ModelIds = NULL;
    IF @ModelIds IS NULL
    BEGIN
        SET @Message = CONCAT(@Procedure, N': ModelIds ''', LEFT(TRIM(@Blank FROM @ModelIdsGiven), 100),
                              N''' is not a list of model ids such as ''1,2,3''');
        THROW 51506, @Message, 1;
    END;
    SELECT @Missing = COUNT(*)
    FROM (SELECT DISTINCT TRY_CAST(j.value AS INT) AS ModelId FROM OPENJSON(@ModelIds) AS j) AS r
    WHERE NOT EXISTS (SELECT 1 FROM dbo.Models AS m WHERE m.ModelId = r.ModelId AND m.TenantId = @TenantId);
    IF @Missing > 0
    BEGIN
        SET @Message = CONCAT(@Procedure, N': ', @Missing, N' of the ModelIds do not exist for tenant ', @TenantId);
        THROW 51507, @Message, 1;
    END;
    -- every token the run may generate must fit in what is left of the month's quota, before the first
    DECLARE @Units BIGINT = CAST(@Count AS BIGINT) * COALESCE(@Depth, 1) * @MaxTokens;
    EXEC dbo.sp_ChargeUsage @TenantId = @TenantId, @Operation = 'generated_token', @Units = @Units,
        @Source = @Procedure, @QuotaCheckOnly = 1;
END;
