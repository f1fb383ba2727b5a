-- kind: function
-- requires: dbo.fn_SessionTenant, dbo.fn_IsTenantAdmin, dbo.fn_TenantIsActive
-- The row-level security predicate (seed 003's name): a row of tenant TenantId is visible and
-- writable when it is this session's tenant and that tenant is not suspended, or the session is an
-- administrator's. The calls are sub-selects so a query evaluates them once, not once per row.
CREATE OR REPLACE FUNCTION dbo.fn_TenantAccessPredicate(TenantId integer)
RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
SELECT ($1 = (SELECT dbo.fn_SessionTenant()) AND (SELECT dbo.fn_TenantIsActive(dbo.fn_SessionTenant())))
    OR (SELECT dbo.fn_IsTenantAdmin())
$$;
