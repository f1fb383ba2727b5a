-- kind: table
-- requires: Reasoning
-- One multi-path run (dbo.sp_MultiPathReasoning, hartonomous_ext.reasoning): NumPaths independent
-- paths of up to MaxDepth steps, each step generated through dbo.sp_GenerateText after the problem
-- and the path's steps so far (path p, step d seeded Seed + p * MaxDepth + d; a path stops at a step
-- the model leaves empty). A path's score is the mean log-probability of all the tokens it generated
-- (what the model believed of its own path, from Attention.AttentionGenerationLog); the best path is
-- the highest-scored (the first of equals), BestAnswer its last step's answer as
-- sp_SelfConsistencyReasoning normalises it, PathAgreement the share of paths whose answer is the same.
-- ReasoningTree: [{"path", "score", "answer", "steps": [{"step", "seed", "stream_id", "text",
-- "tokens", "mean_logprob"}]}]; stream_id is the step's dbo.GenerationStreams row (no foreign key).
IF OBJECT_ID(N'Reasoning.MultiPathReasoning', N'U') IS NULL
BEGIN
    CREATE TABLE Reasoning.MultiPathReasoning (
        ReasoningId   BIGINT IDENTITY(1, 1) NOT NULL,
        TenantId      INT              NOT NULL,
        ProblemId     UNIQUEIDENTIFIER NOT NULL,
        BasePrompt    NVARCHAR(MAX)    NOT NULL,
        ModelIds      NVARCHAR(400)    NOT NULL,
        NumPaths      INT              NOT NULL,
        MaxDepth      INT              NOT NULL,
        Temperature   FLOAT            NOT NULL,
        MaxTokens     INT              NOT NULL,
        Seed          BIGINT           NULL,
        BestPathIndex INT              NULL,
        BestScore     FLOAT            NULL,
        BestAnswer    NVARCHAR(MAX)    NULL,
        PathAgreement FLOAT            NULL,
        ReasoningTree NVARCHAR(MAX)    NOT NULL,
        DurationMs    FLOAT            NOT NULL,
        CreatedAt     DATETIME2(3)     NOT NULL CONSTRAINT DF_MultiPathReasoning_CreatedAt DEFAULT (SYSUTCDATETIME()),
        CONSTRAINT PK_MultiPathReasoning PRIMARY KEY CLUSTERED (ReasoningId),
        CONSTRAINT CK_MultiPathReasoning_Paths CHECK (NumPaths BETWEEN 1 AND {{ policy.REASONING_MAX_SAMPLES }} AND MaxDepth BETWEEN 1 AND {{ policy.REASONING_MAX_STEPS }}),
        CONSTRAINT CK_MultiPathReasoning_Best CHECK (BestPathIndex BETWEEN 0 AND NumPaths - 1 AND BestScore <= 0),
        CONSTRAINT CK_MultiPathReasoning_Agreement CHECK (PathAgreement BETWEEN 0 AND 1),
        CONSTRAINT CK_MultiPathReasoning_Tree CHECK (ISJSON(ReasoningTree) = 1 AND ISJSON(ModelIds) = 1),
        CONSTRAINT CK_MultiPathReasoning_Settings CHECK (Temperature >= 0 AND MaxTokens >= 1)
    );
    CREATE INDEX IX_MultiPathReasoning_Problem ON Reasoning.MultiPathReasoning (TenantId, ProblemId);
    CREATE INDEX IX_MultiPathReasoning_CreatedAt ON Reasoning.MultiPathReasoning (CreatedAt);
END;
