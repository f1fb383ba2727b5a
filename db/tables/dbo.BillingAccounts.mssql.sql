-- kind: table
-- requires: dbo.BillingRatePlans
-- Which rate plan each tenant is on. A tenant without a row is still metered (its usage is
-- recorded) at no charge and without quotas.
IF OBJECT_ID(N'dbo.BillingAccounts', N'U') IS NULL
BEGIN
    CREATE TABLE dbo.BillingAccounts (
        TenantId   INT          NOT NULL,
        RatePlanId INT          NOT NULL,
        AssignedAt DATETIME2(3) NOT NULL CONSTRAINT DF_BillingAccounts_AssignedAt DEFAULT (SYSUTCDATETIME()),
        CONSTRAINT PK_BillingAccounts PRIMARY KEY CLUSTERED (TenantId),
        CONSTRAINT FK_BillingAccounts_BillingRatePlans FOREIGN KEY (RatePlanId) REFERENCES dbo.BillingRatePlans (RatePlanId),
        CONSTRAINT CK_BillingAccounts_TenantId CHECK (TenantId >= 0)
    );
END;
