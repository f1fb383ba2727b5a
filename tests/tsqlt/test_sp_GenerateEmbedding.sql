-- dbo.sp_GenerateEmbedding: the packaged all-MiniLM-L6-v2 embedding of a text (384 float32 values,
-- unit length) and the same as a JSON array; NULL text gives NULLs; empty text and an unknown
-- @ModelId (50501) are errors.
EXEC tSQLt.NewTestClass 'test_sp_GenerateEmbedding';
GO

-- dbo.sp_ChargeUsage is a spy in this class (its own class tests it): tSQLt runs each test in a
-- transaction with a savepoint, which cannot reach the memory-optimized billing ledger (12326)
CREATE PROCEDURE test_sp_GenerateEmbedding.[SetUp]
AS
BEGIN
    EXEC tSQLt.SpyProcedure @ProcedureName = N'dbo.sp_ChargeUsage';
END;
GO

CREATE PROCEDURE test_sp_GenerateEmbedding.[test an embedding has 384 float32 values and unit length]
AS
BEGIN
    DECLARE @Vector VARBINARY(8000), @Norm FLOAT, @Bytes INT;
    EXEC dbo.sp_GenerateEmbedding @text_value = N'tSQLt: the database is the engine', @embedding = @Vector OUTPUT;
    EXEC dbo.sp_VectorDotProduct @v1 = @Vector, @v2 = @Vector, @result = @Norm OUTPUT;
    SET @Bytes = DATALENGTH(@Vector);
    EXEC tSQLt.AssertEquals @Expected = 1536, @Actual = @Bytes;
    IF @Norm IS NULL OR ABS(@Norm - 1) > 1e-4
        EXEC tSQLt.Fail '|v|^2 should be 1, got ', @Norm;
END;
GO

CREATE PROCEDURE test_sp_GenerateEmbedding.[test the same text gives the same bytes and the JSON holds the same 384 values]
AS
BEGIN
    DECLARE @First VARBINARY(8000), @Again VARBINARY(8000), @Json NVARCHAR(MAX), @Values INT, @FirstValue FLOAT;
    EXEC dbo.sp_GenerateEmbedding @text_value = N'deterministic', @embedding = @First OUTPUT, @embedding_json = @Json OUTPUT;
    EXEC dbo.sp_GenerateEmbedding @text_value = N'deterministic', @embedding = @Again OUTPUT;
    EXEC tSQLt.AssertEquals @Expected = @First, @Actual = @Again;
    SELECT @Values = COUNT(*) FROM OPENJSON(@Json);
    EXEC tSQLt.AssertEquals @Expected = 384, @Actual = @Values;
    SET @FirstValue = TRY_CAST(JSON_VALUE(@Json, '$[0]') AS FLOAT);
    IF ISJSON(@Json) = 0 OR @FirstValue IS NULL
        EXEC tSQLt.Fail 'embedding_json is not a JSON array of numbers: ', @Json;
END;
GO

CREATE PROCEDURE test_sp_GenerateEmbedding.[test similar texts are closer than unrelated ones]
AS
BEGIN
    DECLARE @Cat VARBINARY(8000), @Kitten VARBINARY(8000), @Revenue VARBINARY(8000), @Near FLOAT, @Far FLOAT;
    EXEC dbo.sp_GenerateEmbedding @text_value = N'a sleepy cat', @embedding = @Cat OUTPUT;
    EXEC dbo.sp_GenerateEmbedding @text_value = N'kittens sleep in the afternoon sun', @embedding = @Kitten OUTPUT;
    EXEC dbo.sp_GenerateEmbedding @text_value = N'quarterly revenue grew by four percent', @embedding = @Revenue OUTPUT;
    EXEC dbo.sp_VectorCosineSimilarity @v1 = @Cat, @v2 = @Kitten, @result = @Near OUTPUT;
    EXEC dbo.sp_VectorCosineSimilarity @v1 = @Cat, @v2 = @Revenue, @result = @Far OUTPUT;
    IF @Near IS NULL OR @Far IS NULL OR @Near <= @Far
        EXEC tSQLt.Fail 'cos(cat, kitten) = ', @Near, ' should exceed cos(cat, revenue) = ', @Far;
END;
GO

CREATE PROCEDURE test_sp_GenerateEmbedding.[test NULL text gives NULLs and clears the caller's values]
AS
BEGIN
    DECLARE @Vector VARBINARY(8000) = 0x01, @Json NVARCHAR(4000) = N'[1]';
    EXEC dbo.sp_GenerateEmbedding @text_value = NULL, @embedding = @Vector OUTPUT, @embedding_json = @Json OUTPUT;
    EXEC tSQLt.AssertEquals @Expected = NULL, @Actual = @Vector;
    EXEC tSQLt.AssertEquals @Expected = NULL, @Actual = @Json;
END;
GO

CREATE PROCEDURE test_sp_GenerateEmbedding.[test empty text is an error]
AS
BEGIN
    DECLARE @Vector VARBINARY(8000);
    EXEC tSQLt.ExpectException @ExpectedMessagePattern = '%script error occurred%';
    EXEC dbo.sp_GenerateEmbedding @text_value = N'', @embedding = @Vector OUTPUT;
END;
GO

CREATE PROCEDURE test_sp_GenerateEmbedding.[test a model the tenant does not have is refused (50501)]
AS
BEGIN
    DECLARE @Vector VARBINARY(8000);
    EXEC test_fixtures.UnbindTenantAccess;
    EXEC tSQLt.FakeTable @TableName = N'dbo.Models';
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 50501,
        @ExpectedMessagePattern = '%model 7 does not exist for tenant 424242%';
    EXEC dbo.sp_GenerateEmbedding @text_value = N'text', @ModelId = 7, @TenantId = 424242, @embedding = @Vector OUTPUT;
END;
GO

CREATE PROCEDURE test_sp_GenerateEmbedding.[test a chunk the store lacks is named before any Python runs]
AS
BEGIN
    DECLARE @ModelId INT, @Vector VARBINARY(8000);
    EXEC test_fixtures.CreateModel @TenantId = 424242, @ModelId = @ModelId OUTPUT;
    -- an empty dbo.TensorChunks: the model's rows map to chunks dbo.fn_TensorChunk cannot find
    EXEC test_fixtures.UnbindTenantAccess;
    EXEC tSQLt.FakeTable @TableName = N'dbo.TensorChunks';
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 50502,
                               @ExpectedMessagePattern = N'sp_GenerateEmbedding: tensor % of model % maps to chunk %, which is not stored';
    EXEC dbo.sp_GenerateEmbedding @text_value = N'x', @ModelId = @ModelId, @TenantId = 424242, @embedding = @Vector OUTPUT;
END;
GO
