-- dbo.fn_AutonomousActionStatement: identifiers are quoted (QUOTENAME), an index is built online where
-- the edition has online index operations, a dropped index comes back from its recorded definition,
-- the batch procedures take their value as a parameter, a type it cannot build gives NULL (the callers
-- raise a user error: a conversion error would doom their transaction), a recorded filter is read whole
-- and one holding a comment or a statement separator is refused. CREATE INDEX waits at low priority
-- from SQL Server 2022 (ProductMajorVersion 16) on; MAX_DURATION is policy.LOOP_ONLINE_LOCK_TIMEOUT_SECONDS
-- (300) in minutes.
EXEC tSQLt.NewTestClass 'test_fn_AutonomousActionStatement';
GO

CREATE PROCEDURE test_fn_AutonomousActionStatement.[test a name is quoted, never spliced]
AS
BEGIN
    DECLARE @Statement NVARCHAR(4000) = dbo.fn_AutonomousActionStatement(N'analyze_table', N'dbo', N'Odd]Name; DROP TABLE x', NULL, NULL, 0);
    EXEC tSQLt.AssertEqualsString @Expected = N'UPDATE STATISTICS [dbo].[Odd]]Name; DROP TABLE x]', @Actual = @Statement;
END;
GO

CREATE PROCEDURE test_fn_AutonomousActionStatement.[test an index is created online where the edition allows it, and dropped as its revert]
AS
BEGIN
    DECLARE @Online NVARCHAR(200) = CASE WHEN CAST(SERVERPROPERTY('EngineEdition') AS INT) NOT IN (3, 5, 8) THEN N''
                                         WHEN CAST(SERVERPROPERTY('ProductMajorVersion') AS INT) >= 16
                                         THEN N' WITH (ONLINE = ON (WAIT_AT_LOW_PRIORITY (MAX_DURATION = 5 MINUTES, ABORT_AFTER_WAIT = SELF)))'
                                         ELSE N' WITH (ONLINE = ON)' END;
    DECLARE @Expected NVARCHAR(4000) = CONCAT(N'CREATE INDEX [ix_auto_t] ON [dbo].[T] ([A], [B]) INCLUDE ([C])', @Online);
    DECLARE @Statement NVARCHAR(4000) = dbo.fn_AutonomousActionStatement(N'create_index', N'dbo', N'ix_auto_t', N'["A", "B"]',
                                                                          N'{"table": "T", "statements": [7], "include": ["C"]}', 0);
    DECLARE @Undo NVARCHAR(4000) = dbo.fn_AutonomousActionStatement(N'create_index', N'dbo', N'ix_auto_t', N'["A", "B"]',
                                                                       N'{"table": "T"}', 1);
    EXEC tSQLt.AssertEqualsString @Expected = @Expected, @Actual = @Statement;
    EXEC tSQLt.AssertEqualsString @Expected = N'DROP INDEX IF EXISTS [ix_auto_t] ON [dbo].[T]', @Actual = @Undo;
END;
GO

CREATE PROCEDURE test_fn_AutonomousActionStatement.[test a dropped index comes back from its recorded definition]
AS
BEGIN
    DECLARE @Online NVARCHAR(200) = CASE WHEN CAST(SERVERPROPERTY('EngineEdition') AS INT) NOT IN (3, 5, 8) THEN N''
                                         WHEN CAST(SERVERPROPERTY('ProductMajorVersion') AS INT) >= 16
                                         THEN N' WITH (ONLINE = ON (WAIT_AT_LOW_PRIORITY (MAX_DURATION = 5 MINUTES, ABORT_AFTER_WAIT = SELF)))'
                                         ELSE N' WITH (ONLINE = ON)' END;
    DECLARE @Expected NVARCHAR(4000) = CONCAT(N'CREATE UNIQUE NONCLUSTERED INDEX [ix_t] ON [dbo].[T] ([A] ASC, [B] DESC) ',
                                              N'INCLUDE ([C]) WHERE ([A]>(0))', @Online);
    DECLARE @Parameters NVARCHAR(4000) = N'{"table": "T", "definition": {"unique": true, "clustered": false, '
        + N'"keys": [{"column": "A", "descending": false}, {"column": "B", "descending": true}], '
        + N'"include": [{"column": "C"}], "filter": "([A]>(0))"}}';
    DECLARE @Undo NVARCHAR(4000) = dbo.fn_AutonomousActionStatement(N'drop_index', N'dbo', N'ix_t', NULL, @Parameters, 1);
    DECLARE @Drop NVARCHAR(4000) = dbo.fn_AutonomousActionStatement(N'drop_index', N'dbo', N'ix_t', NULL, @Parameters, 0);
    EXEC tSQLt.AssertEqualsString @Expected = @Expected, @Actual = @Undo;
    EXEC tSQLt.AssertEqualsString @Expected = N'DROP INDEX IF EXISTS [ix_t] ON [dbo].[T]', @Actual = @Drop;
END;
GO

