-- dbo.sp_Analyze: a bad scope or lookback refuses before any cycle starts (51300, 51301); a run starts
-- a new cycle whatever @CycleId held, returns it, snapshots the tables and records what it found
-- (requests past retention, a request type slower than its own history) with its metrics row; a
-- vector index graph too large to measure the search recall of is recorded once a day, unmeasured;
-- a concept type whose atoms changed by the share since its discovery run is recorded as
-- concept_drift with the run's parameters, below the share or within the re-clustering interval not;
-- called with every parameter at its default it reads its queue when the queue holds messages.
-- The loop's record is not faked: each test reads only the rows of the cycle it started.
EXEC tSQLt.NewTestClass 'test_sp_Analyze';
GO

CREATE PROCEDURE test_sp_Analyze.[test a bad AnalysisScope throws 51300 and starts no cycle]
AS
BEGIN
    DECLARE @Before INT = (SELECT COUNT(*) FROM dbo.AutonomousCycles), @After INT, @Error INT, @Cycle BIGINT = 42;
    DECLARE @Message NVARCHAR(2048);
    BEGIN TRY
        EXEC dbo.sp_Analyze @AnalysisScope = N'everything', @CycleId = @Cycle OUTPUT, @TriggeredBy = N'tsqlt';
    END TRY
    BEGIN CATCH
        SELECT @Error = ERROR_NUMBER(), @Message = ERROR_MESSAGE();
    END CATCH;
    SET @After = (SELECT COUNT(*) FROM dbo.AutonomousCycles);
    EXEC tSQLt.AssertEquals @Expected = 51300, @Actual = @Error;
    EXEC tSQLt.AssertEqualsString @Expected = N'sp_Analyze: AnalysisScope must be full, performance or maintenance, not everything',
        @Actual = @Message;
    EXEC tSQLt.AssertEquals @Expected = @Before, @Actual = @After;
END;
GO

CREATE PROCEDURE test_sp_Analyze.[test a lookback past a year throws 51301]
AS
BEGIN
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 51301,
        @ExpectedMessage = N'sp_Analyze: LookbackHours must be between 0 and 8760, not 9000';
    EXEC dbo.sp_Analyze @AnalysisScope = N'maintenance', @LookbackHours = 9000, @TriggeredBy = N'tsqlt';
END;
GO

CREATE PROCEDURE test_sp_Analyze.[test a run starts a new cycle whatever CycleId held and records it]
AS
BEGIN
    DECLARE @Cycle BIGINT = 1, @Newest BIGINT, @Scope NVARCHAR(16), @Lookback INT, @Trigger NVARCHAR(64);
    DECLARE @Runs INT, @Items INT, @Found INT, @Tables INT;
    EXEC dbo.sp_Analyze @AnalysisScope = N'MAINTENANCE', @LookbackHours = 6, @CycleId = @Cycle OUTPUT, @TriggeredBy = N'tsqlt';
    SET @Newest = (SELECT MAX(CycleId) FROM dbo.AutonomousCycles);
    SELECT @Scope = AnalysisScope, @Lookback = LookbackHours, @Trigger = TriggeredBy
    FROM dbo.AutonomousCycles WHERE CycleId = @Cycle;
    SELECT @Runs = COUNT(*), @Items = MAX(ItemsProcessed)
    FROM dbo.OODALoopMetrics WHERE CycleId = @Cycle AND Phase = N'Analyze' AND Success = 1;
    SET @Found = (SELECT COUNT(*) FROM dbo.AutonomousObservations WHERE CycleId = @Cycle);
    SET @Tables = (SELECT COUNT(*) FROM dbo.AutonomousSnapshots
                   WHERE CycleId = @Cycle AND Kind = N'table' AND ObjectName = N'dbo.AutonomousCycles');
    EXEC tSQLt.AssertEquals @Expected = @Newest, @Actual = @Cycle;
    EXEC tSQLt.AssertEqualsString @Expected = N'maintenance', @Actual = @Scope;
    EXEC tSQLt.AssertEquals @Expected = 6, @Actual = @Lookback;
    EXEC tSQLt.AssertEqualsString @Expected = N'tsqlt', @Actual = @Trigger;
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @Runs;
    EXEC tSQLt.AssertEquals @Expected = @Found, @Actual = @Items;
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @Tables;
END;
GO

