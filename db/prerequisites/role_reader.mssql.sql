-- kind: role
-- requires: dbo
-- The reporting role: SELECT on the tenant-owned tables and the monitoring views, filtered to the
-- session's tenant by dbo.TenantAccessPolicy; no writes, no procedures. Name: <database>_reader.
-- Logins become members through python -m deployer grant (a database user for the login).
DECLARE @Role SYSNAME = {{ (database_name ~ '_reader') | tsql_string }};
IF EXISTS (SELECT 1 FROM sys.database_principals WHERE name = @Role AND type <> 'R')
BEGIN
    -- someone's user has the name: never take it for this database's role
    DECLARE @Message NVARCHAR(2048) = CONCAT(N'role ', @Role,
        N': a user of that name exists in this database; the database''s roles need the name');
    THROW 50037, @Message, 1;
END;
IF DATABASE_PRINCIPAL_ID(@Role) IS NULL
BEGIN
    CREATE ROLE {{ (database_name ~ '_reader') | tsql_identifier }} AUTHORIZATION dbo;
END;
