-- kind: procedure
-- requires: dbo.fn_VectorCosineSimilarity, dbo.fn_RaiseClean
-- Cosine similarity of two float32-byte vectors (an error for a zero vector).
-- CALL dbo.sp_VectorCosineSimilarity(...) returns the result as the row of its INOUT parameter.
CREATE OR REPLACE PROCEDURE dbo.sp_VectorCosineSimilarity(v1 bytea, v2 bytea, INOUT result double precision DEFAULT NULL)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = dbo, public, pg_temp
AS $$
BEGIN
    result := dbo.fn_VectorCosineSimilarity(v1, v2);
EXCEPTION WHEN OTHERS THEN  -- the Python's error, as a caller reads it (dbo.fn_RaiseClean)
    PERFORM dbo.fn_RaiseClean('sp_VectorCosineSimilarity', SQLERRM, SQLSTATE);
END
$$;
