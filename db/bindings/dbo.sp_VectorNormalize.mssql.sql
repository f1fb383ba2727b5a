-- kind: procedure
-- requires: hartonomous_ext
-- The vector scaled to unit length, as float32 bytes (an error for a zero vector).
-- Runs hartonomous_ext.vectors in Machine Learning Services; NULL input gives a NULL result.
CREATE OR ALTER PROCEDURE dbo.sp_VectorNormalize
    @v VARBINARY(MAX),
    @result VARBINARY(MAX) = NULL OUTPUT
AS
BEGIN
    SET NOCOUNT ON;
    IF @v IS NULL
    BEGIN
        SET @result = NULL;
        RETURN;
    END;
    EXEC sys.sp_execute_external_script
        @language = N'Python',
        @script = N'
from hartonomous_ext import vectors
result = vectors.normalize(v)
',
        @params = N'@v VARBINARY(MAX), @result VARBINARY(MAX) OUTPUT',
        @v = @v,
        @result = @result OUTPUT;
END;
