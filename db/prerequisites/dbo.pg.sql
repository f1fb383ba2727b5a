-- kind: schema
-- dbo first on the database's search path (for new sessions), so the seeds' queries that name
-- tables without a schema (SELECT ... FROM IngestionJobs) run as written.
CREATE SCHEMA IF NOT EXISTS dbo;
DO $$
BEGIN
    EXECUTE format('ALTER DATABASE %I SET search_path = dbo, "$user", public', current_database());
END
$$;
