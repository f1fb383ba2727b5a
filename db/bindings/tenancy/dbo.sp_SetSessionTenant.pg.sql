-- kind: procedure
-- requires: dbo.TenantPrincipals, dbo.SessionTenants, dbo.fn_IsTenantAdmin
-- For an application login that serves several tenants: choose the tenant this session acts for,
-- once. The login must be mapped to it (dbo.TenantPrincipals) or be an administrator. Choosing again
-- the same tenant is a no-op; choosing another is refused, so code running later in the session
-- cannot switch tenants (SQL Server: sp_set_session_context @read_only = 1). A plain SET cannot
-- forge it: the choice is a row of dbo.SessionTenants that only this procedure writes, bound to
-- this backend. Like any write, it is undone if the caller's transaction rolls back.
CREATE OR REPLACE PROCEDURE dbo.sp_SetSessionTenant(TenantId integer)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    started timestamptz;
    chosen integer;
BEGIN
    IF sp_SetSessionTenant.TenantId IS NULL OR sp_SetSessionTenant.TenantId < 0 THEN
        RAISE EXCEPTION 'sp_SetSessionTenant: TenantId must be 0 or more' USING ERRCODE = '22023';
    END IF;
    IF NOT dbo.fn_IsTenantAdmin() AND NOT EXISTS (
            SELECT FROM dbo.TenantPrincipals p
            WHERE p.PrincipalName = session_user AND p.TenantId = sp_SetSessionTenant.TenantId) THEN
        RAISE EXCEPTION 'sp_SetSessionTenant: % may not act for tenant %', session_user, sp_SetSessionTenant.TenantId
            USING ERRCODE = '42501';
    END IF;
    SELECT a.backend_start INTO started FROM pg_stat_get_activity(pg_backend_pid()) a;
    SELECT s.TenantId INTO chosen FROM dbo.SessionTenants s
    WHERE s.BackendPid = pg_backend_pid() AND s.BackendStart = started;
    IF FOUND THEN
        IF chosen = sp_SetSessionTenant.TenantId THEN
            RETURN;
        END IF;
        RAISE EXCEPTION 'sp_SetSessionTenant: this session already acts for tenant %; a session''s tenant is set once (open a new session for another tenant)',
            chosen USING ERRCODE = '42501';
    END IF;
    -- this backend's row from an earlier backend with the same pid, and rows of ended backends
    DELETE FROM dbo.SessionTenants s
    WHERE s.BackendPid = pg_backend_pid()
       OR NOT EXISTS (SELECT FROM pg_stat_activity a WHERE a.pid = s.BackendPid AND a.backend_start = s.BackendStart);
    INSERT INTO dbo.SessionTenants (BackendPid, BackendStart, PrincipalName, TenantId)
    VALUES (pg_backend_pid(), started, session_user, sp_SetSessionTenant.TenantId);
END
$$;
