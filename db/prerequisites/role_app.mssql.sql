-- kind: role
-- requires: dbo
-- The application role: EXECUTE on the tenant procedures (ownership chaining reaches the tables),
-- EXECUTE ANY EXTERNAL SCRIPT for the Python they run, no table permission at all; its sessions see
-- one tenant. Name: <database>_app.
-- Logins become members through python -m deployer grant (a database user for the login).
{% set role_kind = "app" %}
{% include "prerequisites/_role.mssql.sql" %}
