-- kind: function
-- requires: dbo.Atoms, dbo.fn_TenantAccessPredicate, role_app, role_reader
-- engine-specific: a SQL Server security policy takes a predicate function for each table shape; PostgreSQL writes the same condition into the policy (dbo.TenantAccessPolicy)
-- Row-level security for an atom's rows (dbo.AtomEmbeddings): visible and writable when the parent's tenant is, by
-- dbo.fn_TenantAccessPredicate. Schema-bound, as dbo.TenantAccessPolicy needs it; altering it drops
-- the policy first (denying the tenant roles meanwhile), and the publish re-creates the policy after.
{% set unbind = [] %}
{% include "bindings/tenancy/_unbind_tenant_access.mssql.sql" %}
CREATE OR ALTER FUNCTION dbo.fn_AtomAccessPredicate(@AtomId BIGINT)
RETURNS TABLE
WITH SCHEMABINDING
AS
RETURN
SELECT 1 AS Allowed
FROM dbo.Atoms AS a
CROSS APPLY dbo.fn_TenantAccessPredicate(a.TenantId) AS t
WHERE a.AtomId = @AtomId;
