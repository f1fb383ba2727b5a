-- kind: check
-- requires: pg_stat_statements, hypopg, dblink, pgstattuple, dbo.fn_OnlineActionSession
SELECT 'pg_stat_statements preloaded', current_setting('shared_preload_libraries') LIKE '%pg_stat_statements%',
       format('shared_preload_libraries = %s, pg_stat_statements.track = %s', current_setting('shared_preload_libraries'),
              coalesce(current_setting('pg_stat_statements.track', true), '(unset)'))
UNION ALL
SELECT 'pg_stat_statements counts statements inside procedures', current_setting('pg_stat_statements.track', true) = 'all',
       'pg_stat_statements.track = ' || coalesce(current_setting('pg_stat_statements.track', true), '(unset)')
UNION ALL
SELECT format('extension %s installed', e.name), e.installed_version IS NOT NULL,
       coalesce(e.name || ' ' || e.installed_version, e.name || ' is not installed')
FROM pg_available_extensions e WHERE e.name IN ('hypopg', 'dblink', 'pgstattuple')
UNION ALL
SELECT 'the loop opens its second session (dblink)', p.failure IS NULL,
       coalesce('could not: ' || p.failure, 'connected as ' || current_user || ' for online actions')
FROM (SELECT dbo.fn_OnlineActionSession('probe') AS failure) p;
