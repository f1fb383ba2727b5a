-- kind: function
-- requires: dbo.TenantPrincipals, dbo.SessionTenants, dbo.fn_IsTenantAdmin
-- The tenant this session acts for, or NULL: the tenant it chose with dbo.sp_SetSessionTenant
-- (NULL once its login may no longer act for it: never another tenant in the middle of a session),
-- else, when it chose none, the one tenant its login is mapped to in dbo.TenantPrincipals. SECURITY DEFINER: tenant roles cannot read either table themselves.
CREATE OR REPLACE FUNCTION dbo.fn_SessionTenant()
RETURNS integer
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
WITH chosen AS (
    SELECT s.TenantId FROM dbo.SessionTenants s
    WHERE s.BackendPid = pg_backend_pid()
      AND s.BackendStart = (SELECT a.backend_start FROM pg_stat_get_activity(pg_backend_pid()) a)
      AND s.PrincipalName = session_user
)
SELECT CASE WHEN EXISTS (SELECT FROM chosen)
            THEN (SELECT c.TenantId FROM chosen c
                  WHERE dbo.fn_IsTenantAdmin() OR EXISTS (SELECT FROM dbo.TenantPrincipals p
                                                          WHERE p.PrincipalName = session_user AND p.TenantId = c.TenantId))
            ELSE (SELECT min(p.TenantId) FROM dbo.TenantPrincipals p WHERE p.PrincipalName = session_user HAVING count(*) = 1)
       END
$$;
