-- kind: table
-- requires: dbo
-- The billing ledger's closed months (seed 003's BillingUsageLedger): the line items
-- dbo.sp_ArchiveBillingUsage moved out of dbo.BillingUsageLedger_InMemory, with their LedgerId.
-- Admin-only, as the current ledger is.
CREATE TABLE IF NOT EXISTS dbo.BillingUsageLedger (
    LedgerId    bigint         NOT NULL,
    TenantId    integer        NOT NULL,
    PrincipalId text           NOT NULL,
    Operation   text           NOT NULL,
    Units       bigint         NOT NULL,
    BaseRate    numeric(19, 9) NOT NULL,
    TotalCost   numeric(19, 9) NOT NULL,
    Source      text           NULL,
    RecordedAt  timestamptz    NOT NULL,
    ArchivedAt  timestamptz    NOT NULL DEFAULT now(),
    CONSTRAINT PK_BillingUsageLedger PRIMARY KEY (LedgerId)
);
CREATE INDEX IF NOT EXISTS IX_BillingUsageLedger_Tenant ON dbo.BillingUsageLedger (TenantId, RecordedAt);
