-- kind: procedure
-- requires: dbo.fn_GenerateEmbedding
-- The all-MiniLM-L6-v2 embedding of a text (384 float32 values, L2-normalized, as bytes).
-- CALL dbo.sp_GenerateEmbedding('some text') returns it as the row of its INOUT parameter.
CREATE OR REPLACE PROCEDURE dbo.sp_GenerateEmbedding(text_value text, INOUT embedding bytea DEFAULT NULL)
LANGUAGE plpgsql
AS $$
BEGIN
    embedding := dbo.fn_GenerateEmbedding(text_value);
END
$$;
