-- kind: procedure
-- requires: dbo.fn_VectorL2Distance, dbo.fn_RaiseClean
-- Euclidean (L2) distance between two float32-byte vectors.
-- CALL dbo.sp_VectorL2Distance(...) returns the result as the row of its INOUT parameter.
CREATE OR REPLACE PROCEDURE dbo.sp_VectorL2Distance(v1 bytea, v2 bytea, INOUT result double precision DEFAULT NULL)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = dbo, public, pg_temp
AS $$
BEGIN
    result := dbo.fn_VectorL2Distance(v1, v2);
EXCEPTION WHEN OTHERS THEN  -- the Python's error, as a caller reads it (dbo.fn_RaiseClean)
    PERFORM dbo.fn_RaiseClean('sp_VectorL2Distance', SQLERRM, SQLSTATE);
END
$$;
