DECLARE @Database SYSNAME = N'HartonomousCopy', @File NVARCHAR(4000) = N'D:\Backup\h.bak',
        @DataName SYSNAME = N'Hartonomous', @LogName SYSNAME = N'Hartonomous_log',
        @DataFile NVARCHAR(4000) = N'D:\SQLData\h.mdf', @LogFile NVARCHAR(4000) = N'D:\SQLData\h_log.ldf',
        @InMemoryPath NVARCHAR(4000) = N'D:\SQLData\h_inmemory';
RESTORE DATABASE @Database FROM DISK = @File
    WITH MOVE @DataName TO @DataFile, MOVE @LogName TO @LogFile,
         MOVE N'HartonomousInMemoryData' TO @InMemoryPath, CHECKSUM, RECOVERY,
         NEW_BROKER, STATS = 10;
