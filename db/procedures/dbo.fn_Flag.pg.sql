-- kind: function
-- engine-specific: SQL Server's BIT parameters take 1/0 themselves
-- A yes/no argument as the seeds write it (1/0) or as PostgreSQL does (true/false, 't', 'yes', 'on'):
-- the procedures declare such parameters anycompatible and read them through here, because
-- PostgreSQL has no implicit cast from integer to boolean. NULL stays NULL (the caller's default);
-- anything else is a clear error naming the parameter.
CREATE OR REPLACE FUNCTION dbo.fn_Flag(value anycompatible, name text)
RETURNS boolean
LANGUAGE plpgsql
IMMUTABLE PARALLEL SAFE
AS $$
BEGIN
    IF value IS NULL THEN
        RETURN NULL;
    END IF;
    CASE lower(btrim(value::text))
        WHEN '1', 'true', 't', 'yes', 'y', 'on' THEN RETURN true;
        WHEN '0', 'false', 'f', 'no', 'n', 'off' THEN RETURN false;
        ELSE RAISE EXCEPTION '%: % is not 1/0 or true/false', name, quote_literal(value::text) USING ERRCODE = '22023';
    END CASE;
END
$$;
