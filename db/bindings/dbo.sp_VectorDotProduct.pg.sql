-- kind: procedure
-- requires: dbo.fn_VectorDotProduct
-- Dot product of two float32-byte vectors of the same dimension.
-- CALL dbo.sp_VectorDotProduct(...) returns the result as the row of its INOUT parameter.
CREATE OR REPLACE PROCEDURE dbo.sp_VectorDotProduct(v1 bytea, v2 bytea, INOUT result double precision DEFAULT NULL)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = dbo, public, pg_temp
AS $$
BEGIN
    result := dbo.fn_VectorDotProduct(v1, v2);
END
$$;
