-- kind: function
-- requires: pg_stat_statements, dbo.AutonomousSnapshots
-- engine-specific: pg_stat_statements' statement texts; SQL Server measures an index change with dbo.fn_TableStatementMs over Query Store
-- The single SELECT statements of this database that name a table, as pg_stat_statements recorded
-- them (a PREPARE's text without its PREPARE ... AS), most expensive since the previous cycle first: what sp_Hypothesize
-- plans with hypothetical indexes and what sp_Act measures an index change on. Statements with a
-- semicolon inside or a data-changing keyword are left out: their text is planned, never run, and
-- only ever as one statement. Only statements a superuser or a member of the package's roles ran,
-- and none calling a function without arguments (planning may evaluate it, as the owner).
CREATE OR REPLACE FUNCTION dbo.fn_TableStatements(TableName text, MaxStatements integer DEFAULT 5)
RETURNS TABLE (QueryId text, Query text, Calls bigint, TotalMs double precision)
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = dbo, public, pg_temp
AS $$
    SELECT q.queryid, q.query, q.calls, q.total_ms
    FROM (SELECT s.queryid::text AS queryid,
                 -- pg_stat_statements writes a typed literal's constant as a parameter (interval '10
                 -- minutes' becomes interval $2, which does not parse): a cast of the parameter instead
                 regexp_replace(regexp_replace(min(s.query), '^\s*prepare\s+\S+?\s*(\([^)]*\))?\s+as\s+', '', 'i'),
                                '\m(interval|timestamptz|timestamp|date|time|numeric|jsonb|json|uuid|bytea|boolean|bigint|integer|int|text)\s+\$([0-9]+)',
                                '$\2::\1', 'gi') AS query,
                 sum(s.calls)::bigint AS calls, sum(s.total_exec_time) AS total_ms
          FROM pg_stat_statements s
          JOIN pg_roles r ON r.oid = s.userid
          WHERE s.dbid = (SELECT d.oid FROM pg_database d WHERE d.datname = current_database())
            -- planned as this function's owner: only what a superuser or the package's roles ran,
            -- never another login's text, whose functions planning could evaluate
            AND (r.rolsuper OR pg_has_role(s.userid, current_database() || '_app', 'MEMBER')
                 OR pg_has_role(s.userid, current_database() || '_reader', 'MEMBER')
                 OR pg_has_role(s.userid, current_database() || '_system', 'MEMBER')
                 OR pg_has_role(s.userid, current_database() || '_admin', 'MEMBER'))
            AND s.query ~* ('\m' || TableName || '\M')
            AND s.query !~* '^\s*prepare\s+hartonomous_probe\M'  -- sp_Hypothesize's own planning
          GROUP BY s.queryid) q
    LEFT JOIN LATERAL (
        SELECT (s.Counters->>'total_ms')::double precision AS total_ms
        FROM dbo.AutonomousSnapshots s
        WHERE s.Kind = 'statement' AND s.ObjectName = q.queryid
          AND s.CycleId < (SELECT max(l.CycleId) FROM dbo.AutonomousSnapshots l WHERE l.Kind = 'statement')
        ORDER BY s.CycleId DESC LIMIT 1) p ON true
    WHERE q.query ~* '^\s*(select|with)\M' AND length(q.query) < 20000
      AND position(';' IN rtrim(q.query, '; ' || chr(10))) = 0
      AND q.query !~* '\m(insert|update|delete|merge|into)\M'
      -- a call without arguments is the one planning evaluates (constant folding, estimates)
      AND q.query !~* '\m(?!(now|count|random|clock_timestamp|current_date|current_timestamp)\M)\w+\s*\(\s*\)'
    -- ranked by the time spent since the previous cycle's snapshot, not since pg_stat_statements
    -- was reset: a statement that turned slow just now must not wait for its total to overtake
    -- statements that were expensive an hour ago (bench/results/ooda.md: a regression found ten
    -- minutes late); a total below the snapshot's is a reset, and all of it is recent
    ORDER BY CASE WHEN q.total_ms >= p.total_ms THEN q.total_ms - p.total_ms ELSE q.total_ms END DESC, q.total_ms DESC
    LIMIT greatest(MaxStatements, 0)
$$;
