-- kind: setting
-- context: server
-- requires: Database
-- engine-specific: Service Broker is SQL Server's; PostgreSQL uses queue tables dispatched by pg_cron
-- The OODA loop's queues need the broker. ROLLBACK IMMEDIATE: enabling it needs the database to itself.
IF EXISTS (
    SELECT 1 FROM sys.databases
    WHERE name = {{ database_name | tsql_string }} AND is_broker_enabled = 0
)
BEGIN
    ALTER DATABASE {{ database_name | tsql_identifier }} SET ENABLE_BROKER WITH ROLLBACK IMMEDIATE;
END;
