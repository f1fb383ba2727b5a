-- kind: role
-- requires: dbo
-- The reporting role: SELECT on the tenant-owned tables and the monitoring views, filtered to the
-- session's tenant by dbo.TenantAccessPolicy; no writes, no procedures. Name: <database>_reader.
-- Logins become members through python -m deployer grant (a database user for the login).
{% set role_kind = "reader" %}
{% include "prerequisites/_role.mssql.sql" %}
