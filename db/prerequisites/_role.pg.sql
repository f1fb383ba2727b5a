-- One role of this database, <database>_{{ role_kind }} (the role_<kind> objects include this):
-- created when missing, its attributes put back when someone changed them; a login of the same
-- name is refused, never altered.
DO $$
DECLARE
    role_name constant text := current_database() || '_{{ role_kind }}';
BEGIN
    IF length(role_name) > 63 THEN
        RAISE EXCEPTION 'role %: longer than PostgreSQL''s 63 characters; use a database name of at most 56', role_name;
    END IF;
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = role_name AND (rolcanlogin OR rolsuper)) THEN
        -- someone's login (or a superuser) has the name: never turn it into this database's role
        RAISE EXCEPTION 'role %: a login of that name exists on this server; the database''s roles need the name (rename the login, or publish to a database of another name)',
            role_name USING ERRCODE = '42710';
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = role_name) THEN
        EXECUTE format('CREATE ROLE %I NOLOGIN', role_name);
    END IF;
    EXECUTE format('ALTER ROLE %I NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT', role_name);
END
$$;
