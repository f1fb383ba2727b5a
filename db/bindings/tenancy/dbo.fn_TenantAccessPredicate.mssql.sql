-- kind: function
-- requires: dbo.fn_SessionTenant, dbo.fn_IsTenantAdmin, dbo.fn_TenantIsActive, role_app, role_reader
-- The row-level security predicate (seed 003's name): a row of tenant @TenantId is visible and
-- writable when it is this session's tenant and that tenant is not suspended, or the session is an
-- administrator's. One row
-- (Allowed = 1) when allowed, none when not, as a security policy wants it.
{% set unbind = ['dbo.fn_AtomAccessPredicate', 'dbo.fn_ModelAccessPredicate', 'dbo.fn_TensorAccessPredicate', 'dbo.fn_SegmentAccessPredicate', 'dbo.fn_SnapshotAccessPredicate'] %}
{% include "bindings/tenancy/_unbind_tenant_access.mssql.sql" %}
CREATE OR ALTER FUNCTION dbo.fn_TenantAccessPredicate(@TenantId INT)
RETURNS TABLE
WITH SCHEMABINDING
AS
RETURN
SELECT 1 AS Allowed
FROM dbo.fn_SessionTenant() AS s
CROSS JOIN dbo.fn_IsTenantAdmin() AS a
CROSS APPLY dbo.fn_TenantIsActive(s.TenantId) AS t
WHERE (@TenantId = s.TenantId AND t.IsActive = 1) OR a.IsAdmin = 1;
