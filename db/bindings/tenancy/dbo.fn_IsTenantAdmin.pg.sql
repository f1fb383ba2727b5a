-- kind: function
-- requires: dbo, role_admin
-- Whether this session's login may see and act for every tenant: a member of <database>_admin (or
-- a superuser). The principal is the login (session_user), not current_user: inside a SECURITY
-- DEFINER procedure current_user is the procedure's owner, and SET ROLE must not change a tenant.
CREATE OR REPLACE FUNCTION dbo.fn_IsTenantAdmin()
RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
SELECT coalesce((SELECT pg_has_role(session_user, r.oid, 'MEMBER') FROM pg_catalog.pg_roles r
                 WHERE r.rolname = current_database() || '_admin'), false)
    OR coalesce((SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = session_user), false)
$$;
