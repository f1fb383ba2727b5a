-- kind: procedure
-- requires: dbo.sp_GenerateText, dbo.sp_CheckReasoningArguments, dbo.fn_ResolveTenant, hartonomous_ext, Reasoning.MultiPathReasoning, Attention.AttentionGenerationLog
-- Multi-path reasoning (seed 003's sp_MultiPathReasoning): @NumPaths independent paths of up to
-- @MaxDepth steps, each step generated through dbo.sp_GenerateText with @ModelIds (metered there) after
-- @BasePrompt and the path's steps so far (policy.REASONING_STEP_PROMPT; path p, step d seeded
-- @Seed + p * @MaxDepth + d; an empty step ends its path). Each path is scored by the mean
-- log-probability of the tokens it generated (each step's row in Attention.AttentionGenerationLog);
-- the best path, its score and answer, and the share of paths that reach the same answer
-- (hartonomous_ext.reasoning, in Machine Learning Services) are recorded in
-- Reasoning.MultiPathReasoning (dbo.MultiPathReasoning) with the whole tree; the steps and the run
-- commit together or not at all. Returns ReasoningId, ProblemKey, BestPathIndex, BestAnswer,
-- BestScore, PathAgreement.
CREATE OR ALTER PROCEDURE dbo.sp_MultiPathReasoning
    @ProblemId UNIQUEIDENTIFIER = NULL,
    @BasePrompt NVARCHAR(MAX) = NULL,
    @NumPaths INT = 3,
    @MaxDepth INT = 3,
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
    FROM dbo.fn_ResolveTenant(@TenantId, N'sp_MultiPathReasoning') AS r;
    IF @TenantRefusal IS NOT NULL
        THROW 50030, @TenantRefusal, 1;
    EXEC dbo.sp_CheckReasoningArguments @Procedure = N'sp_MultiPathReasoning', @Prompt = @BasePrompt,
        @CountName = N'NumPaths', @Count = @NumPaths, @DepthName = N'MaxDepth', @Depth = @MaxDepth,
        @Temperature = @Temperature, @MaxTokens = @MaxTokens, @Seed = @Seed, @TenantId = @TenantId,
        @ModelIdsGiven = @ModelIds, @ModelIds = @ModelIds OUTPUT;
    -- only now, after the refusals (50030, 51500-51507): a refused argument leaves a caller's transaction
    -- committable (XACT_ABORT ON makes every THROW doom it); from here a failed step rolls back every
    -- step before it, and their charges
    SET XACT_ABORT ON;
    SET @ProblemId = COALESCE(@ProblemId, NEWID());
    DECLARE @Started DATETIME2(7) = SYSUTCDATETIME(), @Path INT = 0, @Step INT, @StepSeed BIGINT, @Done NVARCHAR(MAX);
    DECLARE @StepPrompt NVARCHAR(MAX), @Text NVARCHAR(MAX), @PathsJson NVARCHAR(MAX), @Record NVARCHAR(MAX);
    DECLARE @ReasoningId BIGINT;
    DECLARE @Template NVARCHAR(MAX) = {{ policy.REASONING_STEP_PROMPT | tsql_string }};
    DECLARE @Blank NVARCHAR(10) = CONCAT(N' ', NCHAR(9), NCHAR(10), NCHAR(11), NCHAR(12), NCHAR(13), NCHAR(160));
    CREATE TABLE #generated (StreamId BIGINT NOT NULL, GeneratedText NVARCHAR(MAX) NULL, TokenCount INT NOT NULL,
                             RequestId BIGINT NOT NULL);
    CREATE TABLE #steps (PathIndex INT NOT NULL, Step INT NOT NULL, Seed BIGINT NULL, StreamId BIGINT NOT NULL,
                         GeneratedText NVARCHAR(MAX) NOT NULL, TokenCount INT NOT NULL, MeanLogProb FLOAT NULL,
                         PRIMARY KEY (PathIndex, Step));
    CREATE TABLE #paths (PathIndex INT NOT NULL PRIMARY KEY);
    BEGIN TRANSACTION;
    WHILE @Path < @NumPaths
    BEGIN
        SET @Step = 0;
        INSERT INTO #paths (PathIndex) VALUES (@Path);
        WHILE @Step < @MaxDepth
        BEGIN
            -- hartonomous_ext.reasoning.step_prompt: the path's steps so far, "1. text" a line each, or "(none)"
            SET @Done = COALESCE((SELECT STRING_AGG(CONCAT(CAST(s.Step + 1 AS NVARCHAR(MAX)), N'. ', s.GeneratedText), NCHAR(10))
                                         WITHIN GROUP (ORDER BY s.Step)
                                  FROM #steps AS s WHERE s.PathIndex = @Path), N'(none)');
            SET @StepPrompt = REPLACE(REPLACE(REPLACE(@Template, N'{problem}', @BasePrompt), N'{steps}', @Done),
                                      N'{number}', CAST(@Step + 1 AS NVARCHAR(10)));
            SET @StepSeed = @Seed + @Path * @MaxDepth + @Step;  -- hartonomous_ext.reasoning.sample_seed
            DELETE FROM #generated;
            INSERT INTO #generated (StreamId, GeneratedText, TokenCount, RequestId)
            EXEC dbo.sp_GenerateText @prompt = @StepPrompt, @max_tokens = @MaxTokens, @temperature = @Temperature,
                @top_k = 0, @ModelIds = @ModelIds, @TenantId = @TenantId, @seed = @StepSeed;
            SET @Text = (SELECT TOP (1) COALESCE(g.GeneratedText, N'') FROM #generated AS g);
            IF LEN(TRIM(@Blank FROM @Text)) = 0
                BREAK;  -- the model ended the path
            INSERT INTO #steps (PathIndex, Step, Seed, StreamId, GeneratedText, TokenCount, MeanLogProb)
            SELECT @Path, @Step, @StepSeed, g.StreamId, g.GeneratedText, g.TokenCount, a.MeanTokenLogProb
            FROM #generated AS g
            LEFT JOIN Attention.AttentionGenerationLog AS a ON a.StreamId = g.StreamId;
            SET @Step += 1;
        END;
        SET @Path += 1;
    END;
    -- the paths as hartonomous_ext.reasoning.multipath_record reads them: one array of steps per path
    SET @PathsJson = CONCAT(N'[', (SELECT STRING_AGG(CAST(j.PathJson AS NVARCHAR(MAX)), N',') WITHIN GROUP (ORDER BY p.PathIndex)
                                   FROM #paths AS p
                                   CROSS APPLY (SELECT COALESCE((SELECT s.Seed AS seed, s.StreamId AS stream_id,
                                                                        s.GeneratedText AS text, s.TokenCount AS tokens,
                                                                        s.MeanLogProb AS mean_logprob
                                                                 FROM #steps AS s WHERE s.PathIndex = p.PathIndex
                                                                 ORDER BY s.Step FOR JSON PATH, INCLUDE_NULL_VALUES),
                                                                N'[]') AS PathJson) AS j), N']');
    EXEC sys.sp_execute_external_script
        @language = N'Python',
        @script = N'
import json
from hartonomous_ext import reasoning
record = json.dumps(reasoning.multipath_record(json.loads(paths)))
',
        @params = N'@paths NVARCHAR(MAX), @record NVARCHAR(MAX) OUTPUT',
        @paths = @PathsJson, @record = @Record OUTPUT
    WITH RESULT SETS NONE;
    INSERT INTO Reasoning.MultiPathReasoning (TenantId, ProblemId, BasePrompt, ModelIds, NumPaths, MaxDepth, Temperature,
                                              MaxTokens, Seed, BestPathIndex, BestScore, BestAnswer, PathAgreement,
                                              ReasoningTree, DurationMs)
    SELECT @TenantId, @ProblemId, @BasePrompt, @ModelIds, @NumPaths, @MaxDepth, @Temperature, @MaxTokens, @Seed, r.best,
           r.best_score, r.best_answer, r.agreement, r.tree, DATEDIFF_BIG(MICROSECOND, @Started, SYSUTCDATETIME()) / 1000.0
    FROM OPENJSON(@Record) WITH (best INT, best_score FLOAT, best_answer NVARCHAR(MAX), agreement FLOAT,
                                 tree NVARCHAR(MAX) AS JSON) AS r;
    SET @ReasoningId = SCOPE_IDENTITY();
    COMMIT TRANSACTION;
    SELECT m.ReasoningId, m.ProblemId AS ProblemKey, m.BestPathIndex, m.BestAnswer, m.BestScore, m.PathAgreement
    FROM Reasoning.MultiPathReasoning AS m WHERE m.ReasoningId = @ReasoningId;
END;
