-- kind: procedure
-- requires: dbo.fn_VectorDotProduct, dbo.fn_RaiseClean
-- Dot product of two float32-byte vectors of the same dimension.
-- CALL dbo.sp_VectorDotProduct(...) returns the result as the row of its INOUT parameter.
CREATE OR REPLACE PROCEDURE dbo.sp_VectorDotProduct(v1 bytea, v2 bytea, INOUT result double precision DEFAULT NULL)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = dbo, public, pg_temp
AS $$
BEGIN
    result := dbo.fn_VectorDotProduct(v1, v2);
EXCEPTION WHEN OTHERS THEN  -- the Python's error, as a caller reads it (dbo.fn_RaiseClean)
    PERFORM dbo.fn_RaiseClean('sp_VectorDotProduct', SQLERRM, SQLSTATE);
END
$$;
