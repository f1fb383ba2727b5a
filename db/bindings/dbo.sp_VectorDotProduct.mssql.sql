-- kind: procedure
-- requires: hartonomous_ext
-- Dot product of two float32-byte vectors of the same dimension.
-- Runs hartonomous_ext.vectors in Machine Learning Services; NULL input gives a NULL result.
CREATE OR ALTER PROCEDURE dbo.sp_VectorDotProduct
    @v1 VARBINARY(MAX),
    @v2 VARBINARY(MAX),
    @result FLOAT = NULL OUTPUT
AS
BEGIN
    SET NOCOUNT ON;
    IF @v1 IS NULL OR @v2 IS NULL
    BEGIN
        SET @result = NULL;
        RETURN;
    END;
    EXEC sys.sp_execute_external_script
        @language = N'Python',
        @script = N'
from hartonomous_ext import vectors
result = vectors.dot(v1, v2)
',
        @params = N'@v1 VARBINARY(MAX), @v2 VARBINARY(MAX), @result FLOAT OUTPUT',
        @v1 = @v1,
        @v2 = @v2,
        @result = @result OUTPUT;
END;