CREATE PROCEDURE test_sp_Analyze.[test requests past their retention yield an old_inference_requests observation]
AS
BEGIN
    DECLARE @Cycle BIGINT, @Old FLOAT, @Metric FLOAT, @Target NVARCHAR(512), @Observations INT;
    INSERT INTO dbo.InferenceRequests (TenantId, TaskType, StartTime, DurationMs, Status)
    VALUES (424242, N'tsqlt-old', DATEADD(DAY, -100, SYSUTCDATETIME()), 5, N'Completed'),
           (424242, N'tsqlt-old', DATEADD(DAY, -91, SYSUTCDATETIME()), 5, N'Completed');
    SET @Old = (SELECT COUNT(*) FROM dbo.InferenceRequests WHERE StartTime < DATEADD(DAY, -90, SYSUTCDATETIME()));
    EXEC dbo.sp_Analyze @AnalysisScope = N'maintenance', @CycleId = @Cycle OUTPUT, @TriggeredBy = N'tsqlt';
    SELECT @Observations = COUNT(*), @Metric = MAX(Metric), @Target = MAX(TargetObject)
    FROM dbo.AutonomousObservations WHERE CycleId = @Cycle AND Kind = N'old_inference_requests';
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @Observations;
    EXEC tSQLt.AssertEquals @Expected = @Old, @Actual = @Metric;
    EXEC tSQLt.AssertEqualsString @Expected = N'dbo.InferenceRequests', @Actual = @Target;
END;
GO

CREATE PROCEDURE test_sp_Analyze.[test a request type slower than its own history yields a latency_regression]
AS
BEGIN
    DECLARE @Cycle BIGINT, @Metric FLOAT, @Baseline FLOAT, @Observations INT, @Recent INT;
    DECLARE @Slow FLOAT = 100, @Fast FLOAT = 10;
    -- 20 requests two to three hours ago at 10 ms, 20 in the last half hour at 100 ms (LOOP_MIN_REQUESTS = 20)
    WITH n AS (SELECT TOP (20) ROW_NUMBER() OVER (ORDER BY (SELECT NULL)) AS i FROM sys.all_columns)
    INSERT INTO dbo.InferenceRequests (TenantId, TaskType, StartTime, DurationMs, Status)
    SELECT 424242, N'tsqlt-latency', DATEADD(MINUTE, -120 - n.i, SYSUTCDATETIME()), @Fast, N'Completed' FROM n
    UNION ALL
    SELECT 424242, N'tsqlt-latency', DATEADD(MINUTE, -n.i, SYSUTCDATETIME()), @Slow, N'Completed' FROM n;
    EXEC dbo.sp_Analyze @TenantId = 424242, @AnalysisScope = N'performance', @CycleId = @Cycle OUTPUT,
        @TriggeredBy = N'tsqlt';
    SELECT @Observations = COUNT(*), @Metric = MAX(Metric), @Baseline = MAX(Baseline),
           @Recent = MAX(CAST(JSON_VALUE(Detail, '$.recent_requests') AS INT))
    FROM dbo.AutonomousObservations
    WHERE CycleId = @Cycle AND Kind = N'latency_regression' AND TargetObject = N'tsqlt-latency';
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @Observations;
    EXEC tSQLt.AssertEquals @Expected = @Slow, @Actual = @Metric;
    EXEC tSQLt.AssertEquals @Expected = @Fast, @Actual = @Baseline;
    EXEC tSQLt.AssertEquals @Expected = 20, @Actual = @Recent;
END;
GO

CREATE PROCEDURE test_sp_Analyze.[test a maintenance run records no performance findings]
AS
BEGIN
    DECLARE @Cycle BIGINT, @Performance INT;
    WITH n AS (SELECT TOP (20) ROW_NUMBER() OVER (ORDER BY (SELECT NULL)) AS i FROM sys.all_columns)
    INSERT INTO dbo.InferenceRequests (TenantId, TaskType, StartTime, DurationMs, Status)
    SELECT 424242, N'tsqlt-latency', DATEADD(MINUTE, -120 - n.i, SYSUTCDATETIME()), 10, N'Completed' FROM n
    UNION ALL
    SELECT 424242, N'tsqlt-latency', DATEADD(MINUTE, -n.i, SYSUTCDATETIME()), 100, N'Completed' FROM n;
    EXEC dbo.sp_Analyze @TenantId = 424242, @AnalysisScope = N'maintenance', @CycleId = @Cycle OUTPUT,
        @TriggeredBy = N'tsqlt';
    SET @Performance = (SELECT COUNT(*) FROM dbo.AutonomousObservations
                        WHERE CycleId = @Cycle AND Kind IN (N'latency_regression', N'seq_scan_hotspot', N'unused_index',
                                                           N'index_bloat', N'stale_statistics', N'vector_index_delta',
                                                           N'search_recall'));
    EXEC tSQLt.AssertEquals @Expected = 0, @Actual = @Performance;
