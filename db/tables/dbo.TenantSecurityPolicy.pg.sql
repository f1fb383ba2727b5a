-- kind: table
-- requires: dbo
-- What each tenant may use (seed 003's "TenantSecurityPolicy table controls ... per tenant";
-- SELECT * FROM dbo.TenantSecurityPolicy WHERE TenantId = @TenantId AND IsActive = 1 runs as the seed
-- writes it). A tenant without a row has the defaults: active, generation allowed, the package's
-- limits. AllowedModelIds: a JSON array of the stored models the tenant may run ([3, 5]; [] none;
-- NULL, any of its own); the packaged all-MiniLM-L6-v2 is always allowed. IsActive false suspends the tenant: its sessions are refused by
-- every procedure (dbo.fn_ResolveTenant); administrators still reach its rows.
CREATE TABLE IF NOT EXISTS dbo.TenantSecurityPolicy (
    TenantId         integer     NOT NULL,
    TenantName       text        NULL,
    IsActive         boolean     NOT NULL DEFAULT true,
    AllowGeneration  boolean     NOT NULL DEFAULT true,
    MaxTokensPerCall integer     NULL,
    MaxIngestBytes   bigint      NULL,
    AllowedModelIds  jsonb       NULL,
    CreatedAt        timestamptz NOT NULL DEFAULT now(),
    UpdatedAt        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT PK_TenantSecurityPolicy PRIMARY KEY (TenantId),
    CONSTRAINT CK_TenantSecurityPolicy_TenantId CHECK (TenantId >= 0),
    CONSTRAINT CK_TenantSecurityPolicy_Limits CHECK ((MaxTokensPerCall IS NULL OR MaxTokensPerCall >= 1)
                                                      AND (MaxIngestBytes IS NULL OR MaxIngestBytes >= 1)),
    CONSTRAINT CK_TenantSecurityPolicy_AllowedModelIds CHECK (AllowedModelIds IS NULL OR jsonb_typeof(AllowedModelIds) = 'array')
);
