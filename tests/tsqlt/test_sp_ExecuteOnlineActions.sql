-- dbo.sp_ExecuteOnlineActions: the actions sp_Act left Executing (index DDL, the batch procedures) and
-- the reverts sp_Learn left Reverting run outside any transaction; inside a caller's (every tSQLt test
-- runs in one unless NoTransaction) it refuses with RAISERROR, which leaves the caller's transaction
-- committable, and runs nothing. The NoTransaction tests (tSQLt 1.0.8043 or later, which undoes their
-- fakes afterwards) run it for real, on the faked loop tables only: an index built on the faked
-- dbo.OODALoopMetrics is dropped with it.
EXEC tSQLt.NewTestClass 'test_sp_ExecuteOnlineActions';
GO

CREATE PROCEDURE test_sp_ExecuteOnlineActions.[test inside a transaction it refuses, leaves the transaction committable and runs nothing]
AS
BEGIN
    DECLARE @ActionId BIGINT, @State INT, @Status NVARCHAR(16);
    EXEC test_autonomy_fixtures.IsolateLoop;
    EXEC test_autonomy_fixtures.AddAction @ActionType = N'archive_billing_usage', @Status = N'Executing',
        @ActionId = @ActionId OUTPUT;
    BEGIN TRY
        EXEC dbo.sp_ExecuteOnlineActions;
        EXEC tSQLt.Fail 'sp_ExecuteOnlineActions ran inside a transaction';
    END TRY
    BEGIN CATCH
        DECLARE @Error NVARCHAR(4000) = ERROR_MESSAGE();  -- EXEC takes variables, not function calls
        SET @State = XACT_STATE();
        IF @Error NOT LIKE N'%run it outside a transaction%(51461)%'
            EXEC tSQLt.Fail 'unexpected error: ', @Error;
    END CATCH;
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @State;
    SELECT @Status = Status FROM dbo.AutonomousActions WHERE ActionId = @ActionId;
    EXEC tSQLt.AssertEqualsString @Expected = N'Executing', @Actual = @Status;
END;
GO

--[@tSQLt:NoTransaction](DEFAULT)
CREATE PROCEDURE test_sp_ExecuteOnlineActions.[test an index action runs in a transaction of its own and is recorded Applied]
AS
BEGIN
    DECLARE @ActionId BIGINT, @Status NVARCHAR(16), @Window INT, @Built INT, @Online INT;
    EXEC test_autonomy_fixtures.IsolateLoop;
    EXEC test_autonomy_fixtures.AddAction @ActionType = N'create_index', @Status = N'Executing',
        @TargetSchema = N'dbo', @TargetName = N'ix_auto_tsqlt_online', @TargetColumns = N'["Phase"]',
        @Parameters = N'{"table": "OODALoopMetrics", "statements": []}', @ActionId = @ActionId OUTPUT;
    EXEC dbo.sp_ExecuteOnlineActions;
    SELECT @Status = Status, @Window = CASE WHEN ValidateAfter > AppliedAt THEN 1 ELSE 0 END
    FROM dbo.AutonomousActions WHERE ActionId = @ActionId;
    SELECT @Built = COUNT(*) FROM sys.indexes WHERE object_id = OBJECT_ID(N'dbo.OODALoopMetrics') AND name = N'ix_auto_tsqlt_online';
    SELECT @Online = COUNT(*) FROM dbo.OODALoopMetrics WHERE Phase = N'Online' AND Success = 1;
    EXEC tSQLt.AssertEqualsString @Expected = N'Applied', @Actual = @Status;
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @Window;  -- an index change is validated after its window
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @Built;
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @Online;
END;
GO

