-- kind: schema
-- requires: Database
IF SCHEMA_ID(N'graph') IS NULL
BEGIN
    EXEC (N'CREATE SCHEMA graph AUTHORIZATION dbo');
END;
