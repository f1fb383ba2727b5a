-- kind: function
-- The statement an action runs (@Revert = 1: the one that undoes it, NULL when the catalog has
-- none), built from its typed columns with every identifier through QUOTENAME: what sp_Act,
-- sp_ExecuteOnlineActions and sp_Learn run and what dbo.AutonomousActions.Command shows are the
-- same text, and no stored text is ever executed. Values never enter the text: the statements that
-- take one name the parameters the callers pass to sp_executesql, always these three:
--   @TargetName NVARCHAR(128) = the action's TargetName, @TenantId INT = TRY_CAST(TargetName AS INT),
--   @Parameters NVARCHAR(MAX) = the action's Parameters (recluster_concepts reads the previous
--   discovery run's parameters from it, each through its type: {"tenant", "type", "run",
--   "min_cluster_size", "coherence_threshold", "max_concepts"}; NULL without a tenant or type).
-- Index actions read Parameters (JSON) as sp_Hypothesize records it:
--   create_index  {"table": name, "statements": [query_id, ...], "include": [column, ...]}: the key
--                 columns are TargetColumns (a JSON array), in order; include is optional
--   drop_index    {"table": name, "definition": {"unique": bool, "clustered": bool,
--                  "keys": [{"column": name, "descending": bool}, ...], "include": [column, ...],
--                  "filter": sys.indexes.filter_definition or null}}: SQL Server has no
--                 pg_get_indexdef, so the revert re-creates the index from this record (a key or
--                 include item may also be a bare column name: ascending). The revert restores the
--                 keys, their order, INCLUDE, UNIQUE, CLUSTERED and the filter, and nothing else:
--                 not the data compression, fill factor / PAD_INDEX, partitioning or filegroup, nor
--                 IGNORE_DUP_KEY, STATISTICS_NORECOMPUTE or the row/page lock options (the defaults
--                 apply). The filter is read whole (OPENJSON ... WITH NVARCHAR(MAX): JSON_VALUE would
--                 read NULL past 4000 characters and re-create the index without it), and one holding
--                 ';', '--' or '/*' is refused: the revert is NULL and fails clearly instead of running.
--   reindex_index {"table": name}
-- Index builds run WITH (ONLINE = ON) where the edition has online index operations (Enterprise,
-- Developer, Azure SQL: EngineEdition 3, 5, 8); elsewhere they build offline, and sp_Act runs
-- such a build only once a person approved it. A rebuild there is a REORGANIZE, always online.
-- WAIT_AT_LOW_PRIORITY (behind a long transaction the statement gives up itself after
-- LOOP_ONLINE_LOCK_TIMEOUT_SECONDS, rounded up to minutes, rather than block the table's writers):
-- ALTER INDEX ... REBUILD has it on every supported version (SQL Server 2014 and later); CREATE
-- INDEX only from SQL Server 2022 (16.x), so the 2019 rendering builds with ONLINE = ON alone (the
-- runner's LOCK_TIMEOUT bounds the wait there); DROP INDEX has no WAIT_AT_LOW_PRIORITY on any
-- version (ONLINE = ON applies to a clustered index only). sp_ExecuteOnlineActions runs the index
-- statements, each in a transaction of its own, outside the phases'.
-- An action type it cannot build (not in the catalog, or vacuum_table, which is PostgreSQL-only:
-- SQL Server has no dead rows to vacuum, ghost cleanup is the engine's) gives NULL: a function
-- cannot THROW, and the conversion error it once raised instead (245) dooms the caller's
-- transaction inside TRY, so one bad action failed the whole phase every cycle. The callers raise a
-- user error (sp_Act 51405, sp_ExecuteOnlineActions 51462) that leaves the transaction committable
-- and is recorded as that action's failure. A key or INCLUDE column QUOTENAME cannot quote (a name
-- over 128 characters) or an item that is neither a name nor {"column": name} gives NULL too:
-- QUOTENAME would give NULL, STRING_AGG would drop it, and the index would be built with fewer
-- columns than it was proposed with. WITH INLINE = OFF: SQL Server 2019's scalar UDF inlining
-- would otherwise rewrite this function into its callers' queries (and reject or slow them).
CREATE OR ALTER FUNCTION dbo.fn_AutonomousActionStatement(
    @ActionType NVARCHAR(64),
    @TargetSchema NVARCHAR(128),
    @TargetName NVARCHAR(128),
    @TargetColumns NVARCHAR(400),
    @Parameters NVARCHAR(MAX),
    @Revert SMALLINT = 0
)
RETURNS NVARCHAR(MAX)
WITH INLINE = OFF
AS
BEGIN
    DECLARE @Online BIT = CASE WHEN CAST(SERVERPROPERTY('EngineEdition') AS INT) IN (3, 5, 8) THEN 1 ELSE 0 END;
    DECLARE @Index NVARCHAR(260) = QUOTENAME(@TargetName);
    DECLARE @Table NVARCHAR(520) = CONCAT(QUOTENAME(@TargetSchema), N'.', QUOTENAME(JSON_VALUE(@Parameters, N'$.table')));
    DECLARE @Definition NVARCHAR(MAX), @Keys NVARCHAR(MAX), @Include NVARCHAR(MAX), @Filter NVARCHAR(MAX);
    DECLARE @Clustered BIT, @Unique BIT, @KeyItems INT, @KeysQuoted INT, @IncludeItems INT, @IncludeQuoted INT;
    -- the WITH clause of an online CREATE INDEX on this version (see the header)
    DECLARE @OnlineBuild NVARCHAR(200) = CASE WHEN @Online = 1 THEN
{%- if mssql_version >= 2022 %}
        N' WITH (ONLINE = ON (WAIT_AT_LOW_PRIORITY (MAX_DURATION = {{ (policy.LOOP_ONLINE_LOCK_TIMEOUT_SECONDS + 59) // 60 }} MINUTES, ABORT_AFTER_WAIT = SELF)))'
{%- else %}
        N' WITH (ONLINE = ON)'
{%- endif %}
        END;
    SET @Revert = COALESCE(@Revert, 0);

    IF @ActionType = N'create_index'
    BEGIN
        IF @Revert = 1
            RETURN CONCAT(N'DROP INDEX IF EXISTS ', @Index, N' ON ', @Table);  -- a new index is nonclustered: no ONLINE needed
        SELECT @Keys = STRING_AGG(CAST(q.Quoted AS NVARCHAR(MAX)), N', ') WITHIN GROUP (ORDER BY q.Ordinal),
               @KeyItems = COUNT(*), @KeysQuoted = COUNT(q.Quoted)
        FROM OPENJSON(@TargetColumns) AS j
        CROSS APPLY (SELECT CAST(j.[key] AS INT) AS Ordinal,
                            QUOTENAME(CASE j.type WHEN 1 THEN j.value WHEN 5 THEN JSON_VALUE(j.value, N'$.column') END) AS Quoted) AS q;
        SELECT @Include = STRING_AGG(CAST(q.Quoted AS NVARCHAR(MAX)), N', ') WITHIN GROUP (ORDER BY q.Ordinal),
               @IncludeItems = COUNT(*), @IncludeQuoted = COUNT(q.Quoted)
        FROM OPENJSON(@Parameters, N'$.include') AS j
        CROSS APPLY (SELECT CAST(j.[key] AS INT) AS Ordinal,
                            QUOTENAME(CASE j.type WHEN 1 THEN j.value WHEN 5 THEN JSON_VALUE(j.value, N'$.column') END) AS Quoted) AS q;
        IF @Keys IS NULL OR @KeysQuoted <> @KeyItems OR @IncludeQuoted <> @IncludeItems
            RETURN NULL;  -- a column it cannot quote: never an index with fewer columns (see the header)
        RETURN CONCAT(N'CREATE INDEX ', @Index, N' ON ', @Table, N' (', @Keys, N')',
                      N' INCLUDE (' + @Include + N')', @OnlineBuild);
    END;

    IF @ActionType = N'drop_index'
    BEGIN
        SET @Definition = JSON_QUERY(@Parameters, N'$.definition');
        SET @Clustered = CASE WHEN JSON_VALUE(@Definition, N'$.clustered') IN (N'true', N'1') THEN 1 ELSE 0 END;
        IF @Revert = 0
            RETURN CONCAT(N'DROP INDEX IF EXISTS ', @Index, N' ON ', @Table,
                          CASE WHEN @Clustered = 1 AND @Online = 1 THEN N' WITH (ONLINE = ON)' END);
        SET @Unique = CASE WHEN JSON_VALUE(@Definition, N'$.unique') IN (N'true', N'1') THEN 1 ELSE 0 END;
        SELECT @Keys = STRING_AGG(CAST(q.Quoted + CASE WHEN j.type = 5 AND JSON_VALUE(j.value, N'$.descending') IN (N'true', N'1')
                                                       THEN N' DESC' ELSE N' ASC' END AS NVARCHAR(MAX)), N', ')
                       WITHIN GROUP (ORDER BY q.Ordinal),
               @KeyItems = COUNT(*), @KeysQuoted = COUNT(q.Quoted)
        FROM OPENJSON(@Definition, N'$.keys') AS j
        CROSS APPLY (SELECT CAST(j.[key] AS INT) AS Ordinal,
                            QUOTENAME(CASE j.type WHEN 1 THEN j.value WHEN 5 THEN JSON_VALUE(j.value, N'$.column') END) AS Quoted) AS q;
        SELECT @Include = STRING_AGG(CAST(q.Quoted AS NVARCHAR(MAX)), N', ') WITHIN GROUP (ORDER BY q.Ordinal),
               @IncludeItems = COUNT(*), @IncludeQuoted = COUNT(q.Quoted)
        FROM OPENJSON(@Definition, N'$.include') AS j
        CROSS APPLY (SELECT CAST(j.[key] AS INT) AS Ordinal,
                            QUOTENAME(CASE j.type WHEN 1 THEN j.value WHEN 5 THEN JSON_VALUE(j.value, N'$.column') END) AS Quoted) AS q;
        -- the filter is an expression, not a name: the engine's own text (sys.indexes.filter_definition)
        -- recorded at proposal time, as PostgreSQL re-runs pg_get_indexdef's text; read whole, never cut
        SELECT @Filter = f.FilterText FROM OPENJSON(@Definition) WITH (FilterText NVARCHAR(MAX) '$.filter') AS f;
        IF @Keys IS NULL
            RETURN NULL;  -- no definition recorded: nothing to re-create it from
        IF @KeysQuoted <> @KeyItems OR @IncludeQuoted <> @IncludeItems
            RETURN NULL;  -- a column it cannot quote: never an index with fewer columns (see the header)
        IF CHARINDEX(N';', @Filter) > 0 OR CHARINDEX(N'--', @Filter) > 0 OR CHARINDEX(N'/*', @Filter) > 0
            RETURN NULL;  -- not what filter_definition holds: never spliced into a statement
        RETURN CONCAT(N'CREATE ', CASE WHEN @Unique = 1 THEN N'UNIQUE ' END,
                      CASE WHEN @Clustered = 1 THEN N'CLUSTERED ' ELSE N'NONCLUSTERED ' END,
                      N'INDEX ', @Index, N' ON ', @Table, N' (', @Keys, N')',
                      N' INCLUDE (' + @Include + N')', N' WHERE ' + @Filter, @OnlineBuild);
    END;

    -- vacuum_table (PostgreSQL-only), a type outside the catalog, NULL: nothing to run (see the header)
    IF @ActionType IS NULL
       OR @ActionType NOT IN (N'reindex_index', N'analyze_table', N'refit_projections', N'rebuild_vector_index',
                              N'recluster_concepts', N'archive_inference_requests', N'archive_billing_usage',
                              N'purge_loop_history')
        RETURN NULL;
    IF @Revert = 1
        RETURN NULL;
    IF @ActionType = N'reindex_index'
        RETURN CONCAT(N'ALTER INDEX ', @Index, N' ON ', @Table,
                      CASE WHEN @Online = 1
                           -- behind a long transaction it gives up itself rather than block the table's writers
                           THEN N' REBUILD WITH (ONLINE = ON (WAIT_AT_LOW_PRIORITY (MAX_DURATION = {{ (policy.LOOP_ONLINE_LOCK_TIMEOUT_SECONDS + 59) // 60 }} MINUTES, ABORT_AFTER_WAIT = SELF)))'
                           ELSE N' REORGANIZE' END);
    IF @ActionType = N'analyze_table'
        RETURN CONCAT(N'UPDATE STATISTICS ', QUOTENAME(@TargetSchema), N'.', QUOTENAME(@TargetName));
    IF @ActionType = N'refit_projections'
        RETURN N'EXEC dbo.sp_RecomputeAllSpatialProjections @EmbeddingType = @TargetName';
    IF @ActionType = N'rebuild_vector_index'
        RETURN N'EXEC dbo.sp_BuildVectorIndex @TenantId = @TenantId, @Mode = N''rebuild''';
    IF @ActionType = N'recluster_concepts'
    BEGIN
        IF TRY_CONVERT(INT, JSON_VALUE(@Parameters, N'$.tenant')) IS NULL OR JSON_VALUE(@Parameters, N'$.type') IS NULL
            RETURN NULL;  -- never a run for whatever tenant the session resolves to
        RETURN CONCAT(N'DECLARE @MinClusterSize INT = TRY_CONVERT(INT, JSON_VALUE(@Parameters, N''$.min_cluster_size'')), ',
                      N'@CoherenceThreshold FLOAT = TRY_CONVERT(FLOAT, JSON_VALUE(@Parameters, N''$.coherence_threshold'')), ',
                      N'@MaxConcepts INT = TRY_CONVERT(INT, JSON_VALUE(@Parameters, N''$.max_concepts'')), ',
                      N'@Tenant INT = TRY_CONVERT(INT, JSON_VALUE(@Parameters, N''$.tenant'')), ',
                      N'@EmbeddingType NVARCHAR(64) = JSON_VALUE(@Parameters, N''$.type''); ',
                      N'EXEC dbo.fn_DiscoverConcepts @MinClusterSize = @MinClusterSize, @CoherenceThreshold = @CoherenceThreshold, ',
                      N'@MaxConcepts = @MaxConcepts, @TenantId = @Tenant, @EmbeddingType = @EmbeddingType');
    END;
    IF @ActionType = N'archive_inference_requests'
        RETURN N'EXEC dbo.sp_ArchiveInferenceRequests';
    IF @ActionType = N'archive_billing_usage'
        RETURN N'EXEC dbo.sp_ArchiveBillingUsage';
    RETURN N'EXEC dbo.sp_PurgeAutonomousHistory';
END;
