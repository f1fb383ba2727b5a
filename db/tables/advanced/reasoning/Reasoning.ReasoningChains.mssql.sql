-- kind: table
-- requires: Reasoning
-- One chain of thought (dbo.sp_ChainOfThoughtReasoning, hartonomous_ext.reasoning): up to MaxSteps
-- steps, each generated through dbo.sp_GenerateText after the problem and the steps so far (step i
-- seeded Seed + i); the chain stops early at a step the model leaves empty. CoherenceScore is the mean
-- cosine similarity of consecutive steps' all-MiniLM-L6-v2 embeddings, each clipped at 0 (in [0, 1];
-- NULL for a chain of fewer than two steps), StepCoherence those similarities. ChainData:
-- [{"step", "seed", "stream_id", "text"}] in order; stream_id is the step's dbo.GenerationStreams row
-- (no foreign key: generation history may be purged).
IF OBJECT_ID(N'Reasoning.ReasoningChains', N'U') IS NULL
BEGIN
    CREATE TABLE Reasoning.ReasoningChains (
        ChainId        BIGINT IDENTITY(1, 1) NOT NULL,
        TenantId       INT              NOT NULL,
        ProblemId      UNIQUEIDENTIFIER NOT NULL,
        ReasoningType  NVARCHAR(50)     NOT NULL CONSTRAINT DF_ReasoningChains_ReasoningType DEFAULT (N'chain_of_thought'),
        InitialPrompt  NVARCHAR(MAX)    NOT NULL,
        ModelIds       NVARCHAR(400)    NOT NULL,
        MaxSteps       INT              NOT NULL,
        Temperature    FLOAT            NOT NULL,
        MaxTokens      INT              NOT NULL,
        Seed           BIGINT           NULL,
        TotalSteps     INT              NOT NULL,
        FinalStep      NVARCHAR(MAX)    NULL,
        CoherenceScore FLOAT            NULL,
        StepCoherence  NVARCHAR(MAX)    NOT NULL,
        ChainData      NVARCHAR(MAX)    NOT NULL,
        DurationMs     FLOAT            NOT NULL,
        CreatedAt      DATETIME2(3)     NOT NULL CONSTRAINT DF_ReasoningChains_CreatedAt DEFAULT (SYSUTCDATETIME()),
        CONSTRAINT PK_ReasoningChains PRIMARY KEY CLUSTERED (ChainId),
        CONSTRAINT CK_ReasoningChains_Steps CHECK (MaxSteps BETWEEN 1 AND {{ policy.REASONING_MAX_STEPS }} AND TotalSteps BETWEEN 0 AND MaxSteps),
        CONSTRAINT CK_ReasoningChains_Coherence CHECK (CoherenceScore BETWEEN 0 AND 1),
        CONSTRAINT CK_ReasoningChains_Data CHECK (ISJSON(ChainData) = 1 AND ISJSON(StepCoherence) = 1 AND ISJSON(ModelIds) = 1),
        CONSTRAINT CK_ReasoningChains_Settings CHECK (Temperature >= 0 AND MaxTokens >= 1)
    );
    CREATE INDEX IX_ReasoningChains_Problem ON Reasoning.ReasoningChains (TenantId, ProblemId);
    CREATE INDEX IX_ReasoningChains_CreatedAt ON Reasoning.ReasoningChains (CreatedAt);
END;
