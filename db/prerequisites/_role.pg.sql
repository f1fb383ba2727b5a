-- One role of this database, <database>_{{ role_kind }} (the role_<kind> objects include this):
-- created when missing, its attributes put back when someone changed them.
DO $$
DECLARE
    role_name constant text := current_database() || '_{{ role_kind }}';
BEGIN
    IF length(role_name) > 63 THEN
        RAISE EXCEPTION 'role %: longer than PostgreSQL''s 63 characters; use a database name of at most 56', role_name;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = role_name) THEN
        EXECUTE format('CREATE ROLE %I NOLOGIN', role_name);
    END IF;
    EXECUTE format('ALTER ROLE %I NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT', role_name);
END
$$;
