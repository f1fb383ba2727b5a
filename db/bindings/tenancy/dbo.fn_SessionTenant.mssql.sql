-- kind: function
-- requires: dbo.TenantPrincipals, dbo.fn_IsTenantAdmin, role_app, role_reader
-- The tenant this session acts for (one row, TenantId, NULL for none): the tenant it chose with
-- dbo.sp_SetSessionTenant (SESSION_CONTEXT N'TenantId', read-only once set; NULL once its user may no
-- longer act for it: never another tenant in the middle of a session), else, when the session chose
-- none, the one tenant its user is mapped to in dbo.TenantPrincipals.
-- Inline and schema-bound, so the row-level security predicates can build on it.
{% set unbind = ['dbo.fn_AtomAccessPredicate', 'dbo.fn_ModelAccessPredicate', 'dbo.fn_TensorAccessPredicate', 'dbo.fn_SegmentAccessPredicate', 'dbo.fn_SnapshotAccessPredicate', 'dbo.fn_TenantAccessPredicate'] %}
{% include "bindings/tenancy/_unbind_tenant_access.mssql.sql" %}
CREATE OR ALTER FUNCTION dbo.fn_SessionTenant()
RETURNS TABLE
WITH SCHEMABINDING
AS
RETURN
SELECT CASE WHEN SESSION_CONTEXT(N'TenantId') IS NOT NULL
            THEN (SELECT TRY_CAST(SESSION_CONTEXT(N'TenantId') AS INT)
                  FROM dbo.fn_IsTenantAdmin() AS a
                  WHERE a.IsAdmin = 1
                     OR EXISTS (SELECT 1 FROM dbo.TenantPrincipals AS p
                                WHERE p.PrincipalName = USER_NAME()
                                  AND p.TenantId = TRY_CAST(SESSION_CONTEXT(N'TenantId') AS INT)))
            ELSE (SELECT MIN(p.TenantId) FROM dbo.TenantPrincipals AS p WHERE p.PrincipalName = USER_NAME() HAVING COUNT(*) = 1)
       END AS TenantId;
