-- kind: check
-- requires: ExternalScriptsEnabled, ServiceBroker
-- engine-specific: SQL Server server and database settings; PostgreSQL has verify_extensions
SET NOCOUNT ON;
SELECT N'external scripts enabled' AS CheckName,
       CAST(CASE WHEN EXISTS (SELECT 1 FROM sys.configurations
                              WHERE name = N'external scripts enabled' AND value_in_use = 1)
                 THEN 1 ELSE 0 END AS BIT) AS Passed,
       N'sys.configurations: external scripts enabled, value_in_use' AS Detail
UNION ALL
SELECT N'Service Broker enabled',
       CAST(CASE WHEN EXISTS (SELECT 1 FROM sys.databases WHERE database_id = DB_ID() AND is_broker_enabled = 1)
                 THEN 1 ELSE 0 END AS BIT),
       CONCAT(N'sys.databases.is_broker_enabled for ', DB_NAME());
