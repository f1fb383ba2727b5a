-- kind: procedure
-- requires: dbo.sp_Analyze, dbo.sp_Hypothesize, dbo.sp_Act, dbo.sp_Learn, dbo.AutonomousObservations, dbo.AutonomousActions
-- One cycle of the loop on demand (seed 003), outside the queues: observe, propose, act, judge what
-- is due. @TargetArea performance or maintenance limits what is observed and proposed (NULL or all:
-- everything). @DryRun = 1 reports what the cycle would do and rolls it all back: the cycle's
-- candidates (and with @Debug = 1 its observations) as a result set, sp_Act's decisions as
-- messages; a dry run leaves nothing the loop could pick up and apply later. The report is kept in
-- a table variable, which a rollback leaves alone, and selected after it; the external scripts the
-- phases run change no data. @RequireHumanApproval = 1 leaves every candidate waiting for
-- sp_ApproveAction; @MaxChangesPerRun caps what it applies; @Debug = 1 prints each observation and,
-- after a real run, each action the run touched. Called outside a transaction, each phase commits
-- on its own, and sp_Act and sp_Learn then run dbo.sp_ExecuteOnlineActions: the index builds, drops,
-- rebuilds and reverts and the batch procedures they decided, each in a transaction of its own
-- (PostgreSQL: the online actions it runs between the phases). Inside a caller's transaction those
-- stay Executing / Reverting for the next run of it (a DBA's, or the activation loop's).
CREATE OR ALTER PROCEDURE dbo.sp_AutonomousImprovement
    @DryRun INT = 1,
    @MaxChangesPerRun INT = 1,
    @RequireHumanApproval INT = 1,
    @TargetArea NVARCHAR(32) = N'performance',
    @Debug INT = 0,
    @CycleId BIGINT = NULL OUTPUT
