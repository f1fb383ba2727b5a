-- kind: table
-- requires: dbo
-- Billing rate plans (seed 003's BillingRatePlans): a named plan and its currency. What a plan
-- charges and allows per operation is in dbo.BillingRates; which plan a tenant is on, in
-- dbo.BillingAccounts.
IF OBJECT_ID(N'dbo.BillingRatePlans', N'U') IS NULL
BEGIN
    CREATE TABLE dbo.BillingRatePlans (
        RatePlanId INT           IDENTITY(1, 1) NOT NULL,
        PlanName   NVARCHAR(100) NOT NULL,
        Currency   CHAR(3)       NOT NULL CONSTRAINT DF_BillingRatePlans_Currency DEFAULT ('USD'),
        CreatedAt  DATETIME2(3)  NOT NULL CONSTRAINT DF_BillingRatePlans_CreatedAt DEFAULT (SYSUTCDATETIME()),
        CONSTRAINT PK_BillingRatePlans PRIMARY KEY CLUSTERED (RatePlanId),
        CONSTRAINT UQ_BillingRatePlans_PlanName UNIQUE (PlanName),
        CONSTRAINT CK_BillingRatePlans_PlanName CHECK (LEN(PlanName) >= 1)
    );
END;
