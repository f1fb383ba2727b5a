-- kind: schema
-- requires: Database
IF SCHEMA_ID(N'dbo') IS NULL
BEGIN
    EXEC (N'CREATE SCHEMA dbo AUTHORIZATION dbo');
END;
