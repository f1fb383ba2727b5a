-- kind: function
-- requires: pg_stat_statements
-- engine-specific: pg_stat_statements' counters; SQL Server measures an index change with dbo.fn_TableStatementMs over Query Store
-- The cumulative calls and execution time (ms) of the given statements (pg_stat_statements query
-- ids, as text) in this database, as {"<queryid>": {"calls": n, "total_ms": t}}: two readings give
-- the mean time per call in between.
CREATE OR REPLACE FUNCTION dbo.fn_StatementCounters(QueryIds text[])
RETURNS jsonb
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = dbo, public, pg_temp
AS $$
    SELECT coalesce(jsonb_object_agg(q.queryid, jsonb_build_object('calls', q.calls, 'total_ms', q.total_ms)), '{}'::jsonb)
    FROM (SELECT s.queryid::text AS queryid, sum(s.calls) AS calls, sum(s.total_exec_time) AS total_ms
          FROM pg_stat_statements s
          WHERE s.dbid = (SELECT d.oid FROM pg_database d WHERE d.datname = current_database())
            AND s.queryid::text = ANY (QueryIds)
          GROUP BY s.queryid) q
$$;
