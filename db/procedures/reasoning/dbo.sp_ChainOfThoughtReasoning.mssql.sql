-- kind: procedure
-- requires: dbo.sp_GenerateText, dbo.sp_CheckReasoningArguments, dbo.fn_ResolveTenant, hartonomous_ext, Reasoning.ReasoningChains
-- Chain of thought (seed 003's sp_ChainOfThoughtReasoning): up to @MaxSteps steps, each generated
-- through dbo.sp_GenerateText with @ModelIds (metered there) after @InitialPrompt and the steps so far
-- (the prompt policy.REASONING_STEP_PROMPT, as hartonomous_ext.reasoning.step_prompt writes it; step i
-- seeded @Seed + i); a step the model leaves empty ends the chain. Its CoherenceScore is the mean cosine
-- similarity of consecutive steps' all-MiniLM-L6-v2 embeddings, clipped at 0, in [0, 1]
-- (hartonomous_ext.reasoning, in Machine Learning Services; NULL for fewer than two steps). Recorded
-- in Reasoning.ReasoningChains (dbo.ReasoningChains) with every step and its dbo.GenerationStreams
-- row; the steps and the chain commit together or not at all. Returns ChainId, ProblemKey,
-- TotalSteps, FinalStep, CoherenceScore.
CREATE OR ALTER PROCEDURE dbo.sp_ChainOfThoughtReasoning
    @ProblemId UNIQUEIDENTIFIER = NULL,
    @InitialPrompt NVARCHAR(MAX) = NULL,
    @MaxSteps INT = 5,
    @Temperature FLOAT = {{ policy.REASONING_STEP_TEMPERATURE }},
    @MaxTokens INT = {{ policy.REASONING_MAX_TOKENS }},
    @ModelIds NVARCHAR(4000) = NULL,
    @TenantId INT = NULL,
    @Seed BIGINT = NULL
AS
BEGIN
    SET NOCOUNT ON;
    SET TRANSACTION ISOLATION LEVEL READ COMMITTED;  -- sp_GenerateText's charge reaches the memory-optimized ledger
    DECLARE @TenantRefusal NVARCHAR(400);  -- the session's tenant, or an administrator's choice (dbo.fn_ResolveTenant)
    SELECT @TenantId = r.TenantId, @TenantRefusal = r.Refusal
    FROM dbo.fn_ResolveTenant(@TenantId, N'sp_ChainOfThoughtReasoning') AS r;
    IF @TenantRefusal IS NOT NULL
        THROW 50030, @TenantRefusal, 1;
    EXEC dbo.sp_CheckReasoningArguments @Procedure = N'sp_ChainOfThoughtReasoning', @Prompt = @InitialPrompt,
        @CountName = N'MaxSteps', @Count = @MaxSteps, @DepthName = NULL, @Depth = NULL,
        @Temperature = @Temperature, @MaxTokens = @MaxTokens, @Seed = @Seed, @TenantId = @TenantId,
        @ModelIdsGiven = @ModelIds, @ModelIds = @ModelIds OUTPUT;
    -- only now, after the refusals (50030, 51500-51507): a refused argument leaves a caller's transaction
    -- committable (XACT_ABORT ON makes every THROW doom it); from here a failed step rolls back every
    -- step before it, and their charges
    SET XACT_ABORT ON;
    SET @ProblemId = COALESCE(@ProblemId, NEWID());
    DECLARE @Started DATETIME2(7) = SYSUTCDATETIME(), @Step INT = 0, @StepSeed BIGINT, @Done NVARCHAR(MAX);
    DECLARE @StepPrompt NVARCHAR(MAX), @Text NVARCHAR(MAX), @StepsJson NVARCHAR(MAX), @Record NVARCHAR(MAX), @ChainId BIGINT;
    DECLARE @Template NVARCHAR(MAX) = {{ policy.REASONING_STEP_PROMPT | tsql_string }};
    DECLARE @Blank NVARCHAR(10) = CONCAT(N' ', NCHAR(9), NCHAR(10), NCHAR(11), NCHAR(12), NCHAR(13), NCHAR(160));
    CREATE TABLE #generated (StreamId BIGINT NOT NULL, GeneratedText NVARCHAR(MAX) NULL, TokenCount INT NOT NULL,
                             RequestId BIGINT NOT NULL);
    CREATE TABLE #steps (Step INT NOT NULL PRIMARY KEY, Seed BIGINT NULL, StreamId BIGINT NOT NULL,
                         GeneratedText NVARCHAR(MAX) NOT NULL);
    BEGIN TRANSACTION;
    WHILE @Step < @MaxSteps
    BEGIN
        -- hartonomous_ext.reasoning.step_prompt: the steps so far, "1. text" a line each, or "(none)"
        SET @Done = COALESCE((SELECT STRING_AGG(CONCAT(CAST(s.Step + 1 AS NVARCHAR(MAX)), N'. ', s.GeneratedText), NCHAR(10))
                                     WITHIN GROUP (ORDER BY s.Step)
                              FROM #steps AS s), N'(none)');
        SET @StepPrompt = REPLACE(REPLACE(REPLACE(@Template, N'{problem}', @InitialPrompt), N'{steps}', @Done),
                                  N'{number}', CAST(@Step + 1 AS NVARCHAR(10)));
        SET @StepSeed = @Seed + @Step;  -- hartonomous_ext.reasoning.sample_seed (NULL stays NULL)
        DELETE FROM #generated;
        INSERT INTO #generated (StreamId, GeneratedText, TokenCount, RequestId)
        EXEC dbo.sp_GenerateText @prompt = @StepPrompt, @max_tokens = @MaxTokens, @temperature = @Temperature,
            @top_k = 0, @ModelIds = @ModelIds, @TenantId = @TenantId, @seed = @StepSeed;
        SET @Text = (SELECT TOP (1) COALESCE(g.GeneratedText, N'') FROM #generated AS g);
        IF LEN(TRIM(@Blank FROM @Text)) = 0
            BREAK;  -- the model ended the chain
        INSERT INTO #steps (Step, Seed, StreamId, GeneratedText)
        SELECT @Step, @StepSeed, g.StreamId, g.GeneratedText FROM #generated AS g;
        SET @Step += 1;
    END;
    SET @StepsJson = COALESCE((SELECT s.Seed AS seed, s.StreamId AS stream_id, s.GeneratedText AS text
                               FROM #steps AS s ORDER BY s.Step FOR JSON PATH, INCLUDE_NULL_VALUES), N'[]');
    EXEC sys.sp_execute_external_script
        @language = N'Python',
        @script = N'
import json
from hartonomous_ext import reasoning
record = json.dumps(reasoning.chain_record(json.loads(steps)))
',
        @params = N'@steps NVARCHAR(MAX), @record NVARCHAR(MAX) OUTPUT',
        @steps = @StepsJson, @record = @Record OUTPUT
    WITH RESULT SETS NONE;
    INSERT INTO Reasoning.ReasoningChains (TenantId, ProblemId, InitialPrompt, ModelIds, MaxSteps, Temperature, MaxTokens,
                                           Seed, TotalSteps, FinalStep, CoherenceScore, StepCoherence, ChainData, DurationMs)
    SELECT @TenantId, @ProblemId, @InitialPrompt, @ModelIds, @MaxSteps, @Temperature, @MaxTokens, @Seed, r.total_steps,
           r.final_step, r.coherence, r.step_coherence, r.steps, DATEDIFF_BIG(MICROSECOND, @Started, SYSUTCDATETIME()) / 1000.0
    FROM OPENJSON(@Record) WITH (total_steps INT, final_step NVARCHAR(MAX), coherence FLOAT,
                                 step_coherence NVARCHAR(MAX) AS JSON, steps NVARCHAR(MAX) AS JSON) AS r;
    SET @ChainId = SCOPE_IDENTITY();
    COMMIT TRANSACTION;
    SELECT c.ChainId, c.ProblemId AS ProblemKey, c.TotalSteps, c.FinalStep, c.CoherenceScore
    FROM Reasoning.ReasoningChains AS c WHERE c.ChainId = @ChainId;
END;
