-- kind: procedure
-- requires: dbo.BillingAccounts, dbo.BillingRates, dbo.BillingUsagePeriods, dbo.BillingUsageLedger_InMemory
-- Meter @Units of @Operation (dbo.BillingRates lists them) for @TenantId, in the transaction of the
-- work being charged: the month's counter (dbo.BillingUsagePeriods) and a line item
-- (dbo.BillingUsageLedger_InMemory) commit with the work or not at all, so a failed call is never
-- charged and a charged call never lost. Past the tenant's monthly quota it refuses (THROW 50038;
-- PostgreSQL 53400) and, under XACT_ABORT, the caller's transaction rolls back with it. Concurrent
-- charges of one tenant and operation take turns on an application lock held to the end of the
-- transaction (sp_getapplock), so two of them never both pass the last unit and the month's first
-- two never both insert its row. @QuotaCheckOnly 1: refuse now, before the work, if @Units would
-- not fit; charge nothing (no transaction needed).
-- The ledger is read and written WITH (SNAPSHOT), the one isolation a memory-optimized table takes in
-- a READ COMMITTED, REPEATABLE READ or SERIALIZABLE transaction (a transaction the caller began at
-- SNAPSHOT isolation cannot reach memory-optimized tables at all: error 41332). Costs are computed
-- as DECIMAL(38, 9): BIGINT units times a DECIMAL(19, 9) rate would keep 8 decimals.
-- Called by the metered procedures only; no tenant role may execute it.
CREATE OR ALTER PROCEDURE dbo.sp_ChargeUsage
    @TenantId INT,
    @Operation VARCHAR(32),
    @Units BIGINT,
    @Source NVARCHAR(128),
    @QuotaCheckOnly BIT = 0
AS
BEGIN
    SET NOCOUNT ON;
    SET XACT_ABORT ON;
    DECLARE @Now DATETIME2(3) = SYSUTCDATETIME();
    DECLARE @Period DATE = DATEFROMPARTS(YEAR(@Now), MONTH(@Now), 1);
    DECLARE @Rate DECIMAL(19, 9), @Quota BIGINT, @Used BIGINT, @Message NVARCHAR(2048), @Lock INT;
    DECLARE @Resource NVARCHAR(255) = CONCAT(N'Hartonomous.Billing.', @TenantId, N'.', @Operation);
    IF @Units IS NULL OR @Units < 0 OR @Units > 999999999999999999 OR @TenantId IS NULL OR @Operation IS NULL
        THROW 50039, N'sp_ChargeUsage: TenantId, Operation and Units (0 to 999999999999999999) are required', 1;
    IF @Units = 0
        RETURN;  -- nothing done, nothing charged (an ingest of content already stored)
    SELECT @Rate = r.UnitRate, @Quota = r.MonthlyQuotaUnits
    FROM dbo.BillingAccounts AS a
    INNER JOIN dbo.BillingRates AS r ON r.RatePlanId = a.RatePlanId AND r.Operation = @Operation
    WHERE a.TenantId = @TenantId;
    SET @Rate = COALESCE(@Rate, 0);
    IF @QuotaCheckOnly = 1 AND @Quota IS NULL
        RETURN;  -- no quota: nothing to check before the work
    IF @QuotaCheckOnly = 1
        SET @Used = COALESCE((SELECT p.Units FROM dbo.BillingUsagePeriods AS p
                              WHERE p.TenantId = @TenantId AND p.PeriodStart = @Period AND p.Operation = @Operation), 0);
    ELSE
    BEGIN
        IF @@TRANCOUNT = 0
            THROW 50039, N'sp_ChargeUsage: call it inside the transaction of the work it charges', 1;
        EXEC @Lock = sys.sp_getapplock @Resource = @Resource, @LockMode = N'Exclusive', @LockOwner = N'Transaction';
        IF @Lock < 0
            THROW 50039, N'sp_ChargeUsage: the billing counter''s lock was not granted', 1;
        UPDATE dbo.BillingUsagePeriods
        SET @Used = Units, Units = Units + @Units, Cost = Cost + CONVERT(DECIMAL(18, 0), @Units) * @Rate, Calls = Calls + 1, LastChargedAt = @Now
        WHERE TenantId = @TenantId AND PeriodStart = @Period AND Operation = @Operation;
        IF @@ROWCOUNT = 0
        BEGIN
            SET @Used = 0;
            INSERT INTO dbo.BillingUsagePeriods (TenantId, PeriodStart, Operation, Units, Cost, Calls, LastChargedAt)
            VALUES (@TenantId, @Period, @Operation, @Units, CONVERT(DECIMAL(18, 0), @Units) * @Rate, 1, @Now);
        END;
    END;
    IF @Quota IS NOT NULL AND @Used + @Units > @Quota
    BEGIN
        SET @Message = CONCAT(@Source, N': tenant ', @TenantId, N' has ', IIF(@Quota > @Used, @Quota - @Used, 0),
                              N' of its monthly quota of ', @Quota, N' ', @Operation, N' units left; this call needs ', @Units);
        THROW 50038, @Message, 1;
    END;
    IF @QuotaCheckOnly = 0
        INSERT INTO dbo.BillingUsageLedger_InMemory WITH (SNAPSHOT) (TenantId, PrincipalId, Operation, Units, BaseRate, TotalCost, Source)
        VALUES (@TenantId, USER_NAME(), @Operation, @Units, @Rate, CONVERT(DECIMAL(18, 0), @Units) * @Rate, @Source);
END;