END;
GO

CREATE PROCEDURE test_sp_Analyze.[test a vector index graph too large to measure is recorded as not measured once a day]
AS
BEGIN
    DECLARE @First BIGINT, @Second BIGINT, @Snapshots INT, @Problem NVARCHAR(2000), @Recall NVARCHAR(40), @Observations INT;
    DECLARE @Again INT;
    -- one graph of more embeddings than LOOP_RECALL_MAX_EMBEDDINGS (200,000): no segment bytes are
    -- read, no Python runs; its snapshot says why, and is the day's gate. The security policy binds
    -- the segments table: unbound first, or FakeTable cannot rename it
    EXEC test_fixtures.UnbindTenantAccess;
    EXEC tSQLt.FakeTable @TableName = N'dbo.VectorIndexSegments';
    INSERT INTO dbo.VectorIndexSegments (SegmentId, TenantId, EmbeddingType, Dimension, Kind, VectorCount, ByteSize, EfSearch, IsActive)
    VALUES (900001, 424242, N'tsqlt-recall', 4, N'hnsw', 200001, 0, 16, 1);
    EXEC dbo.sp_Analyze @AnalysisScope = N'performance', @CycleId = @First OUTPUT, @TriggeredBy = N'tsqlt';
    SELECT @Snapshots = COUNT(*), @Problem = MAX(JSON_VALUE(Counters, '$.problem')), @Recall = MAX(JSON_VALUE(Counters, '$.recall'))
    FROM dbo.AutonomousSnapshots WHERE CycleId = @First AND Kind = N'vector_index' AND ObjectName = N'424242/tsqlt-recall/900001';
    SET @Observations = (SELECT COUNT(*) FROM dbo.AutonomousObservations WHERE CycleId = @First AND Kind = N'search_recall');
    EXEC dbo.sp_Analyze @AnalysisScope = N'performance', @CycleId = @Second OUTPUT, @TriggeredBy = N'tsqlt';
    SET @Again = (SELECT COUNT(*) FROM dbo.AutonomousSnapshots WHERE CycleId = @Second AND Kind = N'vector_index');
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @Snapshots;
    EXEC tSQLt.AssertEqualsString @Expected = N'not measured: 200001 embeddings, more than LOOP_RECALL_MAX_EMBEDDINGS (200000)',
        @Actual = @Problem;
    EXEC tSQLt.AssertEqualsString @Expected = NULL, @Actual = @Recall;
    EXEC tSQLt.AssertEquals @Expected = 0, @Actual = @Observations;
    EXEC tSQLt.AssertEquals @Expected = 0, @Actual = @Again;
END;
GO

CREATE PROCEDURE test_sp_Analyze.[test with every parameter at its default it reads its queue when it holds messages]
AS
BEGIN
    DECLARE @Queued INT = CASE WHEN EXISTS (SELECT 1 FROM dbo.AnalyzeQueue WITH (NOLOCK)) THEN 1 ELSE 0 END;
    DECLARE @Before INT = (SELECT COUNT(*) FROM dbo.AutonomousCycles WHERE TriggeredBy = N'manual'), @After INT;
    DECLARE @Reads INT, @Started INT, @NotQueued INT;
    EXEC tSQLt.SpyProcedure @ProcedureName = N'dbo.sp_ProcessLoopMessages';
    EXEC dbo.sp_Analyze;
    SET @Reads = (SELECT COUNT(*) FROM dbo.sp_ProcessLoopMessages_SpyProcedureLog WHERE QueueName = N'AnalyzeQueue');
    SET @After = (SELECT COUNT(*) FROM dbo.AutonomousCycles WHERE TriggeredBy = N'manual');
    SELECT @Started = @After - @Before, @NotQueued = 1 - @Queued;
    -- a queue with messages is read (the reader calls the phase back); an empty one leaves the phase to run now
    EXEC tSQLt.AssertEquals @Expected = @Queued, @Actual = @Reads;
    EXEC tSQLt.AssertEquals @Expected = @NotQueued, @Actual = @Started;
END;
GO

