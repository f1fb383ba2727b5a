-- kind: table
-- requires: dbo
-- Each tenant's usage per operation and calendar month (UTC): the counter the quotas are checked
-- against, updated by dbo.sp_ChargeUsage in the transaction of the work it charges, so a call that
-- fails is not counted. Cost is the sum of each call's units times the rate of its moment.
CREATE TABLE IF NOT EXISTS dbo.BillingUsagePeriods (
    TenantId      integer        NOT NULL,
    PeriodStart   date           NOT NULL,
    Operation     text           NOT NULL,
    Units         bigint         NOT NULL DEFAULT 0,
    Cost          numeric(19, 9) NOT NULL DEFAULT 0,
    Calls         bigint         NOT NULL DEFAULT 0,
    LastChargedAt timestamptz    NOT NULL DEFAULT now(),
    CONSTRAINT PK_BillingUsagePeriods PRIMARY KEY (TenantId, PeriodStart, Operation),
    CONSTRAINT CK_BillingUsagePeriods_Operation CHECK (Operation IN ('embedding', 'search', 'generated_token', 'ingested_byte')),
    CONSTRAINT CK_BillingUsagePeriods_Amounts CHECK (Units >= 0 AND Cost >= 0 AND Calls >= 0)
);
