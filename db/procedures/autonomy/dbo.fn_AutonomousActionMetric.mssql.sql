-- kind: function
-- requires: dbo.AtomEmbeddings, dbo.Atoms, dbo.fn_ConceptDrift, dbo.InferenceRequests, dbo.BillingUsagePeriods, dbo.BillingUsageLedger, dbo.OODALoopMetrics
-- What a maintenance action should bring down, measured now (lower is better): rows changed since
-- the statistics were updated (the most any statistic of the table saw, sys.dm_db_stats_properties),
-- the empty share of an index's leaf pages (100 - avg_page_space_used_in_percent, SAMPLED), embeddings
-- without projection, embeddings outside the vector index, rows past retention, the share of a
-- concept type's atoms changed since its last discovery run (dbo.fn_ConceptDrift; TargetName
-- '<tenant>/<type>'). Creating and
-- dropping an index are measured on their statements' mean time instead (dbo.fn_TableStatementMs in
-- sp_Act and sp_Learn): NULL for those, and for vacuum_table (PostgreSQL-only).
-- The billing ledger's months before this one are counted from the disk-based tables, never the
-- memory-optimized ledger itself: a transaction that touched a memory-optimized table takes no
-- savepoint (error 12326), and sp_Act and sp_Learn run each action under one. Every charge adds one
-- line item and one call to its month's dbo.BillingUsagePeriods row, so the months' calls less the
-- items already archived to dbo.BillingUsageLedger are the items still in memory.
-- Rows of every tenant when called from the loop's phases (they run as the owner, whom the
-- row-level security predicate lets see all tenants).
CREATE OR ALTER FUNCTION dbo.fn_AutonomousActionMetric(
    @ActionType NVARCHAR(64),
    @TargetSchema NVARCHAR(128),
    @TargetName NVARCHAR(128)
)
RETURNS FLOAT
AS
BEGIN
    DECLARE @Value FLOAT, @ObjectId INT, @IndexId INT;
    DECLARE @Now DATETIME2(3) = SYSUTCDATETIME();
    DECLARE @MonthStart DATE = DATEFROMPARTS(YEAR(@Now), MONTH(@Now), 1);
    IF @ActionType = N'analyze_table'
    BEGIN
        SET @ObjectId = OBJECT_ID(CONCAT(QUOTENAME(@TargetSchema), N'.', QUOTENAME(@TargetName)), N'U');
        IF @ObjectId IS NOT NULL
            SELECT @Value = COALESCE(MAX(p.modification_counter), 0)
            FROM sys.stats AS s
            CROSS APPLY sys.dm_db_stats_properties(s.object_id, s.stats_id) AS p
            WHERE s.object_id = @ObjectId;
    END
    ELSE IF @ActionType = N'reindex_index'
    BEGIN
        SELECT TOP (1) @ObjectId = i.object_id, @IndexId = i.index_id
        FROM sys.indexes AS i
        INNER JOIN sys.objects AS o ON o.object_id = i.object_id
        WHERE o.schema_id = SCHEMA_ID(@TargetSchema) AND i.name = @TargetName AND o.type = 'U'
        ORDER BY i.object_id;
        -- (a NULL object or index would make the function read every index of the database)
        IF @ObjectId IS NOT NULL AND @IndexId IS NOT NULL
            SELECT @Value = 100 - SUM(s.avg_page_space_used_in_percent * s.page_count) / NULLIF(SUM(s.page_count), 0)
            FROM sys.dm_db_index_physical_stats(DB_ID(), @ObjectId, @IndexId, NULL, 'SAMPLED') AS s
            WHERE s.index_level = 0 AND s.alloc_unit_type_desc = N'IN_ROW_DATA';
    END
    ELSE IF @ActionType = N'refit_projections'
        SELECT @Value = COUNT_BIG(*) FROM dbo.AtomEmbeddings AS e
        WHERE e.EmbeddingType = @TargetName AND (e.SpatialGeometry IS NULL OR e.VectorBucket IS NULL);
    ELSE IF @ActionType = N'rebuild_vector_index'
        SELECT @Value = COUNT_BIG(*) FROM dbo.AtomEmbeddings AS e INNER JOIN dbo.Atoms AS a ON a.AtomId = e.AtomId
        WHERE e.Indexed = 0 AND a.TenantId = TRY_CAST(@TargetName AS INT);
    ELSE IF @ActionType = N'recluster_concepts' AND CHARINDEX(N'/', @TargetName) > 1
        SELECT @Value = d.Share
        FROM dbo.fn_ConceptDrift(TRY_CAST(LEFT(@TargetName, CHARINDEX(N'/', @TargetName) - 1) AS INT),
                                 SUBSTRING(@TargetName, CHARINDEX(N'/', @TargetName) + 1, 128)) AS d;
    ELSE IF @ActionType = N'archive_inference_requests'
        SELECT @Value = COUNT_BIG(*) FROM dbo.InferenceRequests AS q
        WHERE q.StartTime < DATEADD(DAY, -{{ policy.LOOP_REQUEST_RETENTION_DAYS }}, @Now);
    ELSE IF @ActionType = N'archive_billing_usage'
        SELECT @Value = CASE WHEN c.Charged - c.Archived > 0 THEN c.Charged - c.Archived ELSE 0 END
        FROM (SELECT (SELECT COALESCE(SUM(p.Calls), 0) FROM dbo.BillingUsagePeriods AS p WHERE p.PeriodStart < @MonthStart) AS Charged,
                     (SELECT COUNT_BIG(*) FROM dbo.BillingUsageLedger AS l
                      WHERE l.RecordedAt < CAST(@MonthStart AS DATETIME2(3))) AS Archived) AS c;
    ELSE IF @ActionType = N'purge_loop_history'
        SELECT @Value = COUNT_BIG(*) FROM dbo.OODALoopMetrics AS m
        WHERE m.ExecutedAt < DATEADD(DAY, -{{ policy.LOOP_HISTORY_RETENTION_DAYS }}, @Now);
    RETURN @Value;
END;
