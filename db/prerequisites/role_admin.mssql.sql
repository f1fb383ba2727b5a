-- kind: role
-- requires: dbo
-- The administrator role of this database: every tenant's rows, every procedure, the operations
-- (index builds, projections, model ingestion, backups). Its name carries the database's,
-- <database>_admin, as on PostgreSQL (where roles are server-wide): one rule on both engines, and a
-- restore under another name does not inherit the old roles' meaning.
-- Logins become members through python -m deployer grant (a database user for the login).
DECLARE @Role SYSNAME = {{ (database_name ~ '_admin') | tsql_string }};
IF EXISTS (SELECT 1 FROM sys.database_principals WHERE name = @Role AND type <> 'R')
BEGIN
    -- someone's user has the name: never take it for this database's role
    DECLARE @Message NVARCHAR(2048) = CONCAT(N'role ', @Role,
        N': a user of that name exists in this database; the database''s roles need the name');
    THROW 50037, @Message, 1;
END;
IF DATABASE_PRINCIPAL_ID(@Role) IS NULL
BEGIN
    CREATE ROLE {{ (database_name ~ '_admin') | tsql_identifier }} AUTHORIZATION dbo;
END;
