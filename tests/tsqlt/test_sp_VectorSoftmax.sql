-- dbo.sp_VectorSoftmax: softmax of float32 logits, float32 bytes (numerically stable); NULL in,
-- NULL out.
EXEC tSQLt.NewTestClass 'test_sp_VectorSoftmax';
GO

CREATE PROCEDURE test_sp_VectorSoftmax.[test equal logits share the probability equally]
AS
BEGIN
    DECLARE @P VARBINARY(8000);
    EXEC dbo.sp_VectorSoftmax @v = 0x00000000000000000000000000000000, @result = @P OUTPUT;
    -- four times float32 0.25 = 0x3E800000
    EXEC tSQLt.AssertEquals @Expected = 0x0000803E0000803E0000803E0000803E, @Actual = @P;
END;
GO

CREATE PROCEDURE test_sp_VectorSoftmax.[test softmax of 1,2,3 sums to 1 and gives 3 the most]
AS
BEGIN
    DECLARE @P VARBINARY(8000), @Sum FLOAT, @Last FLOAT;
    EXEC dbo.sp_VectorSoftmax @v = 0x0000803F0000004000004040, @result = @P OUTPUT;
    EXEC dbo.sp_VectorDotProduct @v1 = @P, @v2 = 0x0000803F0000803F0000803F, @result = @Sum OUTPUT;
    EXEC dbo.sp_VectorDotProduct @v1 = @P, @v2 = 0x00000000000000000000803F, @result = @Last OUTPUT;
    IF @Sum IS NULL OR ABS(@Sum - 1) > 1e-6 OR @Last IS NULL OR ABS(@Last - 0.6652409557748219) > 1e-6
        EXEC tSQLt.Fail 'expected sum 1 and p(3) = 0.66524096, got ', @Sum, ' and ', @Last;
END;
GO

CREATE PROCEDURE test_sp_VectorSoftmax.[test large logits do not overflow]
AS
BEGIN
    DECLARE @P VARBINARY(8000);
    -- [1000, 1000]: exp(1000) overflows unless the maximum is subtracted first; 0.5 = 0x3F000000
    EXEC dbo.sp_VectorSoftmax @v = 0x00007A4400007A44, @result = @P OUTPUT;
    EXEC tSQLt.AssertEquals @Expected = 0x0000003F0000003F, @Actual = @P;
END;
GO

CREATE PROCEDURE test_sp_VectorSoftmax.[test NULL input gives NULL and clears the caller's value]
AS
BEGIN
    DECLARE @P VARBINARY(8000) = 0x01;
    EXEC dbo.sp_VectorSoftmax @v = NULL, @result = @P OUTPUT;
    EXEC tSQLt.AssertEquals @Expected = NULL, @Actual = @P;
END;
GO

CREATE PROCEDURE test_sp_VectorSoftmax.[test bytes that are not whole float32 values are an error]
AS
BEGIN
    DECLARE @P VARBINARY(8000);
    EXEC tSQLt.ExpectException @ExpectedMessagePattern = '%script error occurred%';
    EXEC dbo.sp_VectorSoftmax @v = 0x000080, @result = @P OUTPUT;
END;
GO
