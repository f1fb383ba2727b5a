-- kind: function
-- requires: dbo.fn_SessionTenant, dbo.fn_IsTenantAdmin, dbo.TenantSecurityPolicy
-- The tenant a procedure works in, from its TenantId argument. NULL: the session's tenant (an
-- administrator without one works in tenant 0). A tenant id: accepted when it is the session's
-- tenant or the session is an administrator's; any other is refused (42501), never served. A
-- suspended tenant (dbo.TenantSecurityPolicy.IsActive false) is refused to all but administrators.
-- Caller names the procedure in the error.
CREATE OR REPLACE FUNCTION dbo.fn_ResolveTenant(TenantId integer, Caller text)
RETURNS integer
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    session_tenant constant integer := dbo.fn_SessionTenant();
    admin constant boolean := dbo.fn_IsTenantAdmin();
    resolved integer;
BEGIN
    IF fn_ResolveTenant.TenantId IS NULL THEN
        resolved := coalesce(session_tenant, CASE WHEN admin THEN 0 END);
        IF resolved IS NULL THEN
            RAISE EXCEPTION '%: this session acts for no tenant (map its login to one with python -m deployer grant, or call dbo.sp_SetSessionTenant)',
                Caller USING ERRCODE = '42501';
        END IF;
    ELSIF fn_ResolveTenant.TenantId < 0 THEN
        RAISE EXCEPTION '%: TenantId must be 0 or more', Caller USING ERRCODE = '22023';
    ELSIF fn_ResolveTenant.TenantId = session_tenant OR admin THEN
        resolved := fn_ResolveTenant.TenantId;
    ELSE
        RAISE EXCEPTION '%: tenant % is not this session''s tenant', Caller, fn_ResolveTenant.TenantId USING ERRCODE = '42501';
    END IF;
    IF NOT admin AND EXISTS (SELECT FROM dbo.TenantSecurityPolicy p WHERE p.TenantId = resolved AND NOT p.IsActive) THEN
        RAISE EXCEPTION '%: tenant % is suspended (dbo.TenantSecurityPolicy)', Caller, resolved USING ERRCODE = '42501';
    END IF;
    RETURN resolved;
END
$$;
