-- kind: role
-- requires: dbo
-- The administrator role of this database: every tenant's rows, every procedure, the operations
-- (index builds, projections, model ingestion, backups). Its name carries the database's,
-- <database>_admin, as on PostgreSQL (where roles are server-wide): one rule on both engines, and a
-- restore under another name does not inherit the old roles' meaning.
-- Logins become members through python -m deployer grant (a database user for the login).
{% set role_kind = "admin" %}
{% include "prerequisites/_role.mssql.sql" %}
