-- kind: procedure
-- requires: dbo.BillingUsageLedger_InMemory, dbo.BillingUsageLedger
-- Move the billing line items recorded before @Before (a date, UTC; default: the first day of the
-- current month) from the memory-optimized dbo.BillingUsageLedger_InMemory to the disk-based
-- dbo.BillingUsageLedger, in one transaction (a line item is in exactly one of them), and return
-- how many moved (one row, ArchivedRows). The current month stays in memory, where charges are
-- written; run it monthly so memory holds one month. For administrators and the system principal.
-- Both statements read the memory-optimized table at the transaction's snapshot (WITH (SNAPSHOT)),
-- so they see the same rows; the procedure's own transaction is READ COMMITTED whatever the session's.
CREATE OR ALTER PROCEDURE dbo.sp_ArchiveBillingUsage
    @Before DATE = NULL
AS
BEGIN
    SET NOCOUNT ON;
    SET XACT_ABORT ON;
    SET TRANSACTION ISOLATION LEVEL READ COMMITTED;  -- (reset when the procedure returns)
    DECLARE @Now DATETIME2(3) = SYSUTCDATETIME();
    DECLARE @MonthStart DATE = DATEFROMPARTS(YEAR(@Now), MONTH(@Now), 1);
    DECLARE @Cutoff DATETIME2(3), @Moved BIGINT, @Message NVARCHAR(2048);
    SET @Before = COALESCE(@Before, @MonthStart);
    IF @Before > @MonthStart
    BEGIN
        SET @Message = CONCAT(N'sp_ArchiveBillingUsage: Before must be on or before ', CONVERT(NCHAR(10), @MonthStart, 23),
                              N' (the first day of the current month, UTC): the current month stays in dbo.BillingUsageLedger_InMemory');
        THROW 50041, @Message, 1;
    END;
    SET @Cutoff = CAST(@Before AS DATETIME2(3));
    BEGIN TRANSACTION;
        INSERT INTO dbo.BillingUsageLedger (LedgerId, TenantId, PrincipalId, Operation, Units, BaseRate, TotalCost, Source, RecordedAt)
        SELECT LedgerId, TenantId, PrincipalId, Operation, Units, BaseRate, TotalCost, Source, RecordedAt
        FROM dbo.BillingUsageLedger_InMemory WITH (SNAPSHOT)
        WHERE RecordedAt < @Cutoff;
        SET @Moved = @@ROWCOUNT;
        DELETE FROM dbo.BillingUsageLedger_InMemory WITH (SNAPSHOT) WHERE RecordedAt < @Cutoff;
        IF @@ROWCOUNT <> @Moved
            THROW 50042, N'sp_ArchiveBillingUsage: the ledger changed while it was archived; nothing was moved', 1;
    COMMIT TRANSACTION;
    SELECT @Moved AS ArchivedRows;
END;
