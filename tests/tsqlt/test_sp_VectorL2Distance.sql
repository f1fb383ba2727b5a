-- dbo.sp_VectorL2Distance: Euclidean distance of two float32-byte vectors; NULL in, NULL out.
EXEC tSQLt.NewTestClass 'test_sp_VectorL2Distance';
GO

CREATE PROCEDURE test_sp_VectorL2Distance.[test distance of 1,2,3 and 4,5,6 is the square root of 27]
AS
BEGIN
    DECLARE @Distance FLOAT;
    EXEC dbo.sp_VectorL2Distance @v1 = 0x0000803F0000004000004040, @v2 = 0x000080400000A0400000C040,
        @result = @Distance OUTPUT;
    IF @Distance IS NULL OR ABS(@Distance - SQRT(27.0)) > 1e-9
        EXEC tSQLt.Fail 'expected sqrt(27) = 5.196152422706632, got ', @Distance;
END;
GO

CREATE PROCEDURE test_sp_VectorL2Distance.[test a vector is at distance 0 from itself and 5 from 3,4 to 0,0]
AS
BEGIN
    DECLARE @Zero FLOAT, @Five FLOAT;
    EXEC dbo.sp_VectorL2Distance @v1 = 0x0000404000008040, @v2 = 0x0000404000008040, @result = @Zero OUTPUT;
    EXEC dbo.sp_VectorL2Distance @v1 = 0x0000404000008040, @v2 = 0x0000000000000000, @result = @Five OUTPUT;
    EXEC tSQLt.AssertEquals @Expected = 0.0E0, @Actual = @Zero;
    IF @Five IS NULL OR ABS(@Five - 5) > 1e-9
        EXEC tSQLt.Fail 'expected 5, got ', @Five;
END;
GO

CREATE PROCEDURE test_sp_VectorL2Distance.[test NULL input gives NULL and clears the caller's value]
AS
BEGIN
    DECLARE @Distance FLOAT = 3;
    EXEC dbo.sp_VectorL2Distance @v1 = NULL, @v2 = NULL, @result = @Distance OUTPUT;
    EXEC tSQLt.AssertEquals @Expected = NULL, @Actual = @Distance;
END;
GO

CREATE PROCEDURE test_sp_VectorL2Distance.[test vectors of different dimensions are an error]
AS
BEGIN
    DECLARE @Distance FLOAT;
    EXEC tSQLt.ExpectException @ExpectedMessagePattern = '%script error occurred%';
    EXEC dbo.sp_VectorL2Distance @v1 = 0x0000803F, @v2 = 0x0000803F00000040, @result = @Distance OUTPUT;
END;
GO
