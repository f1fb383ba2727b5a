-- kind: procedure
-- requires: hartonomous_ext
-- Softmax of a float32-byte vector of logits, as float32 bytes (numerically stable).
-- Runs hartonomous_ext.vectors in Machine Learning Services; NULL input gives a NULL result.
CREATE OR ALTER PROCEDURE dbo.sp_VectorSoftmax
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
result = vectors.softmax(v)
',
        @params = N'@v VARBINARY(MAX), @result VARBINARY(MAX) OUTPUT',
        @v = @v,
        @result = @result OUTPUT;
END;
