-- kind: procedure
-- requires: dbo.fn_VectorNormalize, dbo.fn_RaiseClean
-- The vector scaled to unit length, as float32 bytes (an error for a zero vector).
-- CALL dbo.sp_VectorNormalize(...) returns the result as the row of its INOUT parameter.
CREATE OR REPLACE PROCEDURE dbo.sp_VectorNormalize(v bytea, INOUT result bytea DEFAULT NULL)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = dbo, public, pg_temp
AS $$
BEGIN
    result := dbo.fn_VectorNormalize(v);
EXCEPTION WHEN OTHERS THEN  -- the Python's error, as a caller reads it (dbo.fn_RaiseClean)
    PERFORM dbo.fn_RaiseClean('sp_VectorNormalize', SQLERRM, SQLSTATE);
END
$$;
