-- kind: extension
-- engine-specific: PostgreSQL runs CREATE INDEX CONCURRENTLY, REINDEX CONCURRENTLY and VACUUM only as a session's top-level statement, never inside a procedure; SQL Server's procedures run ONLINE index operations themselves
-- The autonomous loop's online actions run in a second session of the procedure's owner, opened
-- with dblink to this database (dbo.sp_ExecuteOnlineActions). In a schema of its own that no role
-- but the owner may use: dblink reaches other servers, which no tenant role should.
CREATE SCHEMA IF NOT EXISTS dblink;
REVOKE ALL ON SCHEMA dblink FROM PUBLIC;
CREATE EXTENSION IF NOT EXISTS dblink SCHEMA dblink;
