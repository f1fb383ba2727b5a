-- kind: function
-- requires: dbo
-- engine-specific: PL/Python prefixes an error raised in Python with its class (plpy.Error:, ValueError:, spiexceptions.X:) and adds the traceback; SQL Server's THROW carries the message as written
-- Raise again, as a caller should read it, an error caught from the in-database Python: the
-- message without PL/Python's class prefix (and without its traceback, which stays with the
-- caught error), named after the public routine Caller when it names none, and bad input
-- (ValueError, FormatError, SQLSTATE 38000 from Python) as 22023 invalid_parameter_value. Any other
-- SQLSTATE is kept. The public PL/pgSQL fronts call it from their exception handler:
--     EXCEPTION WHEN OTHERS THEN PERFORM dbo.fn_RaiseClean('sp_X', SQLERRM, SQLSTATE);
CREATE OR REPLACE FUNCTION dbo.fn_RaiseClean(Caller text, Message text, State text)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    prefix constant text := '^((?:plpy|spiexceptions)\.\w+|\w+(?:Error|Exception)): ';
    python_class constant text := substring(Message FROM prefix);
    clean text := regexp_replace(Message, prefix, '');
BEGIN
    IF clean !~ '^(sp|fn)_\w+: ' THEN
        clean := Caller || ': ' || clean;
    END IF;
    RAISE EXCEPTION USING MESSAGE = clean,
        ERRCODE = CASE WHEN State = '38000' AND python_class IN ('ValueError', 'FormatError') THEN '22023' ELSE State END;
END
$$;
