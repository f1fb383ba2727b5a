-- dbo.fn_TensorChunk: a stored chunk's bytes by its SHA-256; NULL for a hash not stored.
EXEC tSQLt.NewTestClass 'test_fn_TensorChunk';
GO

CREATE PROCEDURE test_fn_TensorChunk.[test the bytes of a stored chunk]
AS
BEGIN
    DECLARE @ModelId INT, @Data VARBINARY(8000);
    EXEC test_fixtures.CreateModel @TenantId = 424242, @ModelId = @ModelId OUTPUT;
    SET @Data = dbo.fn_TensorChunk(HASHBYTES('SHA2_256', 0x0000A0400000C040));
    EXEC tSQLt.AssertEquals @Expected = 0x0000A0400000C040, @Actual = @Data;
END;
GO

CREATE PROCEDURE test_fn_TensorChunk.[test a hash not stored gives NULL]
AS
BEGIN
    DECLARE @Data VARBINARY(8000) = 0x01;
    SET @Data = dbo.fn_TensorChunk(0x0000000000000000000000000000000000000000000000000000000000000000);
    EXEC tSQLt.AssertEquals @Expected = NULL, @Actual = @Data;
END;
GO
