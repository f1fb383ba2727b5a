-- kind: setting
-- context: server
-- engine-specific: server option of SQL Server Machine Learning Services; PostgreSQL runs Python through the plpython3u extension
-- Lets sp_execute_external_script run the package's Python (the role SQL CLR had in the seeds).
IF NOT EXISTS (
    SELECT 1 FROM sys.configurations
    WHERE name = N'external scripts enabled' AND value_in_use = 1
)
BEGIN
    EXEC sys.sp_configure N'external scripts enabled', 1;
    RECONFIGURE WITH OVERRIDE;
END;
