-- kind: table
-- requires: dbo
-- Each tenant's usage per operation and calendar month (UTC): the counter the quotas are checked
-- against, updated by dbo.sp_ChargeUsage in the transaction of the work it charges, so a call that
-- fails is not counted. Cost is the sum of each call's units times the rate of its moment.
-- Disk-based on purpose: concurrent charges of one tenant wait for each other's row here, where a
-- memory-optimized counter would fail the second writer (write-write conflict, error 41302).
IF OBJECT_ID(N'dbo.BillingUsagePeriods', N'U') IS NULL
BEGIN
    CREATE TABLE dbo.BillingUsagePeriods (
        TenantId      INT            NOT NULL,
        PeriodStart   DATE           NOT NULL,
        Operation     VARCHAR(32)    NOT NULL,
        Units         BIGINT         NOT NULL CONSTRAINT DF_BillingUsagePeriods_Units DEFAULT (0),
        Cost          DECIMAL(19, 9) NOT NULL CONSTRAINT DF_BillingUsagePeriods_Cost DEFAULT (0),
        Calls         BIGINT         NOT NULL CONSTRAINT DF_BillingUsagePeriods_Calls DEFAULT (0),
        LastChargedAt DATETIME2(3)   NOT NULL CONSTRAINT DF_BillingUsagePeriods_LastChargedAt DEFAULT (SYSUTCDATETIME()),
        CONSTRAINT PK_BillingUsagePeriods PRIMARY KEY CLUSTERED (TenantId, PeriodStart, Operation),
        CONSTRAINT CK_BillingUsagePeriods_Operation CHECK (Operation IN ('embedding', 'search', 'generated_token', 'ingested_byte')),
        CONSTRAINT CK_BillingUsagePeriods_Amounts CHECK (Units >= 0 AND Cost >= 0 AND Calls >= 0)
    );
END;
