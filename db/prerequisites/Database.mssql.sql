-- kind: database
-- context: server
-- engine-specific: a PostgreSQL target names its database in the connection URL; the deployer creates it there when it is missing
IF DB_ID({{ database_name | tsql_string }}) IS NULL
BEGIN
    CREATE DATABASE {{ database_name | tsql_identifier }};
END;
