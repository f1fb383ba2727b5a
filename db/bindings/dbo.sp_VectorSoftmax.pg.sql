-- kind: procedure
-- requires: dbo.fn_VectorSoftmax, dbo.fn_RaiseClean
-- Softmax of a float32-byte vector of logits, as float32 bytes (numerically stable).
-- CALL dbo.sp_VectorSoftmax(...) returns the result as the row of its INOUT parameter.
CREATE OR REPLACE PROCEDURE dbo.sp_VectorSoftmax(v bytea, INOUT result bytea DEFAULT NULL)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = dbo, public, pg_temp
AS $$
BEGIN
    result := dbo.fn_VectorSoftmax(v);
EXCEPTION WHEN OTHERS THEN  -- the Python's error, as a caller reads it (dbo.fn_RaiseClean)
    PERFORM dbo.fn_RaiseClean('sp_VectorSoftmax', SQLERRM, SQLSTATE);
END
$$;
