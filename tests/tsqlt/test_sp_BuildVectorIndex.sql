-- dbo.sp_BuildVectorIndex: builds each embedding type's vector index, one transaction per type, so
-- it refuses to run inside a caller's transaction (50702) - and every tSQLt test runs inside one:
-- its building and searching are tested by the live suite (tests/test_mssql_live.py). An unknown
-- Mode is refused first (50701), and neither refusal writes a job row.
EXEC tSQLt.NewTestClass 'test_sp_BuildVectorIndex';
GO

CREATE PROCEDURE test_sp_BuildVectorIndex.[test an unknown mode is refused before anything is written (50701)]
AS
BEGIN
    EXEC tSQLt.FakeTable @TableName = N'dbo.IngestionJobs', @Identity = 1, @Defaults = 1;
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 50701,
                               @ExpectedMessagePattern = N'%Mode must be ''auto'', ''merge'', ''rebuild'' or ''graph'', not everything%';
    EXEC dbo.sp_BuildVectorIndex @Mode = N'everything';
END;
GO

CREATE PROCEDURE test_sp_BuildVectorIndex.[test it refuses to run inside a transaction (50702)]
AS
BEGIN
    DECLARE @Job BIGINT = 99;
    EXEC tSQLt.FakeTable @TableName = N'dbo.IngestionJobs', @Identity = 1, @Defaults = 1;
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 50702, @ExpectedMessagePattern = N'%outside a transaction%';
    EXEC dbo.sp_BuildVectorIndex @IngestionJobId = @Job OUTPUT;
END;
GO
