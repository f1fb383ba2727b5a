-- kind: procedure
-- requires: dbo.sp_ExecuteOnlineActions, dbo.AutonomousActions, dbo.AutonomousActionCatalog, dbo.fn_AutonomousActionStatement
-- Seed 003's monthly task, as an action of the loop's catalog run by hand: rebuild every rowstore
-- B-tree index of the package's schemas (dbo, graph, provenance) of at least @MinIndexBytes whose
-- leaf pages are less than @MinLeafDensity percent full (sys.dm_db_index_physical_stats, SAMPLED),
-- and that has no open action of its own: online (ALTER INDEX ... REBUILD WITH (ONLINE = ON)) where
-- the edition has online index operations, REORGANIZE elsewhere (dbo.fn_AutonomousActionStatement).
-- Each is recorded in dbo.AutonomousActions with its before-state, decided by the caller, Executing,
-- and judged by the next sp_Learn. dbo.sp_ExecuteOnlineActions rebuilds them, each in a transaction
-- of its own (a failed one is recorded Failed and the next is tried), under the online lock
-- timeout: this procedure calls it when called outside a transaction; inside one (whose locks a
-- rebuild must not wait behind) they stay Executing for the next run of it (the activation loop's,
-- or a DBA's EXEC dbo.sp_ExecuteOnlineActions), as PostgreSQL's twin must be CALLed outside a
-- transaction block. @DryRun = 1 lists them (PRINT) and records nothing. Runs as its owner (the
-- DMVs need VIEW DATABASE STATE); DecidedBy is the caller's login.
CREATE OR ALTER PROCEDURE dbo.sp_RebuildFragmentedIndexes
    @MinLeafDensity FLOAT = {{ policy.LOOP_LEAF_DENSITY }},
    @MinIndexBytes BIGINT = {{ policy.LOOP_MIN_INDEX_BYTES }},
    @DryRun INT = 0
WITH EXECUTE AS OWNER
AS
BEGIN
    SET NOCOUNT ON;
    DECLARE @Outer INT = @@TRANCOUNT, @Count INT = 0, @Ordinal INT = 0, @Now DATETIME2(3), @Who NVARCHAR(128) = ORIGINAL_LOGIN();
    DECLARE @Schema NVARCHAR(128), @Index NVARCHAR(128), @Table NVARCHAR(128), @Density FLOAT, @Parameters NVARCHAR(MAX);
    DECLARE @Statement NVARCHAR(MAX), @State NVARCHAR(MAX);
    DECLARE @Fragmented TABLE (Ordinal INT IDENTITY(1, 1) PRIMARY KEY, SchemaName NVARCHAR(128) NOT NULL,
                               IndexName NVARCHAR(128) NOT NULL, TableName NVARCHAR(128) NOT NULL, Density FLOAT NOT NULL);
    IF @MinLeafDensity IS NULL OR @MinLeafDensity <= 0 OR @MinLeafDensity > 100
        THROW 51440, N'sp_RebuildFragmentedIndexes: MinLeafDensity must be above 0 and at most 100', 1;
    IF @MinIndexBytes IS NULL OR @MinIndexBytes < 0 OR COALESCE(@DryRun, -1) NOT IN (0, 1)
        THROW 51441, N'sp_RebuildFragmentedIndexes: MinIndexBytes must be 0 or more, DryRun 0 or 1', 1;

    INSERT INTO @Fragmented (SchemaName, IndexName, TableName, Density)
    SELECT s.name, i.name, t.name, d.Density
    FROM sys.indexes AS i
    INNER JOIN sys.tables AS t ON t.object_id = i.object_id
    INNER JOIN sys.schemas AS s ON s.schema_id = t.schema_id
    CROSS APPLY (SELECT SUM(p.used_page_count) * 8192 AS Bytes FROM sys.dm_db_partition_stats AS p
                 WHERE p.object_id = i.object_id AND p.index_id = i.index_id) AS z
    CROSS APPLY (SELECT SUM(f.avg_page_space_used_in_percent * f.page_count) / NULLIF(SUM(f.page_count), 0) AS Density
                 FROM sys.dm_db_index_physical_stats(DB_ID(), i.object_id, i.index_id, NULL, 'SAMPLED') AS f
                 WHERE f.index_level = 0 AND f.alloc_unit_type_desc = N'IN_ROW_DATA') AS d
    WHERE s.name IN (N'dbo', N'graph', N'provenance') AND i.type IN (1, 2) AND i.is_disabled = 0 AND i.is_hypothetical = 0
      AND t.is_memory_optimized = 0 AND t.is_ms_shipped = 0
      AND z.Bytes >= @MinIndexBytes AND d.Density < @MinLeafDensity
      AND NOT EXISTS (SELECT 1 FROM dbo.AutonomousActions AS a
                      WHERE a.ActionType = N'reindex_index' AND a.TargetSchema = s.name AND a.TargetName = i.name
                        AND a.Status IN (N'Proposed', N'AwaitingApproval', N'Approved', N'Executing', N'Applied', N'Reverting'))
    ORDER BY s.name, i.name;

    IF @DryRun = 0 AND NOT EXISTS (SELECT 1 FROM dbo.AutonomousActionCatalog WHERE ActionType = N'reindex_index')
        INSERT INTO dbo.AutonomousActionCatalog (ActionType) VALUES (N'reindex_index');
    WHILE 1 = 1
    BEGIN
        SET @Ordinal = @Ordinal + 1;
        SET @Index = NULL;
        SELECT @Schema = f.SchemaName, @Index = f.IndexName, @Table = f.TableName, @Density = f.Density
        FROM @Fragmented AS f WHERE f.Ordinal = @Ordinal;
        IF @Index IS NULL
            BREAK;
        SET @Count = @Count + 1;
        SET @Parameters = (SELECT @Table AS [table] FOR JSON PATH, WITHOUT_ARRAY_WRAPPER);
        SET @Statement = dbo.fn_AutonomousActionStatement(N'reindex_index', @Schema, @Index, NULL, @Parameters, 0);
        IF @DryRun = 1
        BEGIN
            PRINT CONCAT(N'would rebuild ', @Schema, N'.', @Index, N' (leaf pages ', ROUND(@Density, 1), N'% full): ', @Statement);
            CONTINUE;
        END;
        SET @Now = SYSUTCDATETIME();
        SET @State = (SELECT 100 - @Density AS metric FOR JSON PATH, WITHOUT_ARRAY_WRAPPER);
        INSERT INTO dbo.AutonomousActions (ActionType, TargetSchema, TargetName, Parameters, Command, ExpectedGain, Score, Reason,
                                           Status, DecidedBy, DecidedAt, BeforeState, MetricBefore)
        VALUES (N'reindex_index', @Schema, @Index, @Parameters, @Statement,
                CASE WHEN 1 - @Density / 90.0 > 1 THEN 1 WHEN 1 - @Density / 90.0 < 0 THEN 0 ELSE 1 - @Density / 90.0 END, 0,
                CONCAT(N'sp_RebuildFragmentedIndexes: leaf pages ', ROUND(@Density, 1), N'% full'), N'Executing',
                @Who, @Now, @State, 100 - @Density);
    END;
    PRINT CONCAT(N'sp_RebuildFragmentedIndexes: ', @Count, N' indexes ', CASE WHEN @DryRun = 1 THEN N'would be rebuilt' ELSE N'to rebuild' END);
    -- the rebuilds run outside any transaction, each in one of its own: only when this call began none
    IF @Outer = 0 AND @DryRun = 0 AND @Count > 0
        EXEC dbo.sp_ExecuteOnlineActions;
END;
