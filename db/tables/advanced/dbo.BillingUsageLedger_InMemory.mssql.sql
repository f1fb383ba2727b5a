-- kind: table
-- requires: dbo, MemoryOptimizedFilegroup
-- autocommit: In-Memory OLTP DDL (CREATE, ALTER, DROP) is refused inside a user transaction (error 12331)
-- The billing ledger's current line items (seed 003's dbo.BillingUsageLedger_InMemory): one row per
-- charged call, written by dbo.sp_ChargeUsage in the transaction of the work it charges. Memory-
-- optimized and durable (SCHEMA_AND_DATA: a committed charge survives a restart), so inserts take
-- no latches or locks. dbo.sp_ArchiveBillingUsage moves closed months into dbo.BillingUsageLedger,
-- which keeps the memory it holds to the current month's rows.
-- The seed's INSERT (TenantId, PrincipalId, Operation, Units, BaseRate, TotalCost) runs as written:
-- a manual line item (a credit, a correction) that the quota counters (dbo.BillingUsagePeriods) do
-- not see.
-- Indexes: the line item's HASH primary key; for TenantId and Operation, which repeat in nearly
-- every row, a range index instead of the seed's HASH: a hash index over many duplicate keys grows
-- long bucket chains that slow every delete and the garbage collector (Microsoft's guidance on
-- choosing between hash and nonclustered indexes).
-- No security predicate: SQL Server takes only natively compiled predicates on memory-optimized
-- tables, so no tenant role is granted this table (on both engines); tenants read their usage in
-- dbo.vw_BillingUsage.
IF OBJECT_ID(N'dbo.BillingUsageLedger_InMemory', N'U') IS NULL
BEGIN
    CREATE TABLE dbo.BillingUsageLedger_InMemory (
        LedgerId    BIGINT         IDENTITY(1, 1) NOT NULL,
        TenantId    INT            NOT NULL,
        PrincipalId NVARCHAR(128)  NOT NULL CONSTRAINT DF_BillingUsageLedger_InMemory_PrincipalId DEFAULT (USER_NAME()),
        Operation   VARCHAR(32)    NOT NULL,
        Units       BIGINT         NOT NULL,
        BaseRate    DECIMAL(19, 9) NOT NULL,
        TotalCost   DECIMAL(19, 9) NOT NULL,
        Source      NVARCHAR(128)  NULL,
        RecordedAt  DATETIME2(3)   NOT NULL CONSTRAINT DF_BillingUsageLedger_InMemory_RecordedAt DEFAULT (SYSUTCDATETIME()),
        CONSTRAINT PK_BillingUsageLedger_InMemory PRIMARY KEY NONCLUSTERED HASH (LedgerId) WITH (BUCKET_COUNT = 1048576),
        INDEX IX_BillingUsageLedger_InMemory_Tenant NONCLUSTERED (TenantId, Operation, RecordedAt),
        INDEX IX_BillingUsageLedger_InMemory_RecordedAt NONCLUSTERED (RecordedAt)
    ) WITH (MEMORY_OPTIMIZED = ON, DURABILITY = SCHEMA_AND_DATA);
END;
