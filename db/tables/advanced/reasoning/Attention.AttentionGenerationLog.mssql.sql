-- kind: table
-- requires: Attention, dbo.GenerationStreams
-- What attention did in one text generation (written by dbo.sp_GenerateText with its stream;
-- hartonomous_ext.generation.AttentionWatch, the first model's attention for an ensemble), read from
-- the query row that chose each next token: LayerEntropy, per layer, the entropy of its attention
-- over the positions before it as a share of the most it could be (0: all on one position, 1: evenly
-- spread; mean over heads and steps), MeanEntropy their mean; TopPromptTokens the prompt positions
-- that received most attention ([[position, token, share], ...], best first; shares of the attention
-- the prompt received, summed over heads and layers); Steps the forward passes observed. With them,
-- how sure the model was: MeanTokenLogProb, the mean log-probability of the generated tokens (NULL
-- when none), and the generation's settings and time. RequestId is the stream's dbo.InferenceRequests
-- row (no foreign key: requests are archived); the row goes with its stream.
IF OBJECT_ID(N'Attention.AttentionGenerationLog', N'U') IS NULL
BEGIN
    CREATE TABLE Attention.AttentionGenerationLog (
        LogId            BIGINT IDENTITY(1, 1) NOT NULL,
        StreamId         BIGINT        NOT NULL,
        RequestId        BIGINT        NOT NULL,
        TenantId         INT           NOT NULL,
        ModelId          INT           NOT NULL,
        LayerCount       INT           NOT NULL,
        PromptTokens     INT           NOT NULL,
        GeneratedTokens  INT           NOT NULL,
        Steps            INT           NOT NULL,
        LayerEntropy     NVARCHAR(MAX) NOT NULL,
        MeanEntropy      FLOAT         NULL,
        TopPromptTokens  NVARCHAR(MAX) NOT NULL,
        MeanTokenLogProb FLOAT         NULL,
        Temperature      FLOAT         NOT NULL,
        TopK             INT           NOT NULL,
        DurationMs       FLOAT         NOT NULL,
        CreatedAt        DATETIME2(3)  NOT NULL CONSTRAINT DF_AttentionGenerationLog_CreatedAt DEFAULT (SYSUTCDATETIME()),
        CONSTRAINT PK_AttentionGenerationLog PRIMARY KEY CLUSTERED (LogId),
        CONSTRAINT UQ_AttentionGenerationLog_Stream UNIQUE (StreamId),
        CONSTRAINT FK_AttentionGenerationLog_GenerationStreams FOREIGN KEY (StreamId) REFERENCES dbo.GenerationStreams (StreamId) ON DELETE CASCADE,
        CONSTRAINT CK_AttentionGenerationLog_Entropy CHECK (MeanEntropy BETWEEN 0 AND 1),
        CONSTRAINT CK_AttentionGenerationLog_LogProb CHECK (MeanTokenLogProb <= 0),
        CONSTRAINT CK_AttentionGenerationLog_Json CHECK (ISJSON(LayerEntropy) = 1 AND ISJSON(TopPromptTokens) = 1),
        CONSTRAINT CK_AttentionGenerationLog_Counts CHECK (LayerCount >= 1 AND PromptTokens >= 1 AND GeneratedTokens >= 0 AND Steps >= 0)
    );
    CREATE INDEX IX_AttentionGenerationLog_CreatedAt ON Attention.AttentionGenerationLog (CreatedAt);
END;
