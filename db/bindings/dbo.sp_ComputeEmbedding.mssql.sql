-- kind: procedure
-- requires: hartonomous_ext, dbo.fn_StoredModel, dbo.fn_StoredModelChunks
-- engine-specific: PostgreSQL's is dbo.fn_GenerateEmbedding (a function; a SQL Server procedure that runs Python cannot be one)
-- The embedding of a text (float32 bytes, L2-normalized), computed by onnxruntime in Machine
-- Learning Services (hartonomous_ext.embeddings): by the packaged all-MiniLM-L6-v2 when @ModelId is
-- NULL, else by the BERT sentence encoder stored as model @ModelId of tenant @TenantId (its tensors
-- handed to the script as its input data set; SQL Server starts a fresh Python per call, so the
-- weights are read each time). @embedding_json is the same vector as a JSON array.
-- The work without the public procedure's tenant check and metering: sp_GenerateEmbedding,
-- sp_SemanticSearch and sp_StoreAtom call it with the tenant they resolved, and each meters the
-- embedding in its own transaction. No tenant role may execute it.
CREATE OR ALTER PROCEDURE dbo.sp_ComputeEmbedding
    @text_value NVARCHAR(MAX),
    @ModelId INT,
    @TenantId INT,
    @embedding VARBINARY(MAX) OUTPUT,
    @embedding_json NVARCHAR(MAX) OUTPUT
AS
BEGIN
    SET NOCOUNT ON;
    DECLARE @Format NVARCHAR(32), @Architecture NVARCHAR(128), @Config NVARCHAR(MAX), @Message NVARCHAR(2048);
    IF @text_value IS NULL
    BEGIN
        SET @embedding = NULL;
        SET @embedding_json = NULL;
        RETURN;
    END;
    IF @ModelId IS NULL
    BEGIN
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
        RETURN;
    END;
    SELECT @Format = m.ModelFormat, @Architecture = m.Architecture, @Config = m.Config
    FROM dbo.fn_StoredModel(@ModelId, @TenantId) AS m;
    IF @Format IS NULL
    BEGIN
        SET @Message = CONCAT(N'sp_GenerateEmbedding: model ', @ModelId, N' does not exist for tenant ', @TenantId);
        THROW 50501, @Message, 1;
    END;
    CREATE TABLE #weights (TensorIndex INT, TensorName NVARCHAR(512), DType NVARCHAR(16), Shape NVARCHAR(400),
                           ByteSize BIGINT, ChunkIndex INT, ChunkHash BINARY(32), Data VARBINARY(MAX));
    -- the store's one reader (dbo.fn_StoredModelChunks)
    INSERT INTO #weights (TensorIndex, TensorName, DType, Shape, ByteSize, ChunkIndex, ChunkHash, Data)
    SELECT TensorIndex, TensorName, DType, Shape, ByteSize, ChunkIndex, ChunkHash, Data
    FROM dbo.fn_StoredModelChunks(@ModelId);
    -- a chunk the model maps to but dbo.TensorChunks lacks: named here, not as a script error
    SET @Message = (SELECT TOP (1) CONCAT(N'sp_GenerateEmbedding: tensor ', w.TensorName, N' of model ', @ModelId,
                                          N' maps to chunk ', CONVERT(NVARCHAR(64), w.ChunkHash, 2), N', which is not stored')
                    FROM #weights AS w WHERE w.ChunkHash IS NOT NULL AND w.Data IS NULL);
    IF @Message IS NOT NULL
        THROW 50502, @Message, 1;
    EXEC sys.sp_execute_external_script
        @language = N'Python',
        @script = N'
from hartonomous_ext import embeddings, model_store
from hartonomous_ext.vectors import to_json
model = model_store.from_chunk_rows({"format": model_format, "architecture": architecture, "config": config},
                                    InputDataSet.itertuples(index=False, name=None))
embedding = embeddings.embed_one(text_value, embeddings.stored_runtime(model))
embedding_json = to_json(embedding)
',
        @input_data_1 = N'SELECT TensorIndex, TensorName, DType, Shape, ByteSize, ChunkIndex, ChunkHash, Data
                          FROM #weights ORDER BY TensorIndex, ChunkIndex',
        @params = N'@text_value NVARCHAR(MAX), @model_format NVARCHAR(32), @architecture NVARCHAR(128),
                    @config NVARCHAR(MAX), @embedding VARBINARY(MAX) OUTPUT, @embedding_json NVARCHAR(MAX) OUTPUT',
        @text_value = @text_value,
        @model_format = @Format,
        @architecture = @Architecture,
        @config = @Config,
        @embedding = @embedding OUTPUT,
        @embedding_json = @embedding_json OUTPUT;
END;
