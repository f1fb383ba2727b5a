-- kind: setting
-- requires: Database
-- engine-specific: Query Store is SQL Server's; PostgreSQL's loop reads pg_stat_statements
-- The autonomous loop reads statements, their plans (with the optimizer's missing-index groups)
-- and their run times from Query Store, with database-scoped permissions only, so it works inside
-- Service Broker activation. Turned on only when it is off: a DBA's own Query Store settings
-- (capture mode, size, a READ_ONLY they chose) are left as they are. Five-minute intervals: a cycle
-- compares the executions since the previous one (LOOP_INTERVAL_SECONDS) at that grain.
-- The statement is a constant run through EXEC: the T-SQL gate's parser (sqlfluff) does not know
-- Query Store's option list; nothing is concatenated into it.
IF EXISTS (SELECT 1 FROM sys.database_query_store_options WHERE actual_state = 0)
BEGIN
    EXEC (N'ALTER DATABASE CURRENT SET QUERY_STORE = ON
              (OPERATION_MODE = READ_WRITE, QUERY_CAPTURE_MODE = AUTO, INTERVAL_LENGTH_MINUTES = 5);');
END;
