-- dbo.fn_CheckModelAccess: no policy row or NULL AllowedModelIds allows any model; a model missing
-- from AllowedModelIds is refused with the caller's name; no model id (the packaged model) is never
-- refused; and a procedure that runs a model THROWs the refusal (50043) before any work.
EXEC tSQLt.NewTestClass 'test_fn_CheckModelAccess';
GO

-- dbo.sp_ChargeUsage is a spy in this class (its own class tests it): tSQLt runs each test in a
-- transaction with a savepoint, which cannot reach the memory-optimized billing ledger (12326)
CREATE PROCEDURE test_fn_CheckModelAccess.[SetUp]
AS
BEGIN
    EXEC tSQLt.SpyProcedure @ProcedureName = N'dbo.sp_ChargeUsage';
END;
GO

CREATE PROCEDURE test_fn_CheckModelAccess.[test only the models AllowedModelIds lists pass]
AS
BEGIN
    DECLARE @NoRow NVARCHAR(400), @Listed NVARCHAR(400), @Missing NVARCHAR(400), @Packaged NVARCHAR(400);
    SELECT @NoRow = Refusal FROM dbo.fn_CheckModelAccess(424242, N'[7]', N'sp_X');
    INSERT INTO dbo.TenantSecurityPolicy (TenantId, AllowedModelIds) VALUES (424242, N'[3, 5]');
    SELECT @Listed = Refusal FROM dbo.fn_CheckModelAccess(424242, N'[5, 3]', N'sp_X');
    SELECT @Missing = Refusal FROM dbo.fn_CheckModelAccess(424242, N'[3, 7]', N'sp_X');
    SELECT @Packaged = Refusal FROM dbo.fn_CheckModelAccess(424242, N'[]', N'sp_X');
    EXEC tSQLt.AssertEquals @Expected = NULL, @Actual = @NoRow;
    EXEC tSQLt.AssertEquals @Expected = NULL, @Actual = @Listed;
    EXEC tSQLt.AssertEqualsString @Expected = N'sp_X: tenant 424242 may not use model 7 (dbo.TenantSecurityPolicy)',
        @Actual = @Missing;
    EXEC tSQLt.AssertEquals @Expected = NULL, @Actual = @Packaged;
END;
GO

CREATE PROCEDURE test_fn_CheckModelAccess.[test sp_GenerateEmbedding refuses a model the policy does not list (50043)]
AS
BEGIN
    DECLARE @ModelId INT;
    EXEC test_fixtures.CreateModel @TenantId = 424242, @ModelId = @ModelId OUTPUT;
    INSERT INTO dbo.TenantSecurityPolicy (TenantId, AllowedModelIds) VALUES (424242, N'[]');
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 50043,
        @ExpectedMessagePattern = N'sp_GenerateEmbedding: tenant 424242 may not use model % (dbo.TenantSecurityPolicy)';
    EXEC dbo.sp_GenerateEmbedding @text_value = N'a pear', @ModelId = @ModelId, @TenantId = 424242;
END;
GO

CREATE PROCEDURE test_fn_CheckModelAccess.[test sp_IngestAtom refuses a model the policy does not list (50043)]
AS
BEGIN
    DECLARE @ModelId INT, @Id BIGINT;
    EXEC test_fixtures.CreateModel @TenantId = 424242, @ModelId = @ModelId OUTPUT;
    INSERT INTO dbo.TenantSecurityPolicy (TenantId, AllowedModelIds) VALUES (424242, N'[]');
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 50043,
        @ExpectedMessagePattern = N'sp_IngestAtom: tenant 424242 may not use model % (dbo.TenantSecurityPolicy)';
    EXEC dbo.sp_IngestAtom @Content = 0x6120706C756D, @ContentType = N'text/plain', @TenantId = 424242,
        @GenerateEmbedding = 1, @ModelId = @ModelId, @AtomId = @Id OUTPUT;
END;
GO

CREATE PROCEDURE test_fn_CheckModelAccess.[test sp_GenerateText refuses a model the policy does not list (50043)]
AS
BEGIN
    INSERT INTO dbo.TenantSecurityPolicy (TenantId, AllowedModelIds) VALUES (424242, N'[1]');
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 50043,
        @ExpectedMessage = N'sp_GenerateText: tenant 424242 may not use model 999999 (dbo.TenantSecurityPolicy)';
    EXEC dbo.sp_GenerateText @prompt = N'hi', @ModelIds = N'1,999999', @TenantId = 424242;
END;
GO

CREATE PROCEDURE test_fn_CheckModelAccess.[test a policy row with NULL AllowedModelIds allows any model]
AS
BEGIN
    DECLARE @Refusal NVARCHAR(400);
    INSERT INTO dbo.TenantSecurityPolicy (TenantId, AllowedModelIds) VALUES (424242, NULL);
    SELECT @Refusal = Refusal FROM dbo.fn_CheckModelAccess(424242, N'[7, 8]', N'sp_X');
    EXEC tSQLt.AssertEquals @Expected = NULL, @Actual = @Refusal;
END;
GO

CREATE PROCEDURE test_fn_CheckModelAccess.[test AllowedModelIds must be a JSON array]
AS
BEGIN
    EXEC tSQLt.ExpectException @ExpectedMessagePattern = N'%CK_TenantSecurityPolicy_AllowedModelIds%';
    INSERT INTO dbo.TenantSecurityPolicy (TenantId, AllowedModelIds) VALUES (424242, N'{"a": 1}');
END;
GO
