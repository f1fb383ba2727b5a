-- Altering a function the row-level security binds (SCHEMABINDING) needs what binds it gone first:
-- the security policy, then the predicate functions built on this one, top down. The publish
-- re-creates them right after: each requires this function, so it is re-applied with it. Until
-- then the tenant roles are denied (fail closed, also when the publish stops half way):
-- RolePermissions, re-applied at the end of every publish that changes anything, revokes the DENYs.
DENY SELECT ON SCHEMA::dbo TO {{ (database_name ~ '_reader') | tsql_identifier }};
DENY EXECUTE ON SCHEMA::dbo TO {{ (database_name ~ '_app') | tsql_identifier }};
IF OBJECT_ID(N'dbo.TenantAccessPolicy', N'SP') IS NOT NULL
    DROP SECURITY POLICY dbo.TenantAccessPolicy;
{% for bound in unbind %}DROP FUNCTION IF EXISTS {{ bound }};
{% endfor %}GO
