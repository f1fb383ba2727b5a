-- kind: procedure
-- requires: dbo.fn_VectorL2Distance
-- Euclidean (L2) distance between two float32-byte vectors.
-- CALL dbo.sp_VectorL2Distance(...) returns the result as the row of its INOUT parameter.
CREATE OR REPLACE PROCEDURE dbo.sp_VectorL2Distance(v1 bytea, v2 bytea, INOUT result double precision DEFAULT NULL)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = dbo, public, pg_temp
AS $$
BEGIN
    result := dbo.fn_VectorL2Distance(v1, v2);
END
$$;
