-- kind: view
-- requires: dbo.BillingUsagePeriods, dbo.BillingAccounts, dbo.BillingRatePlans, dbo.BillingRates
-- Each tenant's usage per calendar month (UTC) and operation: units, calls, cost, and the quota of
-- the plan the tenant is on now with what is left of it (NULL: no quota). The security policy
-- filters dbo.BillingUsagePeriods for the querying user (its tenant's months only); a reader is
-- granted this view only (ownership chaining reads the rest), so other tenants' plans stay hidden.
CREATE OR ALTER VIEW dbo.vw_BillingUsage AS
SELECT p.TenantId,
       p.PeriodStart,
       p.Operation,
       p.Units,
       p.Calls,
       p.Cost,
       pl.Currency,
       pl.PlanName,
       r.MonthlyQuotaUnits,
       CASE WHEN r.MonthlyQuotaUnits > p.Units THEN r.MonthlyQuotaUnits - p.Units
            WHEN r.MonthlyQuotaUnits IS NOT NULL THEN CAST(0 AS BIGINT) END AS RemainingUnits,
       p.LastChargedAt
FROM dbo.BillingUsagePeriods AS p
LEFT JOIN dbo.BillingAccounts AS a ON a.TenantId = p.TenantId
LEFT JOIN dbo.BillingRatePlans AS pl ON pl.RatePlanId = a.RatePlanId
LEFT JOIN dbo.BillingRates AS r ON r.RatePlanId = a.RatePlanId AND r.Operation = p.Operation;
