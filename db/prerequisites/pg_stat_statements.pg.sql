-- kind: extension
-- engine-specific: the statements' cumulative timings the autonomous loop observes; SQL Server has Query Store
-- The module must be preloaded (shared_preload_libraries), with pg_stat_statements.track = all so
-- the statements inside the procedures are counted too.
DO $$
BEGIN
    IF current_setting('shared_preload_libraries') NOT LIKE '%pg_stat_statements%' THEN
        RAISE EXCEPTION 'pg_stat_statements is not loaded on this server'
            USING HINT = 'add pg_stat_statements to shared_preload_libraries, set pg_stat_statements.track = all, and restart PostgreSQL';
    END IF;
END
$$;
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
