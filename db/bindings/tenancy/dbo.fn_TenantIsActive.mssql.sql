-- kind: function
-- requires: dbo.TenantSecurityPolicy, role_app, role_reader
-- Whether tenant @TenantId is active (one row, IsActive): not suspended in dbo.TenantSecurityPolicy
-- (a tenant without a row is active). Row-level security asks it for the session's tenant, so a
-- suspended tenant's readers see nothing, as its procedures refuse. Inline and schema-bound, so the
-- predicates can build on it.
{% set unbind = ['dbo.fn_AtomAccessPredicate', 'dbo.fn_ModelAccessPredicate', 'dbo.fn_TensorAccessPredicate', 'dbo.fn_SegmentAccessPredicate', 'dbo.fn_SnapshotAccessPredicate', 'dbo.fn_TenantAccessPredicate'] %}
{% include "bindings/tenancy/_unbind_tenant_access.mssql.sql" %}
CREATE OR ALTER FUNCTION dbo.fn_TenantIsActive(@TenantId INT)
RETURNS TABLE
WITH SCHEMABINDING
AS
RETURN
SELECT CAST(CASE WHEN EXISTS (SELECT 1 FROM dbo.TenantSecurityPolicy AS p WHERE p.TenantId = @TenantId AND p.IsActive = 0)
                 THEN 0 ELSE 1 END AS BIT) AS IsActive;
