-- kind: view
-- requires: dbo.BillingUsagePeriods, dbo.BillingAccounts, dbo.BillingRatePlans, dbo.BillingRates, dbo.fn_TenantAccessPredicate
-- Each tenant's usage per calendar month (UTC) and operation: units, calls, cost, and the quota of
-- the plan the tenant is on now with what is left of it (NULL: no quota).
-- Not security_invoker, unlike the monitoring views: a reader is granted this view and nothing it
-- reads (the rate plans of other tenants stay hidden), so the view filters with the row-level
-- security predicate itself, which asks about the session's login whoever owns the view.
CREATE OR REPLACE VIEW dbo.vw_BillingUsage AS
SELECT p.TenantId,
       p.PeriodStart,
       p.Operation,
       p.Units,
       p.Calls,
       p.Cost,
       pl.Currency,
       pl.PlanName,
       r.MonthlyQuotaUnits,
       CASE WHEN r.MonthlyQuotaUnits IS NOT NULL THEN greatest(r.MonthlyQuotaUnits - p.Units, 0) END AS RemainingUnits,
       p.LastChargedAt
FROM dbo.BillingUsagePeriods p
LEFT JOIN dbo.BillingAccounts a ON a.TenantId = p.TenantId
LEFT JOIN dbo.BillingRatePlans pl ON pl.RatePlanId = a.RatePlanId
LEFT JOIN dbo.BillingRates r ON r.RatePlanId = a.RatePlanId AND r.Operation = p.Operation
WHERE dbo.fn_TenantAccessPredicate(p.TenantId);
