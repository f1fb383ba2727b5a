-- kind: table
-- requires: dbo
-- renamed: CreatedAt -> IngestionDate, ConfigJson -> Config
-- A model ingested from a file (ONNX, safetensors, PyTorch, GGUF); SourceHash identifies the file.
-- Its tensors are in dbo.ModelTensors; FormatSkeleton keeps what the format holds besides tensors
-- and the config cannot (the ONNX graph without its weights), so an export is a whole model again.
IF OBJECT_ID(N'dbo.Models', N'U') IS NULL
BEGIN
    CREATE TABLE dbo.Models (
        ModelId        INT IDENTITY(1, 1) NOT NULL,
        TenantId       INT            NOT NULL CONSTRAINT DF_Models_TenantId DEFAULT (0),
        ModelName      NVARCHAR(256)  NOT NULL,
        ModelFormat    NVARCHAR(32)   NOT NULL,
        Architecture   NVARCHAR(128)  NULL,
        ParameterCount BIGINT         NULL,
        Config         NVARCHAR(MAX)  NULL,
        SourceHash     BINARY(32)     NULL,
        IsActive       BIT            NOT NULL CONSTRAINT DF_Models_IsActive DEFAULT (1),
        IngestionDate  DATETIME2(3)   NOT NULL CONSTRAINT DF_Models_IngestionDate DEFAULT (SYSUTCDATETIME()),
        TensorCount    INT            NULL,
        TotalBytes     BIGINT         NULL,
        FormatSkeleton VARBINARY(MAX) NULL,
        CONSTRAINT PK_Models PRIMARY KEY CLUSTERED (ModelId),
        CONSTRAINT CK_Models_ModelFormat CHECK (ModelFormat IN (N'onnx', N'safetensors', N'pytorch', N'gguf')),
        CONSTRAINT CK_Models_ParameterCount CHECK (ParameterCount IS NULL OR ParameterCount >= 0),
        CONSTRAINT CK_Models_Config CHECK (Config IS NULL OR ISJSON(Config) = 1)
    );
    CREATE INDEX IX_Models_Tenant_Name ON dbo.Models (TenantId, ModelName);
    CREATE UNIQUE INDEX UX_Models_Tenant_SourceHash ON dbo.Models (TenantId, SourceHash) WHERE SourceHash IS NOT NULL;
END;
