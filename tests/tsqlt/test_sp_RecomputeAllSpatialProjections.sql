-- dbo.sp_RecomputeAllSpatialProjections: refits the landmarks over every embedding and commits
-- between batches, so it refuses to run inside a transaction (as tSQLt's tests do); its argument
-- checks, which fire before anything is written, are tested outside one (tSQLt's NoTransaction
-- annotation, tSQLt 1.0.8043 or later). A full refit is the live suite's work: it changes every
-- embedding of the database.
EXEC tSQLt.NewTestClass 'test_sp_RecomputeAllSpatialProjections';
GO

CREATE PROCEDURE test_sp_RecomputeAllSpatialProjections.[test it refuses to run inside a transaction]
AS
BEGIN
    EXEC tSQLt.ExpectException @ExpectedMessagePattern = '%run it outside a transaction%';
    EXEC dbo.sp_RecomputeAllSpatialProjections @BatchSize = 0;
END;
GO

--[@tSQLt:NoTransaction](DEFAULT)
CREATE PROCEDURE test_sp_RecomputeAllSpatialProjections.[test BatchSize 0 is refused (50101)]
AS
BEGIN
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 50101;
    EXEC dbo.sp_RecomputeAllSpatialProjections @BatchSize = 0;
END;
GO

--[@tSQLt:NoTransaction](DEFAULT)
CREATE PROCEDURE test_sp_RecomputeAllSpatialProjections.[test BatchSize above 100000 is refused (50101)]
AS
BEGIN
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 50101;
    EXEC dbo.sp_RecomputeAllSpatialProjections @BatchSize = 100001;
END;
GO

--[@tSQLt:NoTransaction](DEFAULT)
CREATE PROCEDURE test_sp_RecomputeAllSpatialProjections.[test SampleSize below 4 is refused (50102)]
AS
BEGIN
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 50102;
    EXEC dbo.sp_RecomputeAllSpatialProjections @SampleSize = 3;
END;
GO

--[@tSQLt:NoTransaction](DEFAULT)
CREATE PROCEDURE test_sp_RecomputeAllSpatialProjections.[test an embedding type with fewer than 4 embeddings is refused (50103)]
AS
BEGIN
    DECLARE @Jobs INT, @JobsAfter INT;
    SELECT @Jobs = COUNT(*) FROM dbo.IngestionJobs;
    BEGIN TRY
        EXEC dbo.sp_RecomputeAllSpatialProjections @EmbeddingType = N'tsqlt-no-such-type-424242';
        EXEC tSQLt.Fail 'expected error 50103';
    END TRY
    BEGIN CATCH
        IF ERROR_NUMBER() <> 50103
            THROW;
    END CATCH;
    SELECT @JobsAfter = COUNT(*) FROM dbo.IngestionJobs;
    EXEC tSQLt.AssertEquals @Expected = @Jobs, @Actual = @JobsAfter;
END;
GO
