-- kind: setting
-- requires: Database
-- engine-specific: FILESTREAM is SQL Server's; PostgreSQL keeps payloads in bytea

-- Payloads (dbo.AtomPayloadStore) live in a FILESTREAM filegroup. The instance must allow it first:
-- sp_configure 'filestream access level', 2 (Windows: also SQL Server Configuration Manager;
-- Linux: mssql-conf set filestream.filestreamaccesslevel 2). Skip with --skip-filestream.
IF NOT EXISTS (SELECT 1 FROM sys.filegroups WHERE name = N'HartonomousFilestream')
BEGIN
    ALTER DATABASE [Hartonomous]
        ADD FILEGROUP HartonomousFilestream CONTAINS FILESTREAM;
END;
IF NOT EXISTS (SELECT 1 FROM sys.database_files WHERE name = N'HartonomousFilestreamData')
BEGIN
    ALTER DATABASE [Hartonomous]
        ADD FILE (NAME = N'HartonomousFilestreamData', FILENAME = N'/var/opt/mssql/data/Hartonomous_Filestream')
        TO FILEGROUP HartonomousFilestream;
END;
