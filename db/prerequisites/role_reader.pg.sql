-- kind: role
-- requires: dbo
-- The reporting role: SELECT on the tenant-owned tables and the monitoring views, filtered to the
-- session's tenant by row-level security; no writes, no procedures. Name: <database>_reader.
{% set role_kind = "reader" %}
{% include "prerequisites/_role.pg.sql" %}
