DECLARE @Database SYSNAME = N'HartonomousCopy', @File NVARCHAR(4000) = N'D:\Backup\h.bak';
IF DB_ID(@Database) IS NULL
    THROW 50090, N'backup: there is no database HartonomousCopy on this server', 1;
BACKUP DATABASE @Database TO DISK = @File WITH COPY_ONLY, CHECKSUM, INIT, FORMAT, STATS = 10;
