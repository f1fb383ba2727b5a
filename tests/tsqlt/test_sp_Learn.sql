-- dbo.sp_Learn: an action whose count came down is kept and counts in its type's record; one that
-- made things worse and has no revert is kept as regressed and counts as failed; a revert left
-- Reverting is not run by the phase (dbo.sp_ExecuteOnlineActions runs it, in a transaction of its own,
-- after the phase commits: never inside tSQLt's transaction); an action not yet due is left alone; a
-- re-clustering is judged on the changed share of its concept type, kept when a run brought it down.
-- The loop's record is faked empty (test_autonomy_fixtures.IsolateLoop).
EXEC tSQLt.NewTestClass 'test_sp_Learn';
GO

CREATE PROCEDURE test_sp_Learn.[test an action whose count came down is kept and counted]
AS
BEGIN
    DECLARE @ActionId BIGINT, @Applied DATETIME2(3) = DATEADD(MINUTE, -10, SYSUTCDATETIME());
    DECLARE @Status NVARCHAR(16), @Verdict NVARCHAR(16), @Kept INT, @After FLOAT;
    EXEC test_autonomy_fixtures.IsolateLoop;
    -- nothing in the faked dbo.OODALoopMetrics is past retention: the count is 0 after
    EXEC test_autonomy_fixtures.AddAction @ActionType = N'purge_loop_history', @Status = N'Applied',
        @TargetSchema = N'dbo', @TargetName = N'OODALoopMetrics', @MetricBefore = 40,
        @AppliedAt = @Applied, @ValidateAfter = @Applied, @ActionId = @ActionId OUTPUT;
    EXEC dbo.sp_Learn @CycleId = 1;
    SELECT @Status = Status, @After = MetricAfter FROM dbo.AutonomousActions WHERE ActionId = @ActionId;
    SELECT @Verdict = Verdict FROM dbo.AutonomousImprovementHistory WHERE ActionId = @ActionId;
    SELECT @Kept = KeptCount FROM dbo.AutonomousActionCatalog WHERE ActionType = N'purge_loop_history';
    EXEC tSQLt.AssertEqualsString @Expected = N'Kept', @Actual = @Status;
    EXEC tSQLt.AssertEqualsString @Expected = N'kept', @Actual = @Verdict;
    EXEC tSQLt.AssertEquals @Expected = 0e0, @Actual = @After;
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @Kept;
END;
GO

CREATE PROCEDURE test_sp_Learn.[test an action that made things worse without a revert is kept as regressed]
AS
BEGIN
    DECLARE @ActionId BIGINT, @Applied DATETIME2(3) = DATEADD(MINUTE, -10, SYSUTCDATETIME());
    DECLARE @Status NVARCHAR(16), @Reason NVARCHAR(4000), @Verdict NVARCHAR(16), @Failed INT;
    EXEC test_autonomy_fixtures.IsolateLoop;
    -- one old row when it ran, two now (a count already 0 when it ran would be kept, unmeasured)
    INSERT INTO dbo.OODALoopMetrics (CycleId, Phase, ExecutedAt, DurationMs, Success, ItemsProcessed)
    VALUES (NULL, N'Act', DATEADD(DAY, -400, SYSUTCDATETIME()), 1, 1, 0),
           (NULL, N'Act', DATEADD(DAY, -401, SYSUTCDATETIME()), 1, 1, 0);
    EXEC test_autonomy_fixtures.AddAction @ActionType = N'purge_loop_history', @Status = N'Applied',
        @TargetSchema = N'dbo', @TargetName = N'OODALoopMetrics', @MetricBefore = 1,
        @AppliedAt = @Applied, @ValidateAfter = @Applied, @ActionId = @ActionId OUTPUT;
    EXEC dbo.sp_Learn @CycleId = 1;
    SELECT @Status = Status, @Reason = StatusReason FROM dbo.AutonomousActions WHERE ActionId = @ActionId;
    SELECT @Verdict = Verdict FROM dbo.AutonomousImprovementHistory WHERE ActionId = @ActionId;
    SELECT @Failed = FailedCount FROM dbo.AutonomousActionCatalog WHERE ActionType = N'purge_loop_history';
    EXEC tSQLt.AssertEqualsString @Expected = N'Kept', @Actual = @Status;
    EXEC tSQLt.AssertEqualsString @Expected = N'worse after it ran, and the catalog has no revert for it', @Actual = @Reason;
    EXEC tSQLt.AssertEqualsString @Expected = N'regressed', @Actual = @Verdict;
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @Failed;
END;
GO

CREATE PROCEDURE test_sp_Learn.[test a revert is left Reverting for the online runner, not run in the phase]
AS
BEGIN
    DECLARE @ActionId BIGINT, @Status NVARCHAR(16), @Online INT;
    EXEC test_autonomy_fixtures.IsolateLoop;
    -- its revert (DROP INDEX IF EXISTS of an absent index) would succeed if the phase ran it
    EXEC test_autonomy_fixtures.AddAction @ActionType = N'create_index', @Status = N'Reverting',
        @TargetSchema = N'dbo', @TargetName = N'ix_auto_tsqlt_absent', @TargetColumns = N'["StartTime"]',
        @Parameters = N'{"table": "InferenceRequests", "statements": []}', @ActionId = @ActionId OUTPUT;
    EXEC dbo.sp_Learn @CycleId = 1;
    SELECT @Status = Status FROM dbo.AutonomousActions WHERE ActionId = @ActionId;
    SELECT @Online = COUNT(*) FROM dbo.OODALoopMetrics WHERE Phase = N'Online';
    EXEC tSQLt.AssertEqualsString @Expected = N'Reverting', @Actual = @Status;
    EXEC tSQLt.AssertEquals @Expected = 0, @Actual = @Online;
END;
GO

CREATE PROCEDURE test_sp_Learn.[test an action not yet due is left alone]
AS
BEGIN
    DECLARE @ActionId BIGINT, @Later DATETIME2(3) = DATEADD(HOUR, 1, SYSUTCDATETIME()), @Status NVARCHAR(16), @History INT;
    EXEC test_autonomy_fixtures.IsolateLoop;
    EXEC test_autonomy_fixtures.AddAction @ActionType = N'purge_loop_history', @Status = N'Applied',
        @TargetSchema = N'dbo', @TargetName = N'OODALoopMetrics', @MetricBefore = 40,
        @ValidateAfter = @Later, @ActionId = @ActionId OUTPUT;
    EXEC dbo.sp_Learn @CycleId = 1;
    SELECT @Status = Status FROM dbo.AutonomousActions WHERE ActionId = @ActionId;
    SELECT @History = COUNT(*) FROM dbo.AutonomousImprovementHistory;
    EXEC tSQLt.AssertEqualsString @Expected = N'Applied', @Actual = @Status;
    EXEC tSQLt.AssertEquals @Expected = 0, @Actual = @History;
END;
GO

CREATE PROCEDURE test_sp_Learn.[test a reclustering is judged on the changed share its run brought down]
AS
BEGIN
    DECLARE @Done BIGINT, @Stale BIGINT, @Applied DATETIME2(3) = DATEADD(MINUTE, -10, SYSUTCDATETIME());
    DECLARE @DoneStatus NVARCHAR(16), @DoneAfter FLOAT, @DoneVerdict NVARCHAR(16), @Kept INT;
    DECLARE @StaleStatus NVARCHAR(16), @StaleAfter FLOAT, @StaleVerdict NVARCHAR(16), @Failed INT;
    EXEC test_autonomy_fixtures.IsolateLoop;
    -- tenant 424242's type: a completed run after the changes, so nothing changed since (share 0)
    EXEC test_autonomy_fixtures.FakeConceptDrift @Added = 10, @Removed = 2;
    INSERT INTO dbo.IngestionJobs (IngestionJobId, TenantId, JobType, Status, Source, Parameters, TotalItems, AtomsProcessed,
                                   StartTime, EndTime)
    VALUES (902, 424242, N'concept-discovery', N'Completed', N'tsqlt-drift', N'{}', 48, 48,
            DATEADD(SECOND, 1, SYSUTCDATETIME()), DATEADD(SECOND, 2, SYSUTCDATETIME()));
    EXEC test_autonomy_fixtures.AddAction @ActionType = N'recluster_concepts', @Status = N'Applied',
        @TargetName = N'424242/tsqlt-drift', @MetricBefore = 0.3, @AppliedAt = @Applied, @ValidateAfter = @Applied,
        @ActionId = @Done OUTPUT;
    -- another type whose run never happened: still 0.3 changed, no better, no worse (kept, not counted)
    INSERT INTO dbo.IngestionJobs (IngestionJobId, TenantId, JobType, Status, Source, Parameters, TotalItems, AtomsProcessed,
                                   StartTime, EndTime)
    SELECT 903, 424243, JobType, Status, N'tsqlt-drift', Parameters, TotalItems, AtomsProcessed, StartTime, EndTime
    FROM dbo.IngestionJobs WHERE IngestionJobId = 900;
    INSERT INTO dbo.Atoms (AtomId, TenantId) SELECT AtomId + 1000, 424243 FROM dbo.Atoms WHERE TenantId = 424242;
    INSERT INTO dbo.AtomEmbeddings (AtomEmbeddingId, AtomId, EmbeddingType, CreatedAt)
    SELECT AtomEmbeddingId + 1000, AtomId + 1000, EmbeddingType, CreatedAt FROM dbo.AtomEmbeddings WHERE AtomId < 10000;
    EXEC test_autonomy_fixtures.AddAction @ActionType = N'recluster_concepts', @Status = N'Applied',
        @TargetName = N'424243/tsqlt-drift', @MetricBefore = 0.3, @AppliedAt = @Applied, @ValidateAfter = @Applied,
        @ActionId = @Stale OUTPUT;
    EXEC dbo.sp_Learn @CycleId = 1;
    SELECT @DoneStatus = Status, @DoneAfter = MetricAfter FROM dbo.AutonomousActions WHERE ActionId = @Done;
    SELECT @DoneVerdict = Verdict FROM dbo.AutonomousImprovementHistory WHERE ActionId = @Done;
    SELECT @StaleStatus = Status, @StaleAfter = MetricAfter FROM dbo.AutonomousActions WHERE ActionId = @Stale;
    SELECT @StaleVerdict = Verdict FROM dbo.AutonomousImprovementHistory WHERE ActionId = @Stale;
    SELECT @Kept = KeptCount, @Failed = FailedCount FROM dbo.AutonomousActionCatalog WHERE ActionType = N'recluster_concepts';
    EXEC tSQLt.AssertEqualsString @Expected = N'Kept', @Actual = @DoneStatus;
    EXEC tSQLt.AssertEquals @Expected = 0e0, @Actual = @DoneAfter;
    EXEC tSQLt.AssertEqualsString @Expected = N'kept', @Actual = @DoneVerdict;
    EXEC tSQLt.AssertEqualsString @Expected = N'Kept', @Actual = @StaleStatus;
    EXEC tSQLt.AssertEquals @Expected = 0.3e0, @Actual = @StaleAfter;
    EXEC tSQLt.AssertEqualsString @Expected = N'kept', @Actual = @StaleVerdict;
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @Kept;  -- only the measurable gain counts
    EXEC tSQLt.AssertEquals @Expected = 0, @Actual = @Failed;
END;
GO
