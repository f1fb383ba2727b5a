-- kind: function
-- engine-specific: SQL Server's measure of an index change, from Query Store (PostgreSQL's is dbo.fn_TableStatements, dbo.fn_StatementCounters and dbo.fn_MeanStatementMs over pg_stat_statements)
-- The mean duration (ms) of a table's statements between @Since and @Until (UTC; NULL: since Query
-- Store began, until now), and how many executions that is, from Query Store's runtime statistics: what
-- sp_Act records before an index change and sp_Learn measures after it. The statements are
-- @QueryIds (a JSON array of Query Store query_id: the ones an index was proposed for, or those
-- measured before the change, so before and after compare the same statements), or, when
-- @QueryIds is NULL, the @TableName statements of most total time in the window, at most 5.
-- QueryIds returns the statements measured, as a JSON array. MeanMs is NULL when none ran.
-- Only executions wholly inside the window count: a runtime-statistics row (one plan, one interval)
-- whose first execution ended before @Since holds executions from before it. avg_duration is in
-- microseconds; the mean is weighted by count_executions. Left out: internal queries, failed or
-- cancelled executions, and the loop's own statements (its phases and its functions'), which
-- would otherwise measure the loop. Database-scoped (VIEW DATABASE STATE): it works inside
-- Service Broker activation, where server-scoped DMVs are out of reach.
CREATE OR ALTER FUNCTION dbo.fn_TableStatementMs(
    @TableName NVARCHAR(128),
    @QueryIds NVARCHAR(MAX),
    @Since DATETIME2(3),
    @Until DATETIME2(3)
)
RETURNS TABLE
AS
RETURN
SELECT CASE WHEN SUM(m.Executions) > 0 THEN SUM(m.TotalUs) / SUM(m.Executions) / 1000.0 END AS MeanMs,
       COALESCE(SUM(m.Executions), 0) AS Calls,
       CONCAT(N'[', STRING_AGG(CAST(m.QueryId AS NVARCHAR(MAX)), N',') WITHIN GROUP (ORDER BY m.QueryId), N']') AS QueryIds
FROM (SELECT TOP (CASE WHEN @QueryIds IS NULL THEN 5 ELSE 2147483647 END) r.QueryId, r.TotalUs, r.Executions
      FROM (SELECT q.query_id AS QueryId,
                   SUM(rs.avg_duration * rs.count_executions) AS TotalUs,
                   SUM(rs.count_executions) AS Executions
            FROM sys.query_store_query AS q
            INNER JOIN sys.query_store_query_text AS t ON t.query_text_id = q.query_text_id
            INNER JOIN sys.query_store_plan AS p ON p.query_id = q.query_id
            INNER JOIN sys.query_store_runtime_stats AS rs ON rs.plan_id = p.plan_id
            INNER JOIN sys.query_store_runtime_stats_interval AS i ON i.runtime_stats_interval_id = rs.runtime_stats_interval_id
            WHERE rs.execution_type = 0
              AND q.is_internal_query = 0
              AND i.end_time > TODATETIMEOFFSET(COALESCE(@Since, CAST('0001-01-01' AS DATETIME2(3))), 0)
              AND i.start_time < TODATETIMEOFFSET(COALESCE(@Until, SYSUTCDATETIME()), 0)
              AND rs.first_execution_time >= TODATETIMEOFFSET(COALESCE(@Since, CAST('0001-01-01' AS DATETIME2(3))), 0)
              AND rs.last_execution_time <= TODATETIMEOFFSET(COALESCE(@Until, SYSUTCDATETIME()), 0)
              AND COALESCE(OBJECT_NAME(q.object_id), N'') NOT IN (
                  N'sp_Analyze', N'sp_Hypothesize', N'sp_Act', N'sp_Learn', N'sp_AutonomousImprovement',
                  N'sp_ProcessLoopMessages', N'sp_RebuildFragmentedIndexes', N'fn_AutonomousActionMetric', N'fn_TableStatementMs')
              AND ((@QueryIds IS NOT NULL
                    AND q.query_id IN (SELECT TRY_CAST(j.value AS BIGINT) FROM OPENJSON(@QueryIds) AS j))
                   OR (@QueryIds IS NULL
                       -- the table's name as a word of the text (a LIKE wildcard in the name taken literally)
                       AND CONCAT(N' ', t.query_sql_text, N' ') LIKE CONCAT(N'%[^A-Za-z0-9_#@$]',
                           REPLACE(REPLACE(REPLACE(@TableName, N'[', N'[[]'), N'_', N'[_]'), N'%', N'[%]'), N'[^A-Za-z0-9_#@$]%')))
            GROUP BY q.query_id) AS r
      ORDER BY r.TotalUs DESC, r.QueryId) AS m;
