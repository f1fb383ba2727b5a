-- kind: function
-- requires: dbo.WeightSnapshots, dbo.fn_TenantAccessPredicate, role_app, role_reader
-- engine-specific: a SQL Server security policy takes a predicate function for each table shape; PostgreSQL writes the same condition into the policy (dbo.TenantAccessPolicy)
-- Row-level security for a weight snapshot's chunk map (dbo.WeightSnapshotChunks): visible and writable when the parent's tenant is, by
-- dbo.fn_TenantAccessPredicate. Schema-bound, as dbo.TenantAccessPolicy needs it; altering it drops
-- the policy first (denying the tenant roles meanwhile), and the publish re-creates the policy after.
{% set unbind = [] %}
{% include "bindings/tenancy/_unbind_tenant_access.mssql.sql" %}
CREATE OR ALTER FUNCTION dbo.fn_SnapshotAccessPredicate(@SnapshotId INT)
RETURNS TABLE
WITH SCHEMABINDING
AS
RETURN
SELECT 1 AS Allowed
FROM dbo.WeightSnapshots AS s
CROSS APPLY dbo.fn_TenantAccessPredicate(s.TenantId) AS t
WHERE s.SnapshotId = @SnapshotId;
