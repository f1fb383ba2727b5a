-- dbo.sp_VectorNormalize: the vector scaled to unit length, float32 bytes; a zero vector is an
-- error; NULL in, NULL out.
EXEC tSQLt.NewTestClass 'test_sp_VectorNormalize';
GO

CREATE PROCEDURE test_sp_VectorNormalize.[test 3,4 becomes 0.6,0.8]
AS
BEGIN
    DECLARE @Unit VARBINARY(8000);
    EXEC dbo.sp_VectorNormalize @v = 0x0000404000008040, @result = @Unit OUTPUT;
    -- float32 0.6 = 0x3F19999A, 0.8 = 0x3F4CCCCD, little-endian
    EXEC tSQLt.AssertEquals @Expected = 0x9A99193FCDCC4C3F, @Actual = @Unit;
END;
GO

CREATE PROCEDURE test_sp_VectorNormalize.[test the result has unit length and the same dimension]
AS
BEGIN
    DECLARE @Unit VARBINARY(8000), @Norm FLOAT, @Bytes INT;
    EXEC dbo.sp_VectorNormalize @v = 0x0000803F0000004000004040, @result = @Unit OUTPUT;
    EXEC dbo.sp_VectorDotProduct @v1 = @Unit, @v2 = @Unit, @result = @Norm OUTPUT;
    SET @Bytes = DATALENGTH(@Unit);
    EXEC tSQLt.AssertEquals @Expected = 12, @Actual = @Bytes;
    IF @Norm IS NULL OR ABS(@Norm - 1) > 1e-6
        EXEC tSQLt.Fail '|v|^2 should be 1, got ', @Norm;
END;
GO

CREATE PROCEDURE test_sp_VectorNormalize.[test NULL input gives NULL and clears the caller's value]
AS
BEGIN
    DECLARE @Unit VARBINARY(8000) = 0x01;
    EXEC dbo.sp_VectorNormalize @v = NULL, @result = @Unit OUTPUT;
    EXEC tSQLt.AssertEquals @Expected = NULL, @Actual = @Unit;
END;
GO

CREATE PROCEDURE test_sp_VectorNormalize.[test a zero vector is an error]
AS
BEGIN
    DECLARE @Unit VARBINARY(8000);
    EXEC tSQLt.ExpectException @ExpectedMessagePattern = '%script error occurred%';
    EXEC dbo.sp_VectorNormalize @v = 0x0000000000000000, @result = @Unit OUTPUT;
END;
GO

CREATE PROCEDURE test_sp_VectorNormalize.[test empty bytes are an error]
AS
BEGIN
    DECLARE @Unit VARBINARY(8000);
    EXEC tSQLt.ExpectException @ExpectedMessagePattern = '%script error occurred%';
    EXEC dbo.sp_VectorNormalize @v = 0x, @result = @Unit OUTPUT;
END;
GO
