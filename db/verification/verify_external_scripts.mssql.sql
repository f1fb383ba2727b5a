-- kind: check
-- requires: ExternalScriptsEnabled
-- engine-specific: SQL Server's Machine Learning Services setting; PostgreSQL has verify_extensions (plpython3u)
SET NOCOUNT ON;
SELECT N'external scripts enabled' AS CheckName,
       CAST(CASE WHEN EXISTS (SELECT 1 FROM sys.configurations
                              WHERE name = N'external scripts enabled' AND value_in_use = 1)
                 THEN 1 ELSE 0 END AS BIT) AS Passed,
       N'sys.configurations: external scripts enabled, value_in_use' AS Detail;
