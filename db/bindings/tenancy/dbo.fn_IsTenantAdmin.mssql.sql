-- kind: function
-- requires: dbo, role_admin, role_app, role_reader
-- Whether this session's user may see and act for every tenant (one row, IsAdmin): a member of
-- <database>_admin, or of db_owner (dbo, and sysadmins, who enter the database as dbo). USER_NAME()
-- and IS_MEMBER read the caller inside a procedure too: ownership chaining does not change them.
-- Inline and schema-bound, so the row-level security predicates can build on it.
{% set unbind = ['dbo.fn_AtomAccessPredicate', 'dbo.fn_ModelAccessPredicate', 'dbo.fn_TensorAccessPredicate', 'dbo.fn_SegmentAccessPredicate', 'dbo.fn_SnapshotAccessPredicate', 'dbo.fn_TenantAccessPredicate', 'dbo.fn_SessionTenant'] %}
{% include "bindings/tenancy/_unbind_tenant_access.mssql.sql" %}
CREATE OR ALTER FUNCTION dbo.fn_IsTenantAdmin()
RETURNS TABLE
WITH SCHEMABINDING
AS
RETURN
SELECT CAST(CASE WHEN IS_MEMBER({{ (database_name ~ '_admin') | tsql_string }}) = 1 OR IS_MEMBER(N'db_owner') = 1
                      OR DATABASE_PRINCIPAL_ID() = 1  -- dbo: IS_MEMBER's documentation says it answers 0 for dbo
                 THEN 1 ELSE 0 END AS BIT) AS IsAdmin;
