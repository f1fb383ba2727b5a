-- kind: check
-- requires: ServiceBroker
-- engine-specific: Service Broker is SQL Server's; PostgreSQL's queue tables need pg_cron, checked by verify_extensions
SET NOCOUNT ON;
SELECT N'Service Broker enabled' AS CheckName,
       CAST(CASE WHEN EXISTS (SELECT 1 FROM sys.databases WHERE database_id = DB_ID() AND is_broker_enabled = 1)
                 THEN 1 ELSE 0 END AS BIT) AS Passed,
       CONCAT(N'sys.databases.is_broker_enabled for ', DB_NAME()) AS Detail;
