-- kind: check
-- requires: plpython3u, postgis, pg_cron
-- engine-specific: PostgreSQL extensions; SQL Server has verify_external_scripts and verify_service_broker
SELECT format('extension %s installed', name), installed_version IS NOT NULL,
       coalesce(name || ' ' || installed_version, name || ' is not installed')
FROM pg_available_extensions
WHERE name IN ('plpython3u', 'postgis')
UNION ALL
SELECT 'pg_cron preloaded', current_setting('shared_preload_libraries') LIKE '%pg_cron%',
       format('shared_preload_libraries = %s, cron.database_name = %s',
              current_setting('shared_preload_libraries'), coalesce(current_setting('cron.database_name', true), '(unset)'));
