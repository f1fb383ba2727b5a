-- dbo.sp_SelfConsistencyReasoning: the arguments are refused before anything is generated (51500-51507,
-- in hartonomous_ext.reasoning.check_arguments' order and words); a run samples dbo.sp_GenerateText
-- (a spy here: its answer depends on the seed it was given) once per sample with seed @Seed + i, and
-- records the vote of the samples' answers (the external script: hartonomous_ext.reasoning) with the
-- agreement ratio, in Reasoning.SelfConsistencyResults (the runbook reads it as dbo.SelfConsistencyResults).
EXEC tSQLt.NewTestClass 'test_sp_SelfConsistencyReasoning';
GO

-- dbo.sp_ChargeUsage is a spy (tSQLt's savepoint cannot reach the memory-optimized ledger); the
-- tenant's one model is 11 (dbo.Models faked); the results table is faked empty
CREATE PROCEDURE test_sp_SelfConsistencyReasoning.[SetUp]
AS
BEGIN
    EXEC tSQLt.SpyProcedure @ProcedureName = N'dbo.sp_ChargeUsage';
    EXEC test_fixtures.UnbindTenantAccess;
    EXEC tSQLt.FakeTable @TableName = N'dbo.Models';
    INSERT INTO dbo.Models (ModelId, TenantId, ModelName, ModelFormat) VALUES (11, 424242, N'smol', N'gguf');
    EXEC tSQLt.FakeTable @TableName = N'Reasoning.SelfConsistencyResults', @Identity = 1, @Defaults = 1;
    -- seeds 10 and 12 answer 4, seed 11 answers 5
    EXEC tSQLt.SpyProcedure @ProcedureName = N'dbo.sp_GenerateText', @CommandToExecute = N'
        SELECT CAST(@seed + 1000 AS BIGINT) AS StreamId,
               CASE WHEN @seed % 3 = 2 THEN N''5'' ELSE N''The answer is 4.'' END AS GeneratedText,
               4 AS TokenCount, CAST(1 AS BIGINT) AS RequestId;';
END;
GO

CREATE PROCEDURE test_sp_SelfConsistencyReasoning.[test the vote of the samples is recorded with its agreement ratio]
AS
BEGIN
    DECLARE @Consensus NVARCHAR(MAX), @Votes INT, @Agreement FLOAT, @Distinct INT, @Samples INT, @Streams NVARCHAR(MAX);
    EXEC dbo.sp_SelfConsistencyReasoning @Prompt = N'What is 2 + 2?', @NumSamples = 3, @Temperature = 0.8,
        @MaxTokens = 4, @ModelIds = N'11', @TenantId = 424242, @Seed = 10;
    SELECT @Consensus = ConsensusAnswer, @Votes = ConsensusVotes, @Agreement = AgreementRatio,
           @Distinct = DistinctAnswers, @Samples = NumSamples
    FROM Reasoning.SelfConsistencyResults WHERE TenantId = 424242;
    EXEC tSQLt.AssertEqualsString @Expected = N'4', @Actual = @Consensus;
    EXEC tSQLt.AssertEquals @Expected = 2, @Actual = @Votes;
    EXEC tSQLt.AssertEquals @Expected = 2, @Actual = @Distinct;
    EXEC tSQLt.AssertEquals @Expected = 3, @Actual = @Samples;
    IF ABS(@Agreement - 2.0 / 3) > 1e-9
        EXEC tSQLt.Fail 'the agreement ratio is not 2 of 3 samples: ', @Agreement;
    -- each sample is its generation's stream
    SELECT @Streams = STRING_AGG(CAST(j.stream_id AS NVARCHAR(20)), N',') WITHIN GROUP (ORDER BY j.sample)
    FROM Reasoning.SelfConsistencyResults AS r
    CROSS APPLY OPENJSON(r.SampleData) WITH (sample INT, stream_id BIGINT) AS j;
    EXEC tSQLt.AssertEqualsString @Expected = N'1010,1011,1012', @Actual = @Streams;
END;
GO

CREATE PROCEDURE test_sp_SelfConsistencyReasoning.[test each sample is generated with the run's seed plus its index]
AS
BEGIN
    DECLARE @Seeds NVARCHAR(MAX), @Models NVARCHAR(MAX);
    EXEC dbo.sp_SelfConsistencyReasoning @Prompt = N'What is 2 + 2?', @NumSamples = 3, @MaxTokens = 4,
        @ModelIds = N'11', @TenantId = 424242, @Seed = 10;
    SELECT @Seeds = STRING_AGG(CAST(seed AS NVARCHAR(20)), N',') WITHIN GROUP (ORDER BY _id_),
           @Models = MAX(ModelIds)
    FROM dbo.sp_GenerateText_SpyProcedureLog;
    EXEC tSQLt.AssertEqualsString @Expected = N'10,11,12', @Actual = @Seeds;
    EXEC tSQLt.AssertEqualsString @Expected = N'[11]', @Actual = @Models;
END;
GO

CREATE PROCEDURE test_sp_SelfConsistencyReasoning.[test temperature 0 samples that agree give a ratio of 1]
AS
BEGIN
    DECLARE @Agreement FLOAT;
    EXEC tSQLt.SpyProcedure @ProcedureName = N'dbo.sp_GenerateText', @CommandToExecute = N'
        SELECT CAST(@seed AS BIGINT) AS StreamId, N''Paris'' AS GeneratedText, 1 AS TokenCount, CAST(1 AS BIGINT) AS RequestId;';
    EXEC dbo.sp_SelfConsistencyReasoning @Prompt = N'Capital of France?', @NumSamples = 4, @Temperature = 0,
        @ModelIds = N'11', @TenantId = 424242, @Seed = 1;
    SELECT @Agreement = AgreementRatio FROM Reasoning.SelfConsistencyResults;
    EXEC tSQLt.AssertEquals @Expected = 1.0, @Actual = @Agreement;
END;
GO

CREATE PROCEDURE test_sp_SelfConsistencyReasoning.[test no samples is refused before anything is generated (51501)]
AS
BEGIN
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 51501,
        @ExpectedMessage = N'sp_SelfConsistencyReasoning: NumSamples must be between 1 and 32';
    EXEC dbo.sp_SelfConsistencyReasoning @Prompt = N'Hi', @NumSamples = 0, @ModelIds = N'11', @TenantId = 424242;
END;
GO

CREATE PROCEDURE test_sp_SelfConsistencyReasoning.[test a huge number of samples is refused (51501)]
AS
BEGIN
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 51501;
    EXEC dbo.sp_SelfConsistencyReasoning @Prompt = N'Hi', @NumSamples = 100000, @ModelIds = N'11', @TenantId = 424242;
END;
GO

CREATE PROCEDURE test_sp_SelfConsistencyReasoning.[test a NULL prompt is refused (51500)]
AS
BEGIN
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 51500,
        @ExpectedMessage = N'sp_SelfConsistencyReasoning: the prompt is empty';
    EXEC dbo.sp_SelfConsistencyReasoning @Prompt = NULL, @ModelIds = N'11', @TenantId = 424242;
END;
GO

CREATE PROCEDURE test_sp_SelfConsistencyReasoning.[test a negative temperature is refused (51502)]
AS
BEGIN
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 51502, @ExpectedMessagePattern = N'%Temperature must be finite%';
    EXEC dbo.sp_SelfConsistencyReasoning @Prompt = N'Hi', @Temperature = -0.5, @ModelIds = N'11', @TenantId = 424242;
END;
GO

CREATE PROCEDURE test_sp_SelfConsistencyReasoning.[test a negative seed is refused (51504)]
AS
BEGIN
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 51504;
    EXEC dbo.sp_SelfConsistencyReasoning @Prompt = N'Hi', @Seed = -1, @ModelIds = N'11', @TenantId = 424242;
END;
GO

CREATE PROCEDURE test_sp_SelfConsistencyReasoning.[test a model that is not the tenant's is refused (51507)]
AS
BEGIN
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 51507,
        @ExpectedMessage = N'sp_SelfConsistencyReasoning: 1 of the ModelIds do not exist for tenant 424243';
    EXEC dbo.sp_SelfConsistencyReasoning @Prompt = N'Hi', @ModelIds = N'11', @TenantId = 424243;
END;
GO

CREATE PROCEDURE test_sp_SelfConsistencyReasoning.[test ModelIds that are not a list are refused (51506)]
AS
BEGIN
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 51506, @ExpectedMessagePattern = N'%is not a list of model ids%';
    EXEC dbo.sp_SelfConsistencyReasoning @Prompt = N'Hi', @ModelIds = N'one', @TenantId = 424242;
END;
GO

CREATE PROCEDURE test_sp_SelfConsistencyReasoning.[test a refused call generates and writes nothing]
AS
BEGIN
    DECLARE @Generated INT, @Written INT;
    BEGIN TRY
        EXEC dbo.sp_SelfConsistencyReasoning @Prompt = N'Hi', @NumSamples = 0, @ModelIds = N'11', @TenantId = 424242;
    END TRY
    BEGIN CATCH
        IF ERROR_NUMBER() <> 51501
            THROW;
    END CATCH;
    SELECT @Generated = COUNT(*) FROM dbo.sp_GenerateText_SpyProcedureLog;
    SELECT @Written = COUNT(*) FROM Reasoning.SelfConsistencyResults;
    EXEC tSQLt.AssertEquals @Expected = 0, @Actual = @Generated;
    EXEC tSQLt.AssertEquals @Expected = 0, @Actual = @Written;
END;
GO

-- DBA review: SET XACT_ABORT ON came before the checks, so a refused argument doomed the caller's
-- transaction (THROW honours XACT_ABORT); the refusals now come first, as in dbo.sp_GenerateText
CREATE PROCEDURE test_sp_SelfConsistencyReasoning.[test a refused argument leaves the caller's transaction committable]
AS
BEGIN
    DECLARE @Number INT, @State INT, @Calls INT;
    BEGIN TRY
        EXEC dbo.sp_SelfConsistencyReasoning @Prompt = N'What is 2 + 2?', @NumSamples = 0, @ModelIds = N'11',
            @TenantId = 424242, @Seed = 10;
    END TRY
    BEGIN CATCH
        SELECT @Number = ERROR_NUMBER(), @State = XACT_STATE();
    END CATCH;
    SELECT @Calls = COUNT(*) FROM dbo.sp_GenerateText_SpyProcedureLog;
    EXEC tSQLt.AssertEquals @Expected = 51501, @Actual = @Number;
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @State;
    EXEC tSQLt.AssertEquals @Expected = 0, @Actual = @Calls;
END;
GO
