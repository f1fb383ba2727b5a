-- kind: table
-- requires: dbo
-- What each tenant may use (seed 003's "TenantSecurityPolicy table controls ... per tenant";
-- SELECT * FROM dbo.TenantSecurityPolicy WHERE TenantId = @TenantId AND IsActive = 1 runs as the seed
-- writes it). A tenant without a row has the defaults: active, generation allowed, the package's
-- limits. AllowedModelIds: a JSON array of the stored models the tenant may run ([3, 5]; [] none;
-- NULL, any of its own); the packaged all-MiniLM-L6-v2 is always allowed. IsActive 0 suspends the tenant: its sessions are refused by every
-- procedure (dbo.fn_ResolveTenant); administrators still reach its rows.
IF OBJECT_ID(N'dbo.TenantSecurityPolicy', N'U') IS NULL
BEGIN
    CREATE TABLE dbo.TenantSecurityPolicy (
        TenantId         INT            NOT NULL,
        TenantName       NVARCHAR(256)  NULL,
        IsActive         BIT            NOT NULL CONSTRAINT DF_TenantSecurityPolicy_IsActive DEFAULT (1),
        AllowGeneration  BIT            NOT NULL CONSTRAINT DF_TenantSecurityPolicy_AllowGeneration DEFAULT (1),
        MaxTokensPerCall INT            NULL,
        MaxIngestBytes   BIGINT         NULL,
        AllowedModelIds  NVARCHAR(4000) NULL,
        CreatedAt        DATETIME2(3)   NOT NULL CONSTRAINT DF_TenantSecurityPolicy_CreatedAt DEFAULT (SYSUTCDATETIME()),
        UpdatedAt        DATETIME2(3)   NOT NULL CONSTRAINT DF_TenantSecurityPolicy_UpdatedAt DEFAULT (SYSUTCDATETIME()),
        CONSTRAINT PK_TenantSecurityPolicy PRIMARY KEY CLUSTERED (TenantId),
        CONSTRAINT CK_TenantSecurityPolicy_TenantId CHECK (TenantId >= 0),
        CONSTRAINT CK_TenantSecurityPolicy_Limits CHECK ((MaxTokensPerCall IS NULL OR MaxTokensPerCall >= 1)
                                                          AND (MaxIngestBytes IS NULL OR MaxIngestBytes >= 1)),
        CONSTRAINT CK_TenantSecurityPolicy_AllowedModelIds CHECK (AllowedModelIds IS NULL OR (ISJSON(AllowedModelIds) = 1 AND LEFT(LTRIM(AllowedModelIds), 1) = N'['))
    );
END;
