-- kind: procedure
-- requires: dbo.BillingAccounts, dbo.BillingRates, dbo.BillingUsagePeriods, dbo.BillingUsageLedger_InMemory
-- Meter Units of Operation (dbo.BillingRates lists them) for TenantId, in the transaction of the
-- work being charged: the month's counter (dbo.BillingUsagePeriods) and a line item
-- (dbo.BillingUsageLedger_InMemory) commit with the work or not at all, so a failed call is never
-- charged and a charged call never lost. Past the tenant's monthly quota it refuses (SQLSTATE
-- 53400; SQL Server 50038) and the caller's work rolls back with it; concurrent charges of one
-- tenant and operation wait for each other on the counter's row, so two of them never both pass the
-- last unit. QuotaCheckOnly: refuse now, before the work, if Units would not fit; charge nothing.
-- Called by the metered procedures only (no tenant role may call it): CALL dbo.sp_ChargeUsage(...).
CREATE OR REPLACE PROCEDURE dbo.sp_ChargeUsage(TenantId integer, Operation text, Units bigint, Source text,
                                               QuotaCheckOnly boolean DEFAULT false)
LANGUAGE plpgsql
SET search_path = dbo, public, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    period constant date := date_trunc('month', now() AT TIME ZONE 'UTC')::date;
    rate numeric(19, 9);
    quota bigint;
    used bigint;
BEGIN
    IF Units IS NULL OR Units < 0 OR Units > 999999999999999999 OR TenantId IS NULL OR Operation IS NULL THEN
        RAISE EXCEPTION 'sp_ChargeUsage: TenantId, Operation and Units (0 to 999999999999999999) are required' USING ERRCODE = '22023';
    END IF;
    IF Units = 0 THEN
        RETURN;  -- nothing done, nothing charged (an ingest of content already stored)
    END IF;
    SELECT r.UnitRate, r.MonthlyQuotaUnits INTO rate, quota
    FROM dbo.BillingAccounts a
    JOIN dbo.BillingRates r ON r.RatePlanId = a.RatePlanId AND r.Operation = sp_ChargeUsage.Operation
    WHERE a.TenantId = sp_ChargeUsage.TenantId;
    rate := coalesce(rate, 0);
    IF QuotaCheckOnly AND quota IS NULL THEN
        RETURN;  -- no quota: nothing to check before the work
    END IF;
    IF QuotaCheckOnly THEN
        SELECT p.Units INTO used FROM dbo.BillingUsagePeriods p
        WHERE p.TenantId = sp_ChargeUsage.TenantId AND p.PeriodStart = period AND p.Operation = sp_ChargeUsage.Operation;
        used := coalesce(used, 0);
    ELSE
        INSERT INTO dbo.BillingUsagePeriods AS p (TenantId, PeriodStart, Operation, Units, Cost, Calls)
        VALUES (TenantId, period, Operation, Units, Units * rate, 1)
        ON CONFLICT ON CONSTRAINT PK_BillingUsagePeriods DO UPDATE
            SET Units = p.Units + EXCLUDED.Units, Cost = p.Cost + EXCLUDED.Cost, Calls = p.Calls + 1, LastChargedAt = now()
        RETURNING p.Units - sp_ChargeUsage.Units INTO used;
    END IF;
    IF quota IS NOT NULL AND used + Units > quota THEN
        RAISE EXCEPTION '%: tenant % has % of its monthly quota of % % units left; this call needs %',
            Source, TenantId, greatest(quota - used, 0), quota, Operation, Units USING ERRCODE = '53400';
    END IF;
    IF NOT QuotaCheckOnly THEN
        INSERT INTO dbo.BillingUsageLedger_InMemory (TenantId, PrincipalId, Operation, Units, BaseRate, TotalCost, Source)
        VALUES (TenantId, session_user, Operation, Units, rate, Units * rate, Source);
    END IF;
END
$$;
