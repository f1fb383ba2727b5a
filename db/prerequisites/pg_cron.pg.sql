-- kind: setting
-- engine-specific: PostgreSQL's scheduler for the queue dispatcher; SQL Server activates Service Broker queues instead
-- pg_cron runs in one database of the cluster (cron.database_name) and schedules jobs into the
-- others with cron.schedule_in_database. It must be preloaded; in the cron database itself the
-- extension is created here.
DO $$
BEGIN
    IF current_setting('shared_preload_libraries') NOT LIKE '%pg_cron%' THEN
        RAISE EXCEPTION 'pg_cron is not loaded on this server'
            USING HINT = 'add pg_cron to shared_preload_libraries, set cron.database_name, and restart PostgreSQL';
    END IF;
    IF current_setting('cron.database_name', true) = current_database() THEN
        CREATE EXTENSION IF NOT EXISTS pg_cron;
    END IF;
END
$$;
