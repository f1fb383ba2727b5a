-- kind: function
-- requires: dbo.TenantSecurityPolicy
-- Whether tenant TenantId is active: not suspended in dbo.TenantSecurityPolicy (a tenant without a
-- row is active). Row-level security asks it for the session's tenant, so a suspended tenant's
-- readers see nothing, as its procedures refuse. SECURITY DEFINER: tenant roles cannot read the
-- table themselves.
CREATE OR REPLACE FUNCTION dbo.fn_TenantIsActive(TenantId integer)
RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
SELECT NOT EXISTS (SELECT FROM dbo.TenantSecurityPolicy p WHERE p.TenantId = $1 AND NOT p.IsActive)
$$;
