-- kind: setting
-- requires: Database
-- engine-specific: FILESTREAM is SQL Server's; PostgreSQL keeps payloads in bytea
{% if filestream %}
-- Payloads (dbo.AtomPayloadStore) live in a FILESTREAM filegroup. The instance must allow it first:
-- sp_configure 'filestream access level', 2, and FILESTREAM enabled in SQL Server Configuration
-- Manager. SQL Server on Linux has no FILESTREAM: there, render with --skip-filestream (publish
-- does so by itself when it finds a Linux server).
-- (the path separator tells the platform, and any login may read it: sys.dm_os_host_info may not)
IF CONVERT(NCHAR(1), SERVERPROPERTY('PathSeparator')) = N'/'
    THROW 50010, N'FILESTREAM is not supported by SQL Server on Linux: render the script with --skip-filestream', 1;
IF COALESCE(CONVERT(INT, SERVERPROPERTY('FilestreamEffectiveLevel')), 0) < 2
    THROW 50011, N'FILESTREAM is off on this instance: enable it (Configuration Manager, sp_configure ''filestream access level'', 2) or render with --skip-filestream', 1;
IF NOT EXISTS (SELECT 1 FROM sys.filegroups WHERE name = N'HartonomousFilestream')
BEGIN
    ALTER DATABASE {{ database_name | tsql_identifier }}
        ADD FILEGROUP HartonomousFilestream CONTAINS FILESTREAM;
END;
IF NOT EXISTS (SELECT 1 FROM sys.database_files WHERE name = N'HartonomousFilestreamData')
BEGIN
    ALTER DATABASE {{ database_name | tsql_identifier }}
        ADD FILE (NAME = N'HartonomousFilestreamData', FILENAME = {{ filestream_path | tsql_string }})
        TO FILEGROUP HartonomousFilestream;
END;
{% else %}
-- --skip-filestream: payloads are stored as VARBINARY(MAX) rows; no filegroup is created.
PRINT N'FILESTREAM skipped (--skip-filestream)';
{% endif %}