--[@tSQLt:NoTransaction](DEFAULT)
CREATE PROCEDURE test_sp_ExecuteOnlineActions.[test a failed index action is recorded Failed and the next one runs]
AS
BEGIN
    DECLARE @Broken BIGINT, @Unknown BIGINT, @Good BIGINT, @BrokenStatus NVARCHAR(16), @UnknownStatus NVARCHAR(16);
    DECLARE @UnknownError NVARCHAR(4000), @GoodStatus NVARCHAR(16), @History INT, @Failed INT;
    EXEC test_autonomy_fixtures.IsolateLoop;
    EXEC test_autonomy_fixtures.AddAction @ActionType = N'create_index', @Status = N'Executing',
        @TargetSchema = N'dbo', @TargetName = N'ix_auto_tsqlt_nowhere', @TargetColumns = N'["A"]',
        @Parameters = N'{"table": "NoSuchTable_tsqlt", "statements": []}', @ActionId = @Broken OUTPUT;
    EXEC test_autonomy_fixtures.AddAction @ActionType = N'vacuum_table', @Status = N'Executing',
        @TargetSchema = N'dbo', @TargetName = N'InferenceRequests', @ActionId = @Unknown OUTPUT;
    -- an absent index: its revert (DROP INDEX IF EXISTS) succeeds and changes nothing
    EXEC test_autonomy_fixtures.AddAction @ActionType = N'create_index', @Status = N'Reverting',
        @TargetSchema = N'dbo', @TargetName = N'ix_auto_tsqlt_absent', @TargetColumns = N'["StartTime"]',
        @Parameters = N'{"table": "InferenceRequests", "statements": []}', @ActionId = @Good OUTPUT;
    EXEC dbo.sp_ExecuteOnlineActions;
    SELECT @BrokenStatus = Status FROM dbo.AutonomousActions WHERE ActionId = @Broken;
    SELECT @UnknownStatus = Status, @UnknownError = LEFT(ErrorMessage, 4000) FROM dbo.AutonomousActions WHERE ActionId = @Unknown;
    SELECT @GoodStatus = Status FROM dbo.AutonomousActions WHERE ActionId = @Good;
    SELECT @History = COUNT(*) FROM dbo.AutonomousImprovementHistory WHERE Verdict = N'failed' AND ActionId IN (@Broken, @Unknown);
    SELECT @Failed = FailedCount FROM dbo.AutonomousActionCatalog WHERE ActionType = N'create_index';
    EXEC tSQLt.AssertEqualsString @Expected = N'Failed', @Actual = @BrokenStatus;
    EXEC tSQLt.AssertEqualsString @Expected = N'Failed', @Actual = @UnknownStatus;
    EXEC tSQLt.AssertLike @ExpectedPattern = N'sp_ExecuteOnlineActions: no statement can be built for vacuum_table%', @Actual = @UnknownError;
    EXEC tSQLt.AssertEqualsString @Expected = N'Reverted', @Actual = @GoodStatus;
    EXEC tSQLt.AssertEquals @Expected = 2, @Actual = @History;
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @Failed;
END;
GO

--[@tSQLt:NoTransaction](DEFAULT)
CREATE PROCEDURE test_sp_ExecuteOnlineActions.[test a revert that cannot be built stays Reverting with the reason]
AS
BEGIN
    DECLARE @ActionId BIGINT, @Status NVARCHAR(16), @Error NVARCHAR(4000);
    EXEC test_autonomy_fixtures.IsolateLoop;
    -- its recorded filter holds a statement separator: refused, never run
    EXEC test_autonomy_fixtures.AddAction @ActionType = N'drop_index', @Status = N'Reverting',
        @TargetSchema = N'dbo', @TargetName = N'ix_tsqlt_filtered',
        @Parameters = N'{"table": "InferenceRequests", "definition": {"unique": false, "clustered": false, "keys": ["StartTime"], "filter": "([StartTime] IS NOT NULL); DROP TABLE [dbo].[InferenceRequests]"}}',
        @ActionId = @ActionId OUTPUT;
    EXEC dbo.sp_ExecuteOnlineActions;
    SELECT @Status = Status, @Error = LEFT(ErrorMessage, 4000) FROM dbo.AutonomousActions WHERE ActionId = @ActionId;
    EXEC tSQLt.AssertEqualsString @Expected = N'Reverting', @Actual = @Status;
    EXEC tSQLt.AssertLike @ExpectedPattern = N'the revert failed (tried again next run): sp_ExecuteOnlineActions: no revert statement%filter was refused%', @Actual = @Error;
