-- kind: check
-- requires: Database
-- engine-specific: SQL Server's database compatibility level; PostgreSQL has no such setting
-- OPENJSON (every procedure that takes JSON) needs level 130; from 150, dbo.fn_TensorChunk is
-- inlined into its callers' plans. A database restored or attached from an older server keeps its
-- old level: ALTER DATABASE ... SET COMPATIBILITY_LEVEL = 150 (or the server's own) fixes it.
SET NOCOUNT ON;
SELECT N'compatibility level 130 or higher' AS CheckName,
       CAST(CASE WHEN d.compatibility_level >= 130 THEN 1 ELSE 0 END AS BIT) AS Passed,
       CONCAT(N'sys.databases.compatibility_level for ', DB_NAME(), N': ', d.compatibility_level,
              CASE WHEN d.compatibility_level < 150 THEN N' (below 150: scalar functions are not inlined)' ELSE N'' END) AS Detail
FROM sys.databases AS d
WHERE d.database_id = DB_ID();
