-- kind: table
-- requires: Reasoning
-- One self-consistency run (dbo.sp_SelfConsistencyReasoning, hartonomous_ext.reasoning): NumSamples
-- completions of Prompt sampled at Temperature through dbo.sp_GenerateText (sample i seeded Seed + i),
-- each one's answer extracted and normalised, and the vote: ConsensusAnswer (NULL when no sample gave
-- an answer), ConsensusVotes, AgreementRatio = ConsensusVotes / NumSamples (the runbook's "Reflexion
-- agreement ratio"), DistinctAnswers. SampleData: [{"sample", "seed", "stream_id", "text", "answer"}]
-- in sample order; stream_id is the sample's dbo.GenerationStreams row (its request, tokens, atom).
-- Without a foreign key: generation history may be purged, the result outlives it.
IF OBJECT_ID(N'Reasoning.SelfConsistencyResults', N'U') IS NULL
BEGIN
    CREATE TABLE Reasoning.SelfConsistencyResults (
        ResultId        BIGINT IDENTITY(1, 1) NOT NULL,
        TenantId        INT              NOT NULL,
        ProblemId       UNIQUEIDENTIFIER NOT NULL,
        Prompt          NVARCHAR(MAX)    NOT NULL,
        ModelIds        NVARCHAR(400)    NOT NULL,
        NumSamples      INT              NOT NULL,
        Temperature     FLOAT            NOT NULL,
        MaxTokens       INT              NOT NULL,
        Seed            BIGINT           NULL,
        ConsensusAnswer NVARCHAR(MAX)    NULL,
        ConsensusVotes  INT              NOT NULL,
        AgreementRatio  FLOAT            NOT NULL,
        DistinctAnswers INT              NOT NULL,
        SampleData      NVARCHAR(MAX)    NOT NULL,
        DurationMs      FLOAT            NOT NULL,
        CreatedAt       DATETIME2(3)     NOT NULL CONSTRAINT DF_SelfConsistencyResults_CreatedAt DEFAULT (SYSUTCDATETIME()),
        CONSTRAINT PK_SelfConsistencyResults PRIMARY KEY CLUSTERED (ResultId),
        CONSTRAINT CK_SelfConsistencyResults_Samples CHECK (NumSamples BETWEEN 1 AND {{ policy.REASONING_MAX_SAMPLES }}),
        CONSTRAINT CK_SelfConsistencyResults_Votes CHECK (ConsensusVotes BETWEEN 0 AND NumSamples AND DistinctAnswers BETWEEN 0 AND NumSamples),
        CONSTRAINT CK_SelfConsistencyResults_Agreement CHECK (AgreementRatio BETWEEN 0 AND 1),
        CONSTRAINT CK_SelfConsistencyResults_SampleData CHECK (ISJSON(SampleData) = 1 AND ISJSON(ModelIds) = 1),
        CONSTRAINT CK_SelfConsistencyResults_Settings CHECK (Temperature >= 0 AND MaxTokens >= 1)
    );
    CREATE INDEX IX_SelfConsistencyResults_Problem ON Reasoning.SelfConsistencyResults (TenantId, ProblemId);
    CREATE INDEX IX_SelfConsistencyResults_CreatedAt ON Reasoning.SelfConsistencyResults (CreatedAt);
END;
