-- kind: role
-- requires: dbo
-- The system principal the autonomous loop runs as (issue #12 grants it what the loop needs).
-- It holds no tenant and no permission on tenant content today. Name: <database>_system.
-- Logins become members through python -m deployer grant (a database user for the login).
{% set role_kind = "system" %}
{% include "prerequisites/_role.mssql.sql" %}