CREATE PROCEDURE test_sp_Analyze.[test concepts whose atoms changed by the share since their run yield concept_drift with the runs parameters]
AS
BEGIN
    DECLARE @Cycle BIGINT, @Observations INT, @Target NVARCHAR(512), @Metric FLOAT, @Baseline FLOAT, @Detail NVARCHAR(MAX);
    -- 10 added and 2 of the run's 40 deleted: 12 changed (CONCEPT_RECLUSTER_MIN_ATOMS 10), a share of
    -- 0.3 (CONCEPT_RECLUSTER_SHARE 0.2)
    EXEC test_autonomy_fixtures.FakeConceptDrift @Added = 10, @Removed = 2;
    EXEC tSQLt.FakeTable @TableName = N'dbo.AutonomousActions', @Identity = 1, @Defaults = 1;
    EXEC dbo.sp_Analyze @AnalysisScope = N'maintenance', @CycleId = @Cycle OUTPUT, @TriggeredBy = N'tsqlt';
    SELECT @Observations = COUNT(*), @Target = MAX(TargetObject), @Metric = MAX(Metric), @Baseline = MAX(Baseline),
           @Detail = MAX(Detail)
    FROM dbo.AutonomousObservations WHERE CycleId = @Cycle AND Kind = N'concept_drift';
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @Observations;
    EXEC tSQLt.AssertEqualsString @Expected = N'424242/tsqlt-drift', @Actual = @Target;
    EXEC tSQLt.AssertEquals @Expected = 0.3e0, @Actual = @Metric;
    EXEC tSQLt.AssertEquals @Expected = 0.2e0, @Actual = @Baseline;
    -- EXEC takes variables, not function calls
    SET @Detail = CONCAT_WS(N'|', JSON_VALUE(@Detail, '$.run'), JSON_VALUE(@Detail, '$.run_atoms'), JSON_VALUE(@Detail, '$.atoms'),
                            JSON_VALUE(@Detail, '$.added'), JSON_VALUE(@Detail, '$.removed'),
                            JSON_VALUE(@Detail, '$.min_cluster_size'), JSON_VALUE(@Detail, '$.coherence_threshold'),
                            JSON_VALUE(@Detail, '$.max_concepts'));
    EXEC tSQLt.AssertEqualsString @Expected = N'900|40|48|10|2|5|0.35|50', @Actual = @Detail;
END;
GO

CREATE PROCEDURE test_sp_Analyze.[test concepts below the share or re-clustered within the interval yield no concept_drift]
AS
BEGIN
    DECLARE @Below BIGINT, @Within BIGINT, @AtBelow INT, @AtWithin INT;
    -- 6 added of 40: a share of 0.15, under CONCEPT_RECLUSTER_SHARE (0.2)
    EXEC test_autonomy_fixtures.FakeConceptDrift @Added = 6, @Removed = 0;
    EXEC tSQLt.FakeTable @TableName = N'dbo.AutonomousActions', @Identity = 1, @Defaults = 1;
    EXEC dbo.sp_Analyze @AnalysisScope = N'maintenance', @CycleId = @Below OUTPUT, @TriggeredBy = N'tsqlt';
    SET @AtBelow = (SELECT COUNT(*) FROM dbo.AutonomousObservations WHERE CycleId = @Below AND Kind = N'concept_drift');
    -- past the share, but the loop proposed re-clustering it an hour ago (CONCEPT_RECLUSTER_INTERVAL_HOURS 24)
    WITH n AS (SELECT TOP (10) ROW_NUMBER() OVER (ORDER BY (SELECT NULL)) AS i FROM sys.all_columns)
    INSERT INTO dbo.AtomEmbeddings (AtomEmbeddingId, AtomId, EmbeddingType, CreatedAt)
    SELECT 9100 + n.i, 9100 + n.i, N'tsqlt-drift', SYSUTCDATETIME() FROM n;
    INSERT INTO dbo.Atoms (AtomId, TenantId) SELECT e.AtomId, 424242 FROM dbo.AtomEmbeddings AS e WHERE e.AtomId > 9100;
    INSERT INTO dbo.AutonomousActions (ActionType, TargetName, Command, Status, ProposedAt)
    VALUES (N'recluster_concepts', N'424242/tsqlt-drift', N'-- tsqlt', N'Kept', DATEADD(HOUR, -1, SYSUTCDATETIME()));
    EXEC dbo.sp_Analyze @AnalysisScope = N'maintenance', @CycleId = @Within OUTPUT, @TriggeredBy = N'tsqlt';
    SET @AtWithin = (SELECT COUNT(*) FROM dbo.AutonomousObservations WHERE CycleId = @Within AND Kind = N'concept_drift');
    EXEC tSQLt.AssertEquals @Expected = 0, @Actual = @AtBelow;
    EXEC tSQLt.AssertEquals @Expected = 0, @Actual = @AtWithin;
END;
GO
