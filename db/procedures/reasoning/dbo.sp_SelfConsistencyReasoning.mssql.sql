-- kind: procedure
-- requires: dbo.sp_GenerateText, dbo.sp_CheckReasoningArguments, dbo.fn_ResolveTenant, hartonomous_ext, Reasoning.SelfConsistencyResults
-- Self-consistency (seed 003's sp_SelfConsistencyReasoning): @NumSamples completions of @Prompt at
-- @Temperature through dbo.sp_GenerateText with @ModelIds (metered there; sample i seeded @Seed + i, so
-- a rerun with the same @Seed reproduces every sample), each one's answer extracted and normalised,
-- and the vote (hartonomous_ext.reasoning, in Machine Learning Services): the consensus answer and its
-- agreement ratio (its votes over @NumSamples). Recorded in Reasoning.SelfConsistencyResults
-- (dbo.SelfConsistencyResults) with every sample and its dbo.GenerationStreams row; @ProblemId groups
-- runs (NULL: a new one). The samples and the result commit together or not at all. Returns ResultId,
-- ProblemKey, ConsensusAnswer, ConsensusVotes, AgreementRatio.
CREATE OR ALTER PROCEDURE dbo.sp_SelfConsistencyReasoning
    @ProblemId UNIQUEIDENTIFIER = NULL,
    @Prompt NVARCHAR(MAX) = NULL,
    @NumSamples INT = 5,
    @Temperature FLOAT = {{ policy.REASONING_SELF_CONSISTENCY_TEMPERATURE }},
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
    FROM dbo.fn_ResolveTenant(@TenantId, N'sp_SelfConsistencyReasoning') AS r;
    IF @TenantRefusal IS NOT NULL
        THROW 50030, @TenantRefusal, 1;
    EXEC dbo.sp_CheckReasoningArguments @Procedure = N'sp_SelfConsistencyReasoning', @Prompt = @Prompt,
        @CountName = N'NumSamples', @Count = @NumSamples, @DepthName = NULL, @Depth = NULL,
        @Temperature = @Temperature, @MaxTokens = @MaxTokens, @Seed = @Seed, @TenantId = @TenantId,
        @ModelIdsGiven = @ModelIds, @ModelIds = @ModelIds OUTPUT;
    -- only now, after the refusals (50030, 51500-51507): a refused argument leaves a caller's transaction
    -- committable (XACT_ABORT ON makes every THROW doom it); from here a failed sample rolls back every
    -- sample before it, and their charges
    SET XACT_ABORT ON;
    SET @ProblemId = COALESCE(@ProblemId, NEWID());
    DECLARE @Started DATETIME2(7) = SYSUTCDATETIME(), @Sample INT = 0, @SampleSeed BIGINT;
    DECLARE @SamplesJson NVARCHAR(MAX), @Record NVARCHAR(MAX), @ResultId BIGINT;
    CREATE TABLE #generated (StreamId BIGINT NOT NULL, GeneratedText NVARCHAR(MAX) NULL, TokenCount INT NOT NULL,
                             RequestId BIGINT NOT NULL);
    CREATE TABLE #samples (Sample INT NOT NULL PRIMARY KEY, Seed BIGINT NULL, StreamId BIGINT NOT NULL,
                           GeneratedText NVARCHAR(MAX) NOT NULL);
    BEGIN TRANSACTION;
    WHILE @Sample < @NumSamples
    BEGIN
        SET @SampleSeed = @Seed + @Sample;  -- hartonomous_ext.reasoning.sample_seed (NULL stays NULL)
        DELETE FROM #generated;
        INSERT INTO #generated (StreamId, GeneratedText, TokenCount, RequestId)
        EXEC dbo.sp_GenerateText @prompt = @Prompt, @max_tokens = @MaxTokens, @temperature = @Temperature, @top_k = 0,
            @ModelIds = @ModelIds, @TenantId = @TenantId, @seed = @SampleSeed;
        INSERT INTO #samples (Sample, Seed, StreamId, GeneratedText)
        SELECT @Sample, @SampleSeed, g.StreamId, COALESCE(g.GeneratedText, N'') FROM #generated AS g;
        SET @Sample += 1;
    END;
    SET @SamplesJson = (SELECT s.Seed AS seed, s.StreamId AS stream_id, s.GeneratedText AS text
                        FROM #samples AS s ORDER BY s.Sample FOR JSON PATH, INCLUDE_NULL_VALUES);
    EXEC sys.sp_execute_external_script
        @language = N'Python',
        @script = N'
import json
from hartonomous_ext import reasoning
record = json.dumps(reasoning.self_consistency_record(json.loads(samples)))
',
        @params = N'@samples NVARCHAR(MAX), @record NVARCHAR(MAX) OUTPUT',
        @samples = @SamplesJson, @record = @Record OUTPUT
    WITH RESULT SETS NONE;
    INSERT INTO Reasoning.SelfConsistencyResults (TenantId, ProblemId, Prompt, ModelIds, NumSamples, Temperature,
                                                  MaxTokens, Seed, ConsensusAnswer, ConsensusVotes, AgreementRatio,
                                                  DistinctAnswers, SampleData, DurationMs)
    SELECT @TenantId, @ProblemId, @Prompt, @ModelIds, @NumSamples, @Temperature, @MaxTokens, @Seed, r.consensus,
           r.votes, r.agreement, r.distinct_answers, r.samples,
           DATEDIFF_BIG(MICROSECOND, @Started, SYSUTCDATETIME()) / 1000.0
    FROM OPENJSON(@Record) WITH (consensus NVARCHAR(MAX), votes INT, agreement FLOAT,
                                 distinct_answers INT '$.distinct', samples NVARCHAR(MAX) AS JSON) AS r;
    SET @ResultId = SCOPE_IDENTITY();
    COMMIT TRANSACTION;
    SELECT r.ResultId, r.ProblemId AS ProblemKey, r.ConsensusAnswer, r.ConsensusVotes, r.AgreementRatio
    FROM Reasoning.SelfConsistencyResults AS r WHERE r.ResultId = @ResultId;
END;
