-- kind: function
-- requires: dbo.VectorIndexSegments, dbo.fn_TenantAccessPredicate, role_app, role_reader
-- engine-specific: a SQL Server security policy takes a predicate function for each table shape; PostgreSQL writes the same condition into the policy (dbo.TenantAccessPolicy)
-- Row-level security for a vector index segment's chunks (dbo.VectorIndexChunks): visible and writable when the parent's tenant is, by
-- dbo.fn_TenantAccessPredicate. Schema-bound, as dbo.TenantAccessPolicy needs it; altering it drops
-- the policy first (denying the tenant roles meanwhile), and the publish re-creates the policy after.
{% set unbind = [] %}
{% include "bindings/tenancy/_unbind_tenant_access.mssql.sql" %}
CREATE OR ALTER FUNCTION dbo.fn_SegmentAccessPredicate(@SegmentId BIGINT)
RETURNS TABLE
WITH SCHEMABINDING
AS
RETURN
SELECT 1 AS Allowed
FROM dbo.VectorIndexSegments AS s
CROSS APPLY dbo.fn_TenantAccessPredicate(s.TenantId) AS t
WHERE s.SegmentId = @SegmentId;
