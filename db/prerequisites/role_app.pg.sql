-- kind: role
-- requires: dbo
-- The application role: EXECUTE on the public procedures and functions, no table privileges at
-- all; its sessions see one tenant (dbo.fn_SessionTenant). Name: <database>_app (see <database>_admin).
{% set role_kind = "app" %}
{% include "prerequisites/_role.pg.sql" %}
