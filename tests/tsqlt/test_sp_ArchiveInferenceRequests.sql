-- dbo.sp_ArchiveInferenceRequests: the requests past retention move to dbo.InferenceRequests_Archive
-- with their ids, the recent ones stay; seed 000's INSERT INTO ... SELECT * works as written (the
-- archive has the same columns in the same order, and no identity); a batch of 0 rows is refused (51451).
EXEC tSQLt.NewTestClass 'test_sp_ArchiveInferenceRequests';
GO

CREATE PROCEDURE test_sp_ArchiveInferenceRequests.[test the old requests move and the recent ones stay]
AS
BEGIN
    DECLARE @Moved TABLE (ArchivedRows BIGINT);
    DECLARE @Archived INT, @Left INT, @Recent INT, @Reported BIGINT;
    INSERT INTO dbo.InferenceRequests (TenantId, TaskType, StartTime, Status)
    VALUES (424242, N'search', DATEADD(DAY, -200, SYSUTCDATETIME()), N'Completed'),
           (424242, N'search', DATEADD(DAY, -100, SYSUTCDATETIME()), N'Completed'),
           (424242, N'search', SYSUTCDATETIME(), N'Completed');
    INSERT INTO @Moved (ArchivedRows) EXEC dbo.sp_ArchiveInferenceRequests @OlderThanDays = 90, @BatchRows = 1000000;
    SELECT @Archived = COUNT(*) FROM dbo.InferenceRequests_Archive WHERE TenantId = 424242;
    SELECT @Left = COUNT(*), @Recent = SUM(CASE WHEN StartTime > DATEADD(DAY, -1, SYSUTCDATETIME()) THEN 1 ELSE 0 END)
    FROM dbo.InferenceRequests WHERE TenantId = 424242;
    SELECT @Reported = ArchivedRows FROM @Moved;
    EXEC tSQLt.AssertEquals @Expected = 2, @Actual = @Archived;
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @Left;
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @Recent;
    IF @Reported < 2
        EXEC tSQLt.Fail 'ArchivedRows counts fewer rows than moved';
END;
GO

CREATE PROCEDURE test_sp_ArchiveInferenceRequests.[test seed 000 INSERT SELECT star into the archive works]
AS
BEGIN
    DECLARE @Archived INT;
    INSERT INTO dbo.InferenceRequests (TenantId, TaskType, StartTime, Status)
    VALUES (424242, N'search', DATEADD(DAY, -200, SYSUTCDATETIME()), N'Completed');
    INSERT INTO dbo.InferenceRequests_Archive SELECT * FROM dbo.InferenceRequests WHERE TenantId = 424242;
    SELECT @Archived = COUNT(*) FROM dbo.InferenceRequests_Archive WHERE TenantId = 424242;
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @Archived;
END;
GO

CREATE PROCEDURE test_sp_ArchiveInferenceRequests.[test a batch of no rows is refused (51451)]
AS
BEGIN
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 51451,
        @ExpectedMessage = N'sp_ArchiveInferenceRequests: BatchRows must be 1 or more';
    EXEC dbo.sp_ArchiveInferenceRequests @BatchRows = 0;
END;
GO