AS
BEGIN
    SET NOCOUNT ON;
    SET @CycleId = NULLIF(@CycleId, 0);  -- also an input, as sp_Analyze's; there is no cycle 0
    DECLARE @Area NVARCHAR(32) = LOWER(COALESCE(NULLIF(@TargetArea, N''), N'all')), @Scope NVARCHAR(16);
    DECLARE @Outer INT = @@TRANCOUNT, @Message NVARCHAR(2048), @RunStarted DATETIME2(3) = SYSUTCDATETIME();
    DECLARE @Line INT = 0, @Text NVARCHAR(4000);
    DECLARE @Report TABLE (Line INT IDENTITY(1, 1) PRIMARY KEY, Report NVARCHAR(4000) NOT NULL);
    IF @DryRun IS NULL OR @DryRun NOT IN (0, 1) OR COALESCE(@RequireHumanApproval, 0) NOT IN (0, 1)
       OR COALESCE(@Debug, 0) NOT IN (0, 1)
        THROW 51430, N'sp_AutonomousImprovement: DryRun, RequireHumanApproval and Debug are 0 or 1', 1;
    IF @Area NOT IN (N'performance', N'maintenance', N'all')
    BEGIN
        SET @Message = CONCAT(N'sp_AutonomousImprovement: TargetArea must be performance, maintenance or all, not ', @TargetArea);
        THROW 51431, @Message, 1;
    END;
    SET @Scope = CASE @Area WHEN N'all' THEN N'full' ELSE @Area END;

    IF @DryRun = 1
    BEGIN
        IF @Outer = 0
            BEGIN TRANSACTION;
        ELSE
            SAVE TRANSACTION sp_AutonomousImprovement;
        BEGIN TRY
            EXEC dbo.sp_Analyze @TenantId = NULL, @AnalysisScope = @Scope, @LookbackHours = NULL, @CycleId = @CycleId OUTPUT,
                @TriggeredBy = N'sp_AutonomousImprovement';
            EXEC dbo.sp_Hypothesize @TenantId = NULL, @CycleId = @CycleId OUTPUT, @TargetArea = @Area;
            IF @Debug = 1
                INSERT INTO @Report (Report)
                SELECT CONCAT(N'observed ', o.Kind, N': ', o.TargetObject, N' = ', o.Metric, N' (baseline ',
                              COALESCE(CONVERT(NVARCHAR(40), o.Baseline), N'-'), N')')
                FROM dbo.AutonomousObservations AS o WHERE o.CycleId = @CycleId
                ORDER BY o.ObservationId;
            EXEC dbo.sp_Act @TenantId = NULL, @AutoApproveThreshold = NULL, @MaxChangesPerRun = @MaxChangesPerRun,
                @RequireHumanApproval = @RequireHumanApproval, @DryRun = 1, @CycleId = @CycleId OUTPUT;
            INSERT INTO @Report (Report)
            SELECT CONCAT(N'candidate ', a.ActionType, N' (score ', a.Score, N'): ', a.Command)
            FROM dbo.AutonomousActions AS a
            WHERE a.Status IN (N'Proposed', N'AwaitingApproval', N'Approved')
            ORDER BY a.Score DESC, a.ActionId;
        END TRY
        BEGIN CATCH
            IF @Outer = 0 AND XACT_STATE() <> 0
                ROLLBACK TRANSACTION;
            ELSE IF XACT_STATE() = 1
                ROLLBACK TRANSACTION sp_AutonomousImprovement;
            THROW;
        END CATCH;
        IF @Outer = 0
            ROLLBACK TRANSACTION;
        ELSE
            ROLLBACK TRANSACTION sp_AutonomousImprovement;
        SET @CycleId = NULL;  -- rolled back with the rest
        SELECT r.Report FROM @Report AS r ORDER BY r.Line;
        RETURN;
    END;

    EXEC dbo.sp_Analyze @TenantId = NULL, @AnalysisScope = @Scope, @LookbackHours = NULL, @CycleId = @CycleId OUTPUT,
        @TriggeredBy = N'sp_AutonomousImprovement';
    EXEC dbo.sp_Hypothesize @TenantId = NULL, @CycleId = @CycleId OUTPUT, @TargetArea = @Area;
    IF @Debug = 1
        INSERT INTO @Report (Report)
        SELECT CONCAT(N'observed ', o.Kind, N': ', o.TargetObject, N' = ', o.Metric, N' (baseline ',
                      COALESCE(CONVERT(NVARCHAR(40), o.Baseline), N'-'), N')')
        FROM dbo.AutonomousObservations AS o WHERE o.CycleId = @CycleId
        ORDER BY o.ObservationId;
    EXEC dbo.sp_Act @TenantId = NULL, @AutoApproveThreshold = NULL, @MaxChangesPerRun = @MaxChangesPerRun,
        @RequireHumanApproval = @RequireHumanApproval, @DryRun = 0, @CycleId = @CycleId OUTPUT;
    EXEC dbo.sp_Learn @TenantId = NULL, @CycleId = @CycleId OUTPUT;
    IF @Debug = 1
        INSERT INTO @Report (Report)
        SELECT CONCAT(N'action ', a.ActionId, N': ', a.ActionType, N' is ', a.Status, N' ', COALESCE(a.StatusReason, a.ErrorMessage, N''))
        FROM dbo.AutonomousActions AS a
        WHERE a.ProposedAt >= @RunStarted OR a.DecidedAt >= @RunStarted OR a.AppliedAt >= @RunStarted OR a.JudgedAt >= @RunStarted
        ORDER BY a.ActionId;
    -- (PostgreSQL's RAISE NOTICE: messages, after the run)
    WHILE 1 = 1
    BEGIN
        SET @Text = NULL;
        SELECT TOP (1) @Line = r.Line, @Text = r.Report FROM @Report AS r WHERE r.Line > @Line ORDER BY r.Line;
        IF @Text IS NULL
            BREAK;
        PRINT @Text;
    END;
END;