CREATE PROCEDURE test_fn_AutonomousActionStatement.[test a batch procedure takes its value as a parameter]
AS
BEGIN
    DECLARE @Refit NVARCHAR(4000) = dbo.fn_AutonomousActionStatement(N'refit_projections', NULL, N'x''; DROP TABLE y', NULL, NULL, 0);
    DECLARE @Rebuild NVARCHAR(4000) = dbo.fn_AutonomousActionStatement(N'rebuild_vector_index', NULL, N'42', NULL, NULL, 0);
    DECLARE @Undo NVARCHAR(4000) = dbo.fn_AutonomousActionStatement(N'rebuild_vector_index', NULL, N'42', NULL, NULL, 1);
    EXEC tSQLt.AssertEqualsString @Expected = N'EXEC dbo.sp_RecomputeAllSpatialProjections @EmbeddingType = @TargetName', @Actual = @Refit;
    EXEC tSQLt.AssertEqualsString @Expected = N'EXEC dbo.sp_BuildVectorIndex @TenantId = @TenantId, @Mode = N''rebuild''', @Actual = @Rebuild;
    EXEC tSQLt.AssertEqualsString @Expected = NULL, @Actual = @Undo;
END;
GO

CREATE PROCEDURE test_fn_AutonomousActionStatement.[test a reclustering reads the runs parameters from its Parameters, never from the text]
AS
BEGIN
    DECLARE @Parameters NVARCHAR(MAX) = N'{"tenant":424242,"type":"x''; DROP TABLE y","min_cluster_size":5,"coherence_threshold":0.35,"max_concepts":50}';
    DECLARE @Run NVARCHAR(4000) = dbo.fn_AutonomousActionStatement(N'recluster_concepts', NULL, N'424242/x', NULL, @Parameters, 0);
    DECLARE @Undo NVARCHAR(4000) = dbo.fn_AutonomousActionStatement(N'recluster_concepts', NULL, N'424242/x', NULL, @Parameters, 1);
    DECLARE @NoTenant NVARCHAR(4000) = dbo.fn_AutonomousActionStatement(N'recluster_concepts', NULL, N'424242/x', NULL,
                                                                          N'{"type":"x","coherence_threshold":0.35}', 0);
    EXEC tSQLt.AssertEqualsString @Expected = N'DECLARE @MinClusterSize INT = TRY_CONVERT(INT, JSON_VALUE(@Parameters, N''$.min_cluster_size'')), @CoherenceThreshold FLOAT = TRY_CONVERT(FLOAT, JSON_VALUE(@Parameters, N''$.coherence_threshold'')), @MaxConcepts INT = TRY_CONVERT(INT, JSON_VALUE(@Parameters, N''$.max_concepts'')), @Tenant INT = TRY_CONVERT(INT, JSON_VALUE(@Parameters, N''$.tenant'')), @EmbeddingType NVARCHAR(64) = JSON_VALUE(@Parameters, N''$.type''); EXEC dbo.fn_DiscoverConcepts @MinClusterSize = @MinClusterSize, @CoherenceThreshold = @CoherenceThreshold, @MaxConcepts = @MaxConcepts, @TenantId = @Tenant, @EmbeddingType = @EmbeddingType',
        @Actual = @Run;
    EXEC tSQLt.AssertEqualsString @Expected = NULL, @Actual = @Undo;
    EXEC tSQLt.AssertEqualsString @Expected = NULL, @Actual = @NoTenant;  -- never a run for the session's tenant
END;
GO

CREATE PROCEDURE test_fn_AutonomousActionStatement.[test an action type outside the catalog gives NULL, raising nothing]
AS
BEGIN
    DECLARE @Statement NVARCHAR(4000) = dbo.fn_AutonomousActionStatement(N'drop_table', N'dbo', N'T', NULL, NULL, 0);
    DECLARE @Missing NVARCHAR(4000) = dbo.fn_AutonomousActionStatement(NULL, N'dbo', N'T', NULL, NULL, 0);
    EXEC tSQLt.AssertEqualsString @Expected = NULL, @Actual = @Statement;
    EXEC tSQLt.AssertEqualsString @Expected = NULL, @Actual = @Missing;
END;
GO

CREATE PROCEDURE test_fn_AutonomousActionStatement.[test vacuum_table is PostgreSQL-only: NULL, raising nothing]
AS
BEGIN
    DECLARE @Statement NVARCHAR(4000) = dbo.fn_AutonomousActionStatement(N'vacuum_table', N'dbo', N'T', NULL, NULL, 0);
    EXEC tSQLt.AssertEqualsString @Expected = NULL, @Actual = @Statement;
END;
GO

