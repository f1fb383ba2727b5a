-- kind: function
-- requires: dbo.TenantSecurityPolicy, dbo.fn_SessionTenant, dbo.fn_IsTenantAdmin
-- Whether tenant TenantId is active: not suspended in dbo.TenantSecurityPolicy (a tenant without a
-- row is active). Row-level security asks it for the session's tenant, so a suspended tenant's
-- readers see nothing, as its procedures refuse. SECURITY DEFINER: tenant roles cannot read the
-- table themselves; and it answers them (NULL) only about their own tenant, so it tells no one
-- whether another tenant exists or is suspended.
CREATE OR REPLACE FUNCTION dbo.fn_TenantIsActive(TenantId integer)
RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
SELECT CASE WHEN $1 = dbo.fn_SessionTenant() OR dbo.fn_IsTenantAdmin()
            THEN NOT EXISTS (SELECT FROM dbo.TenantSecurityPolicy p WHERE p.TenantId = $1 AND NOT p.IsActive)
       END
$$;
