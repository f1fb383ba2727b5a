-- Shared fixtures of the autonomous loop's test classes (no tests). The loop's record is faked
-- empty, with the identities and defaults the procedures rely on, so what a database already holds
-- (its own actions, cycles and catalog counts) cannot decide a test; every action type is in the
-- faked catalog, allowlisted, with no record.
EXEC tSQLt.NewTestClass 'test_autonomy_fixtures';
GO

CREATE PROCEDURE test_autonomy_fixtures.IsolateLoop
AS
BEGIN
    SET NOCOUNT ON;
    EXEC tSQLt.FakeTable @TableName = N'dbo.AutonomousActions', @Identity = 1, @Defaults = 1;
    EXEC tSQLt.FakeTable @TableName = N'dbo.AutonomousActionCatalog', @Defaults = 1;
    EXEC tSQLt.FakeTable @TableName = N'dbo.AutonomousImprovementHistory', @Identity = 1, @Defaults = 1;
    EXEC tSQLt.FakeTable @TableName = N'dbo.OODALoopMetrics', @Identity = 1, @Defaults = 1;
    EXEC tSQLt.FakeTable @TableName = N'dbo.AutonomousCycles', @Identity = 1, @Defaults = 1;
    INSERT INTO dbo.AutonomousActionCatalog (ActionType, IsAllowlisted, KeptCount, FailedCount)
    VALUES (N'create_index', 1, 0, 0), (N'drop_index', 1, 0, 0), (N'reindex_index', 1, 0, 0), (N'analyze_table', 1, 0, 0),
           (N'vacuum_table', 1, 0, 0), (N'refit_projections', 1, 0, 0), (N'rebuild_vector_index', 1, 0, 0),
           (N'recluster_concepts', 1, 0, 0), (N'archive_inference_requests', 1, 0, 0), (N'archive_billing_usage', 1, 0, 0),
           (N'purge_loop_history', 1, 0, 0);
END;
GO

-- One action in @Status; Command is a label (the procedures rebuild the statement from the typed columns).
CREATE PROCEDURE test_autonomy_fixtures.AddAction
    @ActionType NVARCHAR(64),
    @Status NVARCHAR(16),
    @TargetSchema NVARCHAR(128) = NULL,
    @TargetName NVARCHAR(128) = NULL,
    @TargetColumns NVARCHAR(400) = NULL,
    @Parameters NVARCHAR(MAX) = NULL,
    @Score FLOAT = 5,
    @ExpectedGain FLOAT = 0.9,
    @MetricBefore FLOAT = NULL,
    @BeforeState NVARCHAR(MAX) = NULL,
    @AppliedAt DATETIME2(3) = NULL,
    @ValidateAfter DATETIME2(3) = NULL,
    @ActionId BIGINT = NULL OUTPUT
AS
BEGIN
    SET NOCOUNT ON;
    SET @ActionId = NULL;
    INSERT INTO dbo.AutonomousActions (ActionType, TargetSchema, TargetName, TargetColumns, Parameters, Command, ExpectedGain,
                                       Score, Status, MetricBefore, BeforeState, AppliedAt, ValidateAfter)
    VALUES (@ActionType, @TargetSchema, @TargetName, @TargetColumns, @Parameters, N'-- tsqlt', @ExpectedGain, @Score, @Status,
            @MetricBefore, @BeforeState, @AppliedAt, @ValidateAfter);
    SET @ActionId = SCOPE_IDENTITY();
END;
GO

-- A tenant's embedding type whose concepts drifted since their discovery run (dbo.fn_ConceptDrift):
-- the run (IngestionJobId 900, tenant 424242, type 'tsqlt-drift', MinClusterSize 5, CoherenceThreshold
-- 0.35, MaxConcepts 50) saw 40 atoms two hours ago; @Removed of them are gone since and @Added new
-- ones came after it; one live concept of the type. The atoms, embeddings, job rows and concepts are
-- faked (the security policy unbound first), so only these rows count.
CREATE PROCEDURE test_autonomy_fixtures.FakeConceptDrift
    @Added INT = 10,
    @Removed INT = 2
AS
BEGIN
    SET NOCOUNT ON;
    DECLARE @RunAt DATETIME2(3) = DATEADD(HOUR, -2, SYSUTCDATETIME());
    EXEC test_fixtures.UnbindTenantAccess;
    EXEC tSQLt.FakeTable @TableName = N'dbo.IngestionJobs';
    EXEC tSQLt.FakeTable @TableName = N'provenance.Concepts';
    EXEC tSQLt.FakeTable @TableName = N'dbo.Atoms';
    EXEC tSQLt.FakeTable @TableName = N'dbo.AtomEmbeddings';
    INSERT INTO dbo.IngestionJobs (IngestionJobId, TenantId, JobType, Status, Source, Parameters, TotalItems, AtomsProcessed,
                                   StartTime, EndTime)
    VALUES (900, 424242, N'concept-discovery', N'Completed', N'tsqlt-drift',
            N'{"embedding_type":"tsqlt-drift","min_cluster_size":5,"coherence_threshold":0.35,"max_concepts":50,"concepts":1}',
            40, 40, @RunAt, DATEADD(SECOND, 5, @RunAt)),
           -- a failed run after it is not the last completed one
           (901, 424242, N'concept-discovery', N'Failed', N'tsqlt-drift', N'{}', 40, 0, DATEADD(MINUTE, 10, @RunAt), NULL);
    INSERT INTO provenance.Concepts (ConceptId, TenantId, EmbeddingType, Label, RetiredAt)
    VALUES (77, 424242, N'tsqlt-drift', N'tsqlt', NULL);
    WITH n AS (SELECT TOP (40 - @Removed + @Added) ROW_NUMBER() OVER (ORDER BY (SELECT NULL)) AS i FROM sys.all_columns)
    INSERT INTO dbo.Atoms (AtomId, TenantId)
    SELECT 9000 + n.i, 424242 FROM n;
    INSERT INTO dbo.AtomEmbeddings (AtomEmbeddingId, AtomId, EmbeddingType, CreatedAt)
    SELECT a.AtomId, a.AtomId, N'tsqlt-drift',
           CASE WHEN a.AtomId - 9000 <= 40 - @Removed THEN DATEADD(HOUR, -3, SYSUTCDATETIME()) ELSE SYSUTCDATETIME() END
    FROM dbo.Atoms AS a;
END;
GO