CREATE PROCEDURE test_fn_AutonomousActionStatement.[test a filter longer than 4000 characters comes back whole]
AS
BEGIN
    DECLARE @Filter NVARCHAR(MAX) = CONCAT(N'([A] IN (', REPLICATE(CAST(N'1, ' AS NVARCHAR(MAX)), 1500), N'2))');
    DECLARE @Parameters NVARCHAR(MAX) = CONCAT(N'{"table": "T", "definition": {"unique": false, "clustered": false, ',
                                               N'"keys": ["A"], "filter": "', @Filter, N'"}}');
    DECLARE @Undo NVARCHAR(MAX) = dbo.fn_AutonomousActionStatement(N'drop_index', N'dbo', N'ix_t', NULL, @Parameters, 1);
    DECLARE @Kept INT = CASE WHEN CHARINDEX(CONCAT(N' WHERE ', @Filter), @Undo) > 0 THEN 1 ELSE 0 END;  -- ([A] is a LIKE class)
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @Kept;
END;
GO

CREATE PROCEDURE test_fn_AutonomousActionStatement.[test a filter holding a comment or a statement separator is refused]
AS
BEGIN
    DECLARE @Prefix NVARCHAR(200) = N'{"table": "T", "definition": {"unique": false, "clustered": false, "keys": ["A"], "filter": "';
    DECLARE @Semicolon NVARCHAR(4000) = dbo.fn_AutonomousActionStatement(N'drop_index', N'dbo', N'ix_t', NULL,
                                            CONCAT(@Prefix, N'([A]>(0)); DROP TABLE [dbo].[T]"}}'), 1);
    DECLARE @Dashes NVARCHAR(4000) = dbo.fn_AutonomousActionStatement(N'drop_index', N'dbo', N'ix_t', NULL,
                                         CONCAT(@Prefix, N'([A]>(0)) --"}}'), 1);
    DECLARE @Block NVARCHAR(4000) = dbo.fn_AutonomousActionStatement(N'drop_index', N'dbo', N'ix_t', NULL,
                                        CONCAT(@Prefix, N'([A]>(0)) /* x */"}}'), 1);
    EXEC tSQLt.AssertEqualsString @Expected = NULL, @Actual = @Semicolon;
    EXEC tSQLt.AssertEqualsString @Expected = NULL, @Actual = @Dashes;
    EXEC tSQLt.AssertEqualsString @Expected = NULL, @Actual = @Block;
END;
GO

CREATE PROCEDURE test_fn_AutonomousActionStatement.[test a column it cannot quote gives NULL, never an index with fewer columns]
AS
BEGIN
    -- QUOTENAME gives NULL past 128 characters, and for a number no name: STRING_AGG would drop either
    DECLARE @Long NVARCHAR(200) = REPLICATE(N'k', 129);
    DECLARE @LongKey NVARCHAR(4000) = dbo.fn_AutonomousActionStatement(N'create_index', N'dbo', N'ix_auto_t',
                                          CONCAT(N'["A", "', @Long, N'"]'), N'{"table": "T", "statements": []}', 0);
    DECLARE @NumberKey NVARCHAR(4000) = dbo.fn_AutonomousActionStatement(N'create_index', N'dbo', N'ix_auto_t', N'["A", 7]',
                                            N'{"table": "T", "statements": []}', 0);
    DECLARE @LongInclude NVARCHAR(4000) = dbo.fn_AutonomousActionStatement(N'create_index', N'dbo', N'ix_auto_t', N'["A"]',
                                              CONCAT(N'{"table": "T", "statements": [], "include": ["C", "', @Long, N'"]}'), 0);
    DECLARE @RevertKey NVARCHAR(4000) = dbo.fn_AutonomousActionStatement(N'drop_index', N'dbo', N'ix_t', NULL,
                                            CONCAT(N'{"table": "T", "definition": {"unique": false, "clustered": false, "keys": ["A", {"column": "',
                                                   @Long, N'"}]}}'), 1);
    DECLARE @RevertInclude NVARCHAR(4000) = dbo.fn_AutonomousActionStatement(N'drop_index', N'dbo', N'ix_t', NULL,
                                                N'{"table": "T", "definition": {"unique": false, "clustered": false, "keys": ["A"], "include": ["C", true]}}', 1);
    -- a key name of exactly 128 characters is still quoted
    DECLARE @Longest NVARCHAR(4000) = dbo.fn_AutonomousActionStatement(N'create_index', N'dbo', N'ix_auto_t',
                                          CONCAT(N'["', REPLICATE(N'k', 128), N'"]'), N'{"table": "T", "statements": []}', 0);
    EXEC tSQLt.AssertEqualsString @Expected = NULL, @Actual = @LongKey;
    EXEC tSQLt.AssertEqualsString @Expected = NULL, @Actual = @NumberKey;
    EXEC tSQLt.AssertEqualsString @Expected = NULL, @Actual = @LongInclude;
    EXEC tSQLt.AssertEqualsString @Expected = NULL, @Actual = @RevertKey;
    EXEC tSQLt.AssertEqualsString @Expected = NULL, @Actual = @RevertInclude;
    EXEC tSQLt.AssertLike @ExpectedPattern = N'CREATE INDEX [[]ix_auto_t] ON [[]dbo].[[]T] ([[]kkk%k])%', @Actual = @Longest;
END;
GO
