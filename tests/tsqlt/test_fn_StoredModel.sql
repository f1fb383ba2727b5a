-- dbo.fn_StoredModel: a stored model's row for its tenant (the one reader's first part); no row for
-- another tenant or an unknown id.
EXEC tSQLt.NewTestClass 'test_fn_StoredModel';
GO

CREATE PROCEDURE test_fn_StoredModel.[test the model's row for its tenant]
AS
BEGIN
    DECLARE @ModelId INT, @Format NVARCHAR(32), @Architecture NVARCHAR(128), @Config NVARCHAR(MAX), @Rows INT,
            @SourceHash BINARY(32), @Skeleton VARBINARY(8000);
    EXEC test_fixtures.CreateModel @TenantId = 424242, @ModelId = @ModelId OUTPUT;
    -- export-model writes the file back from these two
    UPDATE dbo.Models SET SourceHash = HASHBYTES('SHA2_256', 0x01), FormatSkeleton = 0x0A0B0C WHERE ModelId = @ModelId;
    SELECT @Format = ModelFormat, @Architecture = Architecture, @Config = Config, @SourceHash = SourceHash,
           @Skeleton = FormatSkeleton
    FROM dbo.fn_StoredModel(@ModelId, 424242);
    EXEC tSQLt.AssertEquals @Expected = 0x4BF5122F344554C53BDE2EBB8CD2B7E3D1600AD631C385A5D7CCE23C7785459A, @Actual = @SourceHash;
    EXEC tSQLt.AssertEquals @Expected = 0x0A0B0C, @Actual = @Skeleton;
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
