-- dbo.sp_GenerateText: text from stored GGUF model(s). The tests need no stored model: they check
-- the arguments, refused before any weight is read (50601-50607), and models that do not exist for
-- the tenant (50603, dbo.Models faked empty or holding another tenant's model).
EXEC tSQLt.NewTestClass 'test_sp_GenerateText';
GO

-- dbo.sp_ChargeUsage is a spy in this class (its own class tests it): tSQLt runs each test in a
-- transaction with a savepoint, which cannot reach the memory-optimized billing ledger (12326)
CREATE PROCEDURE test_sp_GenerateText.[SetUp]
AS
BEGIN
    EXEC tSQLt.SpyProcedure @ProcedureName = N'dbo.sp_ChargeUsage';
END;
GO

CREATE PROCEDURE test_sp_GenerateText.[test the seed call: models 1,2,3 that do not exist are refused (50603)]
AS
BEGIN
    -- docs seed 003, "Text Generation", as written: '1,2,3' is read as three ModelIds of tenant 0
    EXEC test_fixtures.UnbindTenantAccess;
    EXEC tSQLt.FakeTable @TableName = N'dbo.Models';
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 50603,
        @ExpectedMessagePattern = '%3 of the ModelIds do not exist for tenant 0%';
    -- Multi-model ensemble text generation
    EXEC dbo.sp_GenerateText
        @prompt = 'Explain quantum entanglement',
        @max_tokens = 256,
        @temperature = 0.7,
        @ModelIds = '1,2,3',
        @top_k = 5;
END;
GO

CREATE PROCEDURE test_sp_GenerateText.[test a JSON array of ModelIds is read the same way]
AS
BEGIN
    EXEC test_fixtures.UnbindTenantAccess;
    EXEC tSQLt.FakeTable @TableName = N'dbo.Models';
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 50603,
        @ExpectedMessagePattern = '%2 of the ModelIds do not exist for tenant 424242%';
    EXEC dbo.sp_GenerateText @prompt = N'Hello', @ModelIds = N'[11, 12]', @TenantId = 424242;
END;
GO

CREATE PROCEDURE test_sp_GenerateText.[test another tenant's model is not the caller's]
AS
BEGIN
    EXEC test_fixtures.UnbindTenantAccess;
    EXEC tSQLt.FakeTable @TableName = N'dbo.Models';
    INSERT INTO dbo.Models (ModelId, TenantId, ModelName, ModelFormat) VALUES (11, 424243, N'theirs', N'gguf');
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 50603,
        @ExpectedMessagePattern = '%1 of the ModelIds do not exist for tenant 424242%';
    EXEC dbo.sp_GenerateText @prompt = N'Hello', @ModelIds = N'11', @TenantId = 424242;
END;
GO

CREATE PROCEDURE test_sp_GenerateText.[test no ModelIds is refused (50602)]
AS
BEGIN
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 50602;
    EXEC dbo.sp_GenerateText @prompt = N'Hello', @ModelIds = NULL, @TenantId = 424242;
END;
GO

CREATE PROCEDURE test_sp_GenerateText.[test an empty list of ModelIds is refused (50607)]
AS
BEGIN
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 50607;
    EXEC dbo.sp_GenerateText @prompt = N'Hello', @ModelIds = N'[]', @TenantId = 424242;
END;
GO

CREATE PROCEDURE test_sp_GenerateText.[test an empty prompt is refused (50601)]
AS
BEGIN
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 50601, @ExpectedMessagePattern = '%prompt is empty%';
    EXEC dbo.sp_GenerateText @prompt = N'', @ModelIds = N'[1]', @TenantId = 424242;
END;
GO

CREATE PROCEDURE test_sp_GenerateText.[test a blank prompt is refused (50601)]
AS
BEGIN
    DECLARE @Blank NVARCHAR(10) = CONCAT(N' ', NCHAR(9), NCHAR(13), NCHAR(10), NCHAR(160));
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 50601;
    EXEC dbo.sp_GenerateText @prompt = @Blank, @ModelIds = N'[1]', @TenantId = 424242;
END;
GO

CREATE PROCEDURE test_sp_GenerateText.[test a NULL prompt is refused (50601)]
AS
BEGIN
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 50601;
    EXEC dbo.sp_GenerateText @prompt = NULL, @ModelIds = N'[1]', @TenantId = 424242;
END;
GO

CREATE PROCEDURE test_sp_GenerateText.[test max_tokens 0 is refused (50604)]
AS
BEGIN
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 50604;
    EXEC dbo.sp_GenerateText @prompt = N'Hello', @max_tokens = 0, @ModelIds = N'[1]', @TenantId = 424242;
END;
GO

CREATE PROCEDURE test_sp_GenerateText.[test max_tokens above 4096 is refused (50604)]
AS
BEGIN
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 50604;
    EXEC dbo.sp_GenerateText @prompt = N'Hello', @max_tokens = 4097, @ModelIds = N'[1]', @TenantId = 424242;
END;
GO

CREATE PROCEDURE test_sp_GenerateText.[test a negative temperature is refused (50605)]
AS
BEGIN
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 50605;
    EXEC dbo.sp_GenerateText @prompt = N'Hello', @temperature = -0.1, @ModelIds = N'[1]', @TenantId = 424242;
END;
GO

CREATE PROCEDURE test_sp_GenerateText.[test a negative top_k is refused (50606)]
AS
BEGIN
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 50606;
    EXEC dbo.sp_GenerateText @prompt = N'Hello', @top_k = -1, @ModelIds = N'[1]', @TenantId = 424242;
END;
GO

CREATE PROCEDURE test_sp_GenerateText.[test a refused call records no request]
AS
BEGIN
    DECLARE @Requests INT;
    BEGIN TRY
        EXEC dbo.sp_GenerateText @prompt = N'Hello', @top_k = -1, @ModelIds = N'[1]', @TenantId = 424242;
    END TRY
    BEGIN CATCH
        IF ERROR_NUMBER() <> 50606
            THROW;
    END CATCH;
    SELECT @Requests = COUNT(*) FROM dbo.InferenceRequests WHERE TenantId = 424242;
    EXEC tSQLt.AssertEquals @Expected = 0, @Actual = @Requests;
END;
GO

CREATE PROCEDURE test_sp_GenerateText.[test blank ModelIds are refused (50602)]
AS
BEGIN
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 50602;
    EXEC dbo.sp_GenerateText @prompt = N'Hello', @ModelIds = N'  ', @TenantId = 424242;
END;
GO

CREATE PROCEDURE test_sp_GenerateText.[test ModelIds that are not ids are refused (50607)]
AS
BEGIN
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 50607, @ExpectedMessagePattern = '%one,two%is not a list of model ids%';
    EXEC dbo.sp_GenerateText @prompt = N'Hello', @ModelIds = N'one,two', @TenantId = 424242;
END;
GO

CREATE PROCEDURE test_sp_GenerateText.[test a model id below 1 is refused (50607)]
AS
BEGIN
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 50607;
    EXEC dbo.sp_GenerateText @prompt = N'Hello', @ModelIds = N'1,0', @TenantId = 424242;
END;
GO

CREATE PROCEDURE test_sp_GenerateText.[test a tenant that may not generate is refused (50035)]
AS
BEGIN
    INSERT INTO dbo.TenantSecurityPolicy (TenantId, AllowGeneration) VALUES (424242, 0);
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 50035,
        @ExpectedMessage = N'sp_GenerateText: tenant 424242 may not generate text (dbo.TenantSecurityPolicy)';
    EXEC dbo.sp_GenerateText @prompt = N'hello', @max_tokens = 4, @ModelIds = N'1', @TenantId = 424242;
END;
GO

CREATE PROCEDURE test_sp_GenerateText.[test max_tokens over the tenant's MaxTokensPerCall is refused (50036)]
AS
BEGIN
    INSERT INTO dbo.TenantSecurityPolicy (TenantId, MaxTokensPerCall) VALUES (424242, 8);
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 50036,
        @ExpectedMessage = N'sp_GenerateText: max_tokens 16 is more than tenant 424242''s 8 (dbo.TenantSecurityPolicy)';
    EXEC dbo.sp_GenerateText @prompt = N'hello', @max_tokens = 16, @ModelIds = N'1', @TenantId = 424242;
END;
GO
