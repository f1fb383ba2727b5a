-- kind: procedure
-- requires: hartonomous_ext
-- The all-MiniLM-L6-v2 embedding of a text (384 float32 values, L2-normalized, as bytes),
-- computed by onnxruntime in Machine Learning Services (hartonomous_ext.embeddings).
-- NULL text gives a NULL embedding; empty text is an error.
CREATE OR ALTER PROCEDURE dbo.sp_GenerateEmbedding
    @text_value NVARCHAR(MAX),
    @embedding VARBINARY(MAX) = NULL OUTPUT
AS
BEGIN
    SET NOCOUNT ON;
    IF @text_value IS NULL
    BEGIN
        SET @embedding = NULL;
        RETURN;
    END;
    EXEC sys.sp_execute_external_script
        @language = N'Python',
        @script = N'
from hartonomous_ext import embeddings
embedding = embeddings.embed_one(text_value)
',
        @params = N'@text_value NVARCHAR(MAX), @embedding VARBINARY(MAX) OUTPUT',
        @text_value = @text_value,
        @embedding = @embedding OUTPUT;
END;
