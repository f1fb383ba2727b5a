-- kind: table
-- requires: dbo.BillingRatePlans
-- Which rate plan each tenant is on. A tenant without a row is still metered (its usage is
-- recorded) at no charge and without quotas.
CREATE TABLE IF NOT EXISTS dbo.BillingAccounts (
    TenantId   integer     NOT NULL,
    RatePlanId integer     NOT NULL,
    AssignedAt timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT PK_BillingAccounts PRIMARY KEY (TenantId),
    CONSTRAINT FK_BillingAccounts_BillingRatePlans FOREIGN KEY (RatePlanId) REFERENCES dbo.BillingRatePlans (RatePlanId),
    CONSTRAINT CK_BillingAccounts_TenantId CHECK (TenantId >= 0)
);
