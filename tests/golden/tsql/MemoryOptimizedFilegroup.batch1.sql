-- kind: setting
-- requires: Database
-- engine-specific: In-Memory OLTP is SQL Server's; PostgreSQL keeps the billing ledger in a plain table
-- The memory-optimized billing ledger (dbo.BillingUsageLedger_InMemory) needs a MEMORY_OPTIMIZED_DATA
-- filegroup with one container (a folder the server creates; its parent must exist). SQL Server on
-- Linux has In-Memory OLTP too, so this is never skipped.
-- MEMORY_OPTIMIZED_ELEVATE_TO_SNAPSHOT: a procedure charges usage inside its own transaction, which
-- also touches disk-based tables at READ COMMITTED; without the option such a transaction fails on
-- its first memory-optimized access (error 41368: use a SNAPSHOT table hint or this option).
IF NOT EXISTS (SELECT 1 FROM sys.filegroups WHERE type = N'FX')
BEGIN
    ALTER DATABASE [Hartonomous]
        ADD FILEGROUP HartonomousInMemory CONTAINS MEMORY_OPTIMIZED_DATA;
END;
IF NOT EXISTS (SELECT 1 FROM sys.database_files AS f
               INNER JOIN sys.filegroups AS g ON g.data_space_id = f.data_space_id
               WHERE g.type = N'FX')
BEGIN
    ALTER DATABASE [Hartonomous]
        ADD FILE (NAME = N'HartonomousInMemoryData', FILENAME = N'/var/opt/mssql/data/Hartonomous_InMemory')
        TO FILEGROUP HartonomousInMemory;
END;
IF EXISTS (SELECT 1 FROM sys.databases
           WHERE database_id = DB_ID() AND is_memory_optimized_elevate_to_snapshot_on = 0)
BEGIN
    ALTER DATABASE [Hartonomous] SET MEMORY_OPTIMIZED_ELEVATE_TO_SNAPSHOT = ON;
END;
