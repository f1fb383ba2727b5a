-- One role of this database, <database>_{{ role_kind }} (the role_<kind> objects include this):
-- created when missing; a user of the same name is refused, never taken over.
DECLARE @Role SYSNAME = {{ (database_name ~ '_' ~ role_kind) | tsql_string }};
IF EXISTS (SELECT 1 FROM sys.database_principals WHERE name = @Role AND type <> 'R')
BEGIN
    DECLARE @Message NVARCHAR(2048) = CONCAT(N'role ', @Role,
        N': a user of that name exists in this database; the database''s roles need the name');
    THROW 50037, @Message, 1;
END;
IF DATABASE_PRINCIPAL_ID(@Role) IS NULL
BEGIN
    CREATE ROLE {{ (database_name ~ '_' ~ role_kind) | tsql_identifier }} AUTHORIZATION dbo;
END;