END;
GO

--[@tSQLt:NoTransaction](DEFAULT)
CREATE PROCEDURE test_sp_ExecuteOnlineActions.[test an action whose status changed while it ran is rolled back and nothing is recorded]
AS
BEGIN
    DECLARE @ActionId BIGINT, @Status NVARCHAR(16), @Online INT, @Calls INT;
    EXEC test_autonomy_fixtures.IsolateLoop;
    -- purge_loop_history runs in the runner's transaction; its stand-in settles the action meanwhile
    -- (a person's rejection, another runner: a lost race), so the Applied update matches no row
    EXEC tSQLt.SpyProcedure @ProcedureName = N'dbo.sp_PurgeAutonomousHistory',
        @CommandToExecute = N'UPDATE dbo.AutonomousActions SET Status = N''Rejected'' WHERE Status = N''Executing'';';
    EXEC test_autonomy_fixtures.AddAction @ActionType = N'purge_loop_history', @Status = N'Executing', @ActionId = @ActionId OUTPUT;
    EXEC dbo.sp_ExecuteOnlineActions;
    SELECT @Status = Status FROM dbo.AutonomousActions WHERE ActionId = @ActionId;
    SELECT @Online = COUNT(*) FROM dbo.OODALoopMetrics WHERE Phase = N'Online';
    SELECT @Calls = COUNT(*) FROM dbo.sp_PurgeAutonomousHistory_SpyProcedureLog;
    -- the statement and what it changed are rolled back with the runner's transaction, and no
    -- outcome (Applied, a success row) is recorded for an action it no longer owns
    EXEC tSQLt.AssertEqualsString @Expected = N'Executing', @Actual = @Status;
    EXEC tSQLt.AssertEquals @Expected = 0, @Actual = @Online;
    EXEC tSQLt.AssertEquals @Expected = 0, @Actual = @Calls;
END;
GO

--[@tSQLt:NoTransaction](DEFAULT)
CREATE PROCEDURE test_sp_ExecuteOnlineActions.[test a reclustering runs discovery outside any transaction with the runs parameters]
AS
BEGIN
    DECLARE @ActionId BIGINT, @Status NVARCHAR(16), @Calls INT, @Called NVARCHAR(400), @Online INT;
    EXEC test_autonomy_fixtures.IsolateLoop;
    -- the stand-in records what it was called with and whether a transaction was open (none: the
    -- real procedure then holds none while its Python runs)
    EXEC tSQLt.SpyProcedure @ProcedureName = N'dbo.fn_DiscoverConcepts',
        @CommandToExecute = N'IF @@TRANCOUNT > 0 THROW 50000, N''fn_DiscoverConcepts ran inside a transaction'', 1;';
    EXEC test_autonomy_fixtures.AddAction @ActionType = N'recluster_concepts', @Status = N'Executing',
        @TargetName = N'424242/tsqlt-drift',
        @Parameters = N'{"tenant":424242,"type":"tsqlt-drift","run":900,"min_cluster_size":5,"coherence_threshold":0.35,"max_concepts":50}',
        @ActionId = @ActionId OUTPUT;
    EXEC dbo.sp_ExecuteOnlineActions;
    SELECT @Status = Status FROM dbo.AutonomousActions WHERE ActionId = @ActionId;
    SELECT @Calls = COUNT(*),
           @Called = MAX(CONCAT_WS(N'|', MinClusterSize, CoherenceThreshold, MaxConcepts, TenantId, EmbeddingType))
    FROM dbo.fn_DiscoverConcepts_SpyProcedureLog;
    SELECT @Online = COUNT(*) FROM dbo.OODALoopMetrics WHERE Phase = N'Online' AND Success = 1;
    EXEC tSQLt.AssertEqualsString @Expected = N'Applied', @Actual = @Status;
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @Calls;
    EXEC tSQLt.AssertEqualsString @Expected = N'5|0.35|50|424242|tsqlt-drift', @Actual = @Called;
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @Online;
END;
GO
