-- kind: function
-- engine-specific: SQL Server's BIT parameters take 1/0 themselves
-- A yes/no argument as the seeds write it (1/0) or as PostgreSQL does (true/false), read the way
-- SQL Server converts a value to BIT, so both engines take the same arguments the same way: a
-- number is true unless it is 0, the text 'true'/'false' (any case) or a number in text; the
-- procedures declare such parameters anycompatible and read them through here, because
-- PostgreSQL has no implicit cast from integer to boolean. NULL stays NULL (the caller's
-- default); anything else is a clear error naming the parameter.
CREATE OR REPLACE FUNCTION dbo.fn_Flag(value anycompatible, name text)
RETURNS boolean
LANGUAGE plpgsql
IMMUTABLE PARALLEL SAFE
AS $$
DECLARE
    spelled text := lower(btrim(value::text));
BEGIN
    IF value IS NULL THEN
        RETURN NULL;
    ELSIF pg_typeof(value) = 'boolean'::regtype OR spelled IN ('true', 'false') THEN
        RETURN spelled::boolean;
    ELSIF spelled ~ '^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$' THEN
        RETURN spelled::numeric <> 0;
    END IF;
    RAISE EXCEPTION '%: % is not 1/0 or true/false', name, quote_literal(value::text) USING ERRCODE = '22023';
END
$$;
