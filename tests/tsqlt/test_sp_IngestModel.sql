-- dbo.sp_IngestModel: a model from an atom's payload. It commits its job row on its own, so it
-- refuses to run inside a transaction (as tSQLt's tests do); the argument checks are tested
-- outside one (tSQLt's NoTransaction annotation, tSQLt 1.0.8043 or later), with a clean-up that
-- removes the job rows of tenant 424242. Ingesting a real model file is the live suite's work.
EXEC tSQLt.NewTestClass 'test_sp_IngestModel';
GO

CREATE PROCEDURE test_sp_IngestModel.[CleanUp]
AS
BEGIN
    DELETE FROM dbo.IngestionJobs WHERE TenantId = 424242;
END;
GO

CREATE PROCEDURE test_sp_IngestModel.[test it refuses to run inside a transaction]
AS
BEGIN
    DECLARE @ModelId INT;
    EXEC tSQLt.ExpectException @ExpectedMessagePattern = '%run it outside a transaction%';
    EXEC dbo.sp_IngestModel @AtomId = 1, @TenantId = 424242, @ModelId = @ModelId OUTPUT;
END;
GO

--[@tSQLt:NoTransaction]('test_sp_IngestModel.[CleanUp]')
CREATE PROCEDURE test_sp_IngestModel.[test neither AtomId nor Path is refused (50401)]
AS
BEGIN
    DECLARE @ModelId INT;
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 50401;
    EXEC dbo.sp_IngestModel @TenantId = 424242, @ModelId = @ModelId OUTPUT;
END;
GO

--[@tSQLt:NoTransaction]('test_sp_IngestModel.[CleanUp]')
CREATE PROCEDURE test_sp_IngestModel.[test both AtomId and Path are refused (50401)]
AS
BEGIN
    DECLARE @ModelId INT;
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 50401;
    EXEC dbo.sp_IngestModel @AtomId = 1, @Path = N'/models/m.gguf', @TenantId = 424242, @ModelId = @ModelId OUTPUT;
END;
GO

--[@tSQLt:NoTransaction]('test_sp_IngestModel.[CleanUp]')
CREATE PROCEDURE test_sp_IngestModel.[test a Path is refused on SQL Server (50402)]
AS
BEGIN
    DECLARE @ModelId INT;
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 50402, @ExpectedMessagePattern = '%not supported on SQL Server%';
    EXEC dbo.sp_IngestModel @Path = N'/models/m.gguf', @TenantId = 424242, @ModelId = @ModelId OUTPUT;
END;
GO

--[@tSQLt:NoTransaction]('test_sp_IngestModel.[CleanUp]')
CREATE PROCEDURE test_sp_IngestModel.[test an atom the tenant does not have fails its job (50404)]
AS
BEGIN
    DECLARE @ModelId INT, @Error INT, @Status NVARCHAR(16), @Reason NVARCHAR(4000), @Ended INT;
    BEGIN TRY
        EXEC dbo.sp_IngestModel @AtomId = -424242, @TenantId = 424242, @ModelId = @ModelId OUTPUT;
    END TRY
    BEGIN CATCH
        SET @Error = ERROR_NUMBER();
    END CATCH;
    SELECT @Status = Status, @Reason = ErrorMessage, @Ended = CASE WHEN EndTime IS NULL THEN 0 ELSE 1 END
    FROM dbo.IngestionJobs WHERE TenantId = 424242 AND JobType = N'model' AND Source = N'atom -424242';
    EXEC tSQLt.AssertEquals @Expected = 50404, @Actual = @Error;
    EXEC tSQLt.AssertEquals @Expected = N'Failed', @Actual = @Status;
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @Ended;
    EXEC tSQLt.AssertLike @ExpectedPattern = N'%atom -424242 does not exist for tenant 424242%', @Actual = @Reason;
END;
GO
