-- dbo.sp_VectorDotProduct: the dot product of two float32-byte vectors; NULL in, NULL out.
-- Errors raised by the Python script reach T-SQL as "... script error occurred ..." (39004/39019).
EXEC tSQLt.NewTestClass 'test_sp_VectorDotProduct';
GO

CREATE PROCEDURE test_sp_VectorDotProduct.[test 1,2,3 dot 4,5,6 is 32]
AS
BEGIN
    DECLARE @Dot FLOAT;
    EXEC dbo.sp_VectorDotProduct @v1 = 0x0000803F0000004000004040, @v2 = 0x000080400000A0400000C040, @result = @Dot OUTPUT;
    IF @Dot IS NULL OR ABS(@Dot - 32) > 1e-9
        EXEC tSQLt.Fail 'expected 32, got ', @Dot;
END;
GO

CREATE PROCEDURE test_sp_VectorDotProduct.[test a negative component counts against]
AS
BEGIN
    DECLARE @Dot FLOAT;
    -- [1, -2] . [3, 4] = 3 - 8 = -5
    EXEC dbo.sp_VectorDotProduct @v1 = 0x0000803F000000C0, @v2 = 0x0000404000008040, @result = @Dot OUTPUT;
    IF @Dot IS NULL OR ABS(@Dot + 5) > 1e-9
        EXEC tSQLt.Fail 'expected -5, got ', @Dot;
END;
GO

CREATE PROCEDURE test_sp_VectorDotProduct.[test NULL input gives NULL and clears the caller's value]
AS
BEGIN
    DECLARE @Dot FLOAT = 7;
    EXEC dbo.sp_VectorDotProduct @v1 = NULL, @v2 = 0x0000803F, @result = @Dot OUTPUT;
    EXEC tSQLt.AssertEquals @Expected = NULL, @Actual = @Dot;
END;
GO

CREATE PROCEDURE test_sp_VectorDotProduct.[test vectors of different dimensions are an error]
AS
BEGIN
    DECLARE @Dot FLOAT;
    EXEC tSQLt.ExpectException @ExpectedMessagePattern = '%script error occurred%';
    EXEC dbo.sp_VectorDotProduct @v1 = 0x0000803F00000040, @v2 = 0x000080400000A0400000C040, @result = @Dot OUTPUT;
END;
GO

CREATE PROCEDURE test_sp_VectorDotProduct.[test bytes that are not whole float32 values are an error]
AS
BEGIN
    DECLARE @Dot FLOAT;
    EXEC tSQLt.ExpectException @ExpectedMessagePattern = '%script error occurred%';
    EXEC dbo.sp_VectorDotProduct @v1 = 0x0000803F00, @v2 = 0x0000803F00, @result = @Dot OUTPUT;
END;
GO
