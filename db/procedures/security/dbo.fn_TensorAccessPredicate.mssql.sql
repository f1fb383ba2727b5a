-- kind: function
-- requires: dbo.ModelTensors, dbo.Models, dbo.fn_TenantAccessPredicate, role_app, role_reader
-- engine-specific: a SQL Server security policy takes a predicate function for each table shape; PostgreSQL writes the same condition into the policy (dbo.TenantAccessPolicy)
-- Row-level security for a tensor's chunk map (dbo.ModelTensorChunks and its history): visible and writable when the parent's tenant is, by
-- dbo.fn_TenantAccessPredicate. Schema-bound, as dbo.TenantAccessPolicy needs it; altering it drops
-- the policy first (denying the tenant roles meanwhile), and the publish re-creates the policy after.
{% set unbind = [] %}
{% include "bindings/tenancy/_unbind_tenant_access.mssql.sql" %}
CREATE OR ALTER FUNCTION dbo.fn_TensorAccessPredicate(@TensorId BIGINT)
RETURNS TABLE
WITH SCHEMABINDING
AS
RETURN
SELECT 1 AS Allowed
FROM dbo.ModelTensors AS mt
INNER JOIN dbo.Models AS m ON m.ModelId = mt.ModelId
CROSS APPLY dbo.fn_TenantAccessPredicate(m.TenantId) AS t
WHERE mt.TensorId = @TensorId;
