-- kind: schema
-- requires: Database
IF SCHEMA_ID(N'provenance') IS NULL
BEGIN
    EXEC (N'CREATE SCHEMA provenance AUTHORIZATION dbo');
END;
