-- kind: function
-- requires: dbo.BillingUsageLedger_InMemory, dbo.BillingUsageLedger
-- Move the billing line items recorded before Before (a date, UTC; default: the first day of the
-- current month) from dbo.BillingUsageLedger_InMemory to dbo.BillingUsageLedger, in one transaction
-- (a line item is in exactly one of them), and return how many moved. The current month stays
-- where charges are written. For administrators and the system principal (a monthly task), which
-- hold no privilege on the ledgers themselves: it runs as its owner.
-- A function on PostgreSQL (it returns a row): SELECT * FROM dbo.sp_ArchiveBillingUsage().
CREATE OR REPLACE FUNCTION dbo.sp_ArchiveBillingUsage(Before date DEFAULT NULL)
RETURNS TABLE (ArchivedRows bigint)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = dbo, public, pg_temp
AS $$
DECLARE
    month_start constant date := date_trunc('month', now() AT TIME ZONE 'UTC')::date;
    moved bigint;
BEGIN
    Before := coalesce(Before, month_start);
    IF Before > month_start THEN
        RAISE EXCEPTION 'sp_ArchiveBillingUsage: Before must be on or before % (the first day of the current month, UTC): the current month stays in dbo.BillingUsageLedger_InMemory',
            month_start USING ERRCODE = '22023';
    END IF;
    WITH archived AS (
        DELETE FROM dbo.BillingUsageLedger_InMemory l
        WHERE l.RecordedAt < (Before::timestamp AT TIME ZONE 'UTC')
        RETURNING l.LedgerId, l.TenantId, l.PrincipalId, l.Operation, l.Units, l.BaseRate, l.TotalCost, l.Source, l.RecordedAt
    )
    INSERT INTO dbo.BillingUsageLedger (LedgerId, TenantId, PrincipalId, Operation, Units, BaseRate, TotalCost, Source, RecordedAt)
    SELECT * FROM archived;
    GET DIAGNOSTICS moved = ROW_COUNT;
    RETURN QUERY SELECT moved;
END
$$;
