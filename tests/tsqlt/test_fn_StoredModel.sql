-- dbo.fn_StoredModel: a stored model's row for its tenant (the one reader's first part); no row for
-- another tenant or an unknown id.
EXEC tSQLt.NewTestClass 'test_fn_StoredModel';
GO

CREATE PROCEDURE test_fn_StoredModel.[test the model's row for its tenant]
AS
BEGIN
    DECLARE @ModelId INT, @Format NVARCHAR(32), @Architecture NVARCHAR(128), @Config NVARCHAR(MAX), @Rows INT;
    EXEC test_fixtures.CreateModel @TenantId = 424242, @ModelId = @ModelId OUTPUT;
    SELECT @Format = ModelFormat, @Architecture = Architecture, @Config = Config
    FROM dbo.fn_StoredModel(@ModelId, 424242);
    EXEC tSQLt.AssertEqualsString @Expected = N'safetensors', @Actual = @Format;
    EXEC tSQLt.AssertEqualsString @Expected = N'fixture', @Actual = @Architecture;
    EXEC tSQLt.AssertEqualsString @Expected = N'{}', @Actual = @Config;
    SELECT @Rows = COUNT(*) FROM dbo.fn_StoredModel(@ModelId, 424242);
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @Rows;
END;
GO

CREATE PROCEDURE test_fn_StoredModel.[test another tenant and an unknown id get no row]
AS
BEGIN
    DECLARE @ModelId INT, @Rows INT;
    EXEC test_fixtures.CreateModel @TenantId = 424242, @ModelId = @ModelId OUTPUT;
    SELECT @Rows = COUNT(*) FROM dbo.fn_StoredModel(@ModelId, 424243);
    EXEC tSQLt.AssertEquals @Expected = 0, @Actual = @Rows;
    SELECT @Rows = COUNT(*) FROM dbo.fn_StoredModel(-1, 424242);
    EXEC tSQLt.AssertEquals @Expected = 0, @Actual = @Rows;
END;
GO
