-- dbo.sp_ArchiveBillingUsage: line items of closed months move to dbo.BillingUsageLedger with their
-- LedgerId, the current month's stay; a date past the current month's first day is refused (50041).
-- NoTransaction, in a transaction of the test's own rolled back before asserting (the ledger is
-- memory-optimized: see test_sp_ChargeUsage).
EXEC tSQLt.NewTestClass 'test_sp_ArchiveBillingUsage';
GO

--[@tSQLt:NoTransaction]('test_fixtures.RollbackOpen')
CREATE PROCEDURE test_sp_ArchiveBillingUsage.[test closed months move and the current month stays]
AS
BEGIN
    DECLARE @MonthStart DATETIME2(3) = DATEFROMPARTS(YEAR(SYSUTCDATETIME()), MONTH(SYSUTCDATETIME()), 1);
    DECLARE @Old BIGINT, @Moved INT, @Left INT;
    BEGIN TRANSACTION;
    BEGIN TRY
        INSERT INTO dbo.BillingUsageLedger_InMemory (TenantId, PrincipalId, Operation, Units, BaseRate, TotalCost, RecordedAt)
        VALUES (424242, N'tsqlt-old', 'search', 7, 0.1, 0.7, DATEADD(DAY, -3, @MonthStart));
        SET @Old = SCOPE_IDENTITY();
        INSERT INTO dbo.BillingUsageLedger_InMemory (TenantId, PrincipalId, Operation, Units, BaseRate, TotalCost)
        VALUES (424242, N'tsqlt-now', 'search', 1, 0.1, 0.1);
        EXEC dbo.sp_ArchiveBillingUsage;
        SET @Moved = (SELECT COUNT(*) FROM dbo.BillingUsageLedger WHERE LedgerId = @Old AND PrincipalId = N'tsqlt-old');
        SET @Left = (SELECT COUNT(*) FROM dbo.BillingUsageLedger_InMemory WHERE TenantId = 424242);
        ROLLBACK TRANSACTION;
    END TRY
    BEGIN CATCH
        IF @@TRANCOUNT > 0 ROLLBACK TRANSACTION;
        THROW;
    END CATCH;
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @Moved;
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @Left;
END;
GO

--[@tSQLt:NoTransaction]('test_fixtures.RollbackOpen')
CREATE PROCEDURE test_sp_ArchiveBillingUsage.[test a date past the first day of the current month is refused (50041)]
AS
BEGIN
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 50041;
    EXEC dbo.sp_ArchiveBillingUsage @Before = '2999-01-01';
END;
GO
