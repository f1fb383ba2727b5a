-- kind: table
-- requires: dbo.InferenceRequests, dbo.Atoms
-- One text generation (dbo.sp_GenerateText): its request, the models that generated together, the
-- prompt and generated token ids (JSON arrays), the sampling settings, and the lineage: the atom
-- the generated text was stored as (OutputAtomId).
IF OBJECT_ID(N'dbo.GenerationStreams', N'U') IS NULL
BEGIN
    CREATE TABLE dbo.GenerationStreams (
        StreamId        BIGINT IDENTITY(1, 1) NOT NULL,
        RequestId       BIGINT        NOT NULL,
        TenantId        INT           NOT NULL CONSTRAINT DF_GenerationStreams_TenantId DEFAULT (0),
        ModelIds        NVARCHAR(400) NOT NULL,
        Prompt          NVARCHAR(MAX) NOT NULL,
        PromptTokens    NVARCHAR(MAX) NOT NULL,
        GeneratedTokens NVARCHAR(MAX) NOT NULL,
        GeneratedText   NVARCHAR(MAX) NOT NULL,
        Temperature     FLOAT         NOT NULL,
        TopK            INT           NOT NULL,
        Seed            BIGINT        NULL,
        OutputAtomId    BIGINT        NULL,
        FirstTokenMs    FLOAT         NULL,
        TokensPerSecond FLOAT         NULL,
        CreatedAt       DATETIME2(3)  NOT NULL CONSTRAINT DF_GenerationStreams_CreatedAt DEFAULT (SYSUTCDATETIME()),
        CONSTRAINT PK_GenerationStreams PRIMARY KEY CLUSTERED (StreamId),
        CONSTRAINT FK_GenerationStreams_InferenceRequests FOREIGN KEY (RequestId) REFERENCES dbo.InferenceRequests (RequestId),
        CONSTRAINT FK_GenerationStreams_Atoms FOREIGN KEY (OutputAtomId) REFERENCES dbo.Atoms (AtomId),
        CONSTRAINT CK_GenerationStreams_Settings CHECK (Temperature >= 0 AND TopK >= 0),
        CONSTRAINT CK_GenerationStreams_Json CHECK (ISJSON(ModelIds) = 1 AND ISJSON(PromptTokens) = 1
                                                    AND ISJSON(GeneratedTokens) = 1)
    );
    CREATE INDEX IX_GenerationStreams_Request ON dbo.GenerationStreams (RequestId);
END;
