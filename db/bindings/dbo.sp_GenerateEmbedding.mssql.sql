-- kind: procedure
-- requires: hartonomous_ext
-- The all-MiniLM-L6-v2 embedding of a text (384 float32 values, L2-normalized, as bytes),
-- computed by onnxruntime in Machine Learning Services (hartonomous_ext.embeddings).
-- NULL text gives a NULL embedding; empty text is an error. @embedding_json is the same vector as
-- a JSON array, the text form SQL Server 2025 casts to VECTOR(384).
CREATE OR ALTER PROCEDURE dbo.sp_GenerateEmbedding
    @text_value NVARCHAR(MAX),
    @embedding VARBINARY(MAX) = NULL OUTPUT,
    @embedding_json NVARCHAR(MAX) = NULL OUTPUT
AS
BEGIN
    SET NOCOUNT ON;
    IF @text_value IS NULL
    BEGIN
        SET @embedding = NULL;
        SET @embedding_json = NULL;
        RETURN;
    END;
    EXEC sys.sp_execute_external_script
        @language = N'Python',
        @script = N'
from hartonomous_ext import embeddings
from hartonomous_ext.vectors import to_json
embedding = embeddings.embed_one(text_value)
embedding_json = to_json(embedding)
',
        @params = N'@text_value NVARCHAR(MAX), @embedding VARBINARY(MAX) OUTPUT, @embedding_json NVARCHAR(MAX) OUTPUT',
        @text_value = @text_value,
        @embedding = @embedding OUTPUT,
        @embedding_json = @embedding_json OUTPUT;
END;
