-- kind: role
-- requires: dbo
-- The system principal the autonomous loop runs as (issue #12 grants it what the loop needs).
-- It holds no tenant and no grant on tenant content today. Name: <database>_system.
{% set role_kind = "system" %}
{% include "prerequisites/_role.pg.sql" %}
