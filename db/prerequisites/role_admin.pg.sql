-- kind: role
-- requires: dbo
-- The administrator role of this database: every tenant's rows, every procedure, the operations
-- (index builds, projections, backups). PostgreSQL roles belong to the cluster, so the name carries
-- the database's: <database>_admin. Two databases on one server get two sets of roles, never one
-- shared set. NOLOGIN: logins are granted the role (python -m deployer grant), never log in as it.
{% set role_kind = "admin" %}
{% include "prerequisites/_role.pg.sql" %}
