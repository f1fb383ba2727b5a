-- dbo.sp_BuildVectorIndex: builds each embedding type's vector index, one transaction per type, so
-- it refuses to run inside a caller's transaction (RAISERROR, which leaves that transaction
-- usable) - and every tSQLt test runs inside one unless it is NoTransaction (tSQLt 1.0.8043 or
-- later): its building and searching are tested by the live suite (tests/test_mssql_live.py).
EXEC tSQLt.NewTestClass 'test_sp_BuildVectorIndex';
GO

--[@tSQLt:NoTransaction](DEFAULT)
CREATE PROCEDURE test_sp_BuildVectorIndex.[test an unknown mode is refused before anything is written (50701)]
AS
BEGIN
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 50701,
                               @ExpectedMessagePattern = N'%Mode must be ''auto'', ''merge'', ''rebuild'' or ''graph'', not everything%';
    EXEC dbo.sp_BuildVectorIndex @Mode = N'everything';
END;
GO

CREATE PROCEDURE test_sp_BuildVectorIndex.[test it refuses to run inside a transaction, leaving it usable]
AS
BEGIN
    DECLARE @Job BIGINT = 99, @Result INT, @State INT;
    BEGIN TRY
        EXEC @Result = dbo.sp_BuildVectorIndex @IngestionJobId = @Job OUTPUT;
    END TRY
    BEGIN CATCH
        DECLARE @Error NVARCHAR(4000) = ERROR_MESSAGE();  -- EXEC takes variables, not function calls
        SET @State = XACT_STATE();
        IF @Error NOT LIKE N'%run it outside a transaction%(50702)%'
            EXEC tSQLt.Fail 'unexpected error: ', @Error;
    END CATCH;
    -- RAISERROR under the caller's settings: the test's own transaction can still commit
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @State;
END;
GO
