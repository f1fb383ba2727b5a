-- dbo.sp_ChargeUsage: a charge adds to the month's counter and writes a line item at the plan's
-- rate; past the monthly quota it refuses (50038); a quota check alone charges nothing; outside a
-- transaction it refuses (50039). The ledger is memory-optimized, and tSQLt's transaction (a
-- savepoint) cannot reach it: each test runs NoTransaction in a transaction of its own that it rolls
-- back itself before asserting (a procedure must end with the transaction count it began with), and
-- calls tSQLt.ExpectException before that transaction, whose rollback would take the expectation too.
EXEC tSQLt.NewTestClass 'test_sp_ChargeUsage';
GO

--[@tSQLt:NoTransaction]('test_fixtures.RollbackOpen')
CREATE PROCEDURE test_sp_ChargeUsage.[test a charge adds to the monthly counter and writes a line item]
AS
BEGIN
    DECLARE @Units BIGINT, @Cost DECIMAL(19, 9), @Calls BIGINT, @Items INT, @LineCost DECIMAL(19, 9);
    DECLARE @ExpectedCost DECIMAL(19, 9) = 1.0;  -- 4 units at 0.25 (AssertEquals compares sql_variants: same type)
    BEGIN TRANSACTION;
    BEGIN TRY
        EXEC test_fixtures.CreateRatePlan @TenantId = 424242, @PlanName = N'tsqlt-plan', @Operation = 'search',
            @UnitRate = 0.25, @MonthlyQuotaUnits = 10;
        EXEC dbo.sp_ChargeUsage @TenantId = 424242, @Operation = 'search', @Units = 3, @Source = N'tsqlt';
        EXEC dbo.sp_ChargeUsage @TenantId = 424242, @Operation = 'search', @Units = 1, @Source = N'tsqlt';
        SELECT @Units = Units, @Cost = Cost, @Calls = Calls
        FROM dbo.BillingUsagePeriods
        WHERE TenantId = 424242 AND Operation = 'search'
          AND PeriodStart = DATEFROMPARTS(YEAR(SYSUTCDATETIME()), MONTH(SYSUTCDATETIME()), 1);
        SELECT @Items = COUNT(*), @LineCost = SUM(TotalCost)
        FROM dbo.BillingUsageLedger_InMemory WHERE TenantId = 424242 AND Source = N'tsqlt';
        ROLLBACK TRANSACTION;
    END TRY
    BEGIN CATCH
        IF @@TRANCOUNT > 0 ROLLBACK TRANSACTION;
        THROW;
    END CATCH;
    EXEC tSQLt.AssertEquals @Expected = 4, @Actual = @Units;
    EXEC tSQLt.AssertEquals @Expected = @ExpectedCost, @Actual = @Cost;
    EXEC tSQLt.AssertEquals @Expected = 2, @Actual = @Calls;
    EXEC tSQLt.AssertEquals @Expected = 2, @Actual = @Items;
    EXEC tSQLt.AssertEquals @Expected = @ExpectedCost, @Actual = @LineCost;
END;
GO

--[@tSQLt:NoTransaction]('test_fixtures.RollbackOpen')
CREATE PROCEDURE test_sp_ChargeUsage.[test past the monthly quota it refuses (50038)]
AS
BEGIN
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 50038,
        @ExpectedMessage = N'sp_SemanticSearch: tenant 424242 has 0 of its monthly quota of 2 search units left; this call needs 1';
    BEGIN TRANSACTION;
    BEGIN TRY
        EXEC test_fixtures.CreateRatePlan @TenantId = 424242, @PlanName = N'tsqlt-plan', @Operation = 'search',
            @UnitRate = 0, @MonthlyQuotaUnits = 2;
        EXEC dbo.sp_ChargeUsage @TenantId = 424242, @Operation = 'search', @Units = 2, @Source = N'sp_SemanticSearch';
        EXEC dbo.sp_ChargeUsage @TenantId = 424242, @Operation = 'search', @Units = 1, @Source = N'sp_SemanticSearch';
        ROLLBACK TRANSACTION;
    END TRY
    BEGIN CATCH
        IF @@TRANCOUNT > 0 ROLLBACK TRANSACTION;
        THROW;
    END CATCH;
END;
GO

--[@tSQLt:NoTransaction]('test_fixtures.RollbackOpen')
CREATE PROCEDURE test_sp_ChargeUsage.[test a quota check alone charges nothing]
AS
BEGIN
    DECLARE @Rows INT;
    BEGIN TRANSACTION;
    BEGIN TRY
        EXEC test_fixtures.CreateRatePlan @TenantId = 424242, @PlanName = N'tsqlt-plan', @Operation = 'generated_token',
            @UnitRate = 0.01, @MonthlyQuotaUnits = 10;
        EXEC dbo.sp_ChargeUsage @TenantId = 424242, @Operation = 'generated_token', @Units = 10, @Source = N'tsqlt',
            @QuotaCheckOnly = 1;
        SET @Rows = (SELECT COUNT(*) FROM dbo.BillingUsagePeriods WHERE TenantId = 424242)
                  + (SELECT COUNT(*) FROM dbo.BillingUsageLedger_InMemory WHERE TenantId = 424242);
        ROLLBACK TRANSACTION;
    END TRY
    BEGIN CATCH
        IF @@TRANCOUNT > 0 ROLLBACK TRANSACTION;
        THROW;
    END CATCH;
    EXEC tSQLt.AssertEquals @Expected = 0, @Actual = @Rows;
END;
GO

--[@tSQLt:NoTransaction]('test_fixtures.RollbackOpen')
CREATE PROCEDURE test_sp_ChargeUsage.[test a quota check refuses what would not fit (50038)]
AS
BEGIN
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 50038,
        @ExpectedMessage = N'sp_GenerateText: tenant 424242 has 10 of its monthly quota of 10 generated_token units left; this call needs 11';
    BEGIN TRANSACTION;
    BEGIN TRY
        EXEC test_fixtures.CreateRatePlan @TenantId = 424242, @PlanName = N'tsqlt-plan', @Operation = 'generated_token',
            @UnitRate = 0.01, @MonthlyQuotaUnits = 10;
        EXEC dbo.sp_ChargeUsage @TenantId = 424242, @Operation = 'generated_token', @Units = 11,
            @Source = N'sp_GenerateText', @QuotaCheckOnly = 1;
        ROLLBACK TRANSACTION;
    END TRY
    BEGIN CATCH
        IF @@TRANCOUNT > 0 ROLLBACK TRANSACTION;
        THROW;
    END CATCH;
END;
GO

--[@tSQLt:NoTransaction]('test_fixtures.RollbackOpen')
CREATE PROCEDURE test_sp_ChargeUsage.[test outside a transaction it refuses (50039)]
AS
BEGIN
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 50039,
        @ExpectedMessage = N'sp_ChargeUsage: call it inside the transaction of the work it charges';
    EXEC dbo.sp_ChargeUsage @TenantId = 424242, @Operation = 'search', @Units = 1, @Source = N'tsqlt',
        @QuotaCheckOnly = 0;
END;
GO
