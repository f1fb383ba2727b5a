-- kind: table
-- requires: dbo
-- The billing ledger's closed months (seed 003's BillingUsageLedger): the line items
-- dbo.sp_ArchiveBillingUsage moved out of the memory-optimized dbo.BillingUsageLedger_InMemory, with
-- their LedgerId, so memory holds the current month only. Admin-only, as the current ledger is.
IF OBJECT_ID(N'dbo.BillingUsageLedger', N'U') IS NULL
BEGIN
    CREATE TABLE dbo.BillingUsageLedger (
        LedgerId    BIGINT         NOT NULL,
        TenantId    INT            NOT NULL,
        PrincipalId NVARCHAR(128)  NOT NULL,
        Operation   VARCHAR(32)    NOT NULL,
        Units       BIGINT         NOT NULL,
        BaseRate    DECIMAL(19, 9) NOT NULL,
        TotalCost   DECIMAL(19, 9) NOT NULL,
        Source      NVARCHAR(128)  NULL,
        RecordedAt  DATETIME2(3)   NOT NULL,
        ArchivedAt  DATETIME2(3)   NOT NULL CONSTRAINT DF_BillingUsageLedger_ArchivedAt DEFAULT (SYSUTCDATETIME()),
        CONSTRAINT PK_BillingUsageLedger PRIMARY KEY CLUSTERED (LedgerId)
    );
    CREATE INDEX IX_BillingUsageLedger_Tenant ON dbo.BillingUsageLedger (TenantId, RecordedAt);
END;
