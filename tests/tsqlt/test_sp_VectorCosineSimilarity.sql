-- dbo.sp_VectorCosineSimilarity: cosine similarity of two float32-byte vectors; a zero vector is an
-- error; NULL in, NULL out.
EXEC tSQLt.NewTestClass 'test_sp_VectorCosineSimilarity';
GO

CREATE PROCEDURE test_sp_VectorCosineSimilarity.[test cos of 1,2,3 and 4,5,6]
AS
BEGIN
    DECLARE @Cosine FLOAT;
    EXEC dbo.sp_VectorCosineSimilarity @v1 = 0x0000803F0000004000004040, @v2 = 0x000080400000A0400000C040,
        @result = @Cosine OUTPUT;
    IF @Cosine IS NULL OR ABS(@Cosine - 0.9746318461970762) > 1e-9
        EXEC tSQLt.Fail 'expected 0.9746318461970762, got ', @Cosine;
END;
GO

CREATE PROCEDURE test_sp_VectorCosineSimilarity.[test opposite vectors give -1 and a vector with itself 1]
AS
BEGIN
    DECLARE @Opposite FLOAT, @Same FLOAT;
    EXEC dbo.sp_VectorCosineSimilarity @v1 = 0x0000803F00000040, @v2 = 0x000080BF000000C0, @result = @Opposite OUTPUT;
    EXEC dbo.sp_VectorCosineSimilarity @v1 = 0x0000404000008040, @v2 = 0x0000404000008040, @result = @Same OUTPUT;
    IF @Opposite IS NULL OR ABS(@Opposite + 1) > 1e-9 OR @Same IS NULL OR ABS(@Same - 1) > 1e-9
        EXEC tSQLt.Fail 'expected -1 and 1, got ', @Opposite, ' and ', @Same;
END;
GO

CREATE PROCEDURE test_sp_VectorCosineSimilarity.[test NULL input gives NULL and clears the caller's value]
AS
BEGIN
    DECLARE @Cosine FLOAT = 0.5;
    EXEC dbo.sp_VectorCosineSimilarity @v1 = 0x0000803F, @v2 = NULL, @result = @Cosine OUTPUT;
    EXEC tSQLt.AssertEquals @Expected = NULL, @Actual = @Cosine;
END;
GO

CREATE PROCEDURE test_sp_VectorCosineSimilarity.[test a zero vector is an error]
AS
BEGIN
    DECLARE @Cosine FLOAT;
    EXEC tSQLt.ExpectException @ExpectedMessagePattern = '%script error occurred%';
    EXEC dbo.sp_VectorCosineSimilarity @v1 = 0x0000000000000000, @v2 = 0x0000803F00000040, @result = @Cosine OUTPUT;
END;
GO

CREATE PROCEDURE test_sp_VectorCosineSimilarity.[test vectors of different dimensions are an error]
AS
BEGIN
    DECLARE @Cosine FLOAT;
    EXEC tSQLt.ExpectException @ExpectedMessagePattern = '%script error occurred%';
    EXEC dbo.sp_VectorCosineSimilarity @v1 = 0x0000803F, @v2 = 0x0000803F00000040, @result = @Cosine OUTPUT;
END;
GO
