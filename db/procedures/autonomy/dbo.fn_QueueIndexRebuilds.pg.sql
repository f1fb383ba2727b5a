-- kind: function
-- requires: dbo.AutonomousActions, dbo.AutonomousActionCatalog, dbo.fn_AutonomousActionCatalog, dbo.fn_AutonomousActionStatement, pgstattuple
-- engine-specific: PostgreSQL's part of sp_RebuildFragmentedIndexes (leaf density from pgstatindex); SQL Server's sp_RebuildFragmentedIndexes reads sys.dm_db_index_physical_stats and rebuilds in its own session
-- Record a reindex_index action, Executing (decided by the caller), for each B-tree index of the
-- package's schemas of at least MinIndexBytes with leaf pages less than MinLeafDensity percent
-- full and no open action of its own; return how many (DryRun = 1: count and report them only).
CREATE OR REPLACE FUNCTION dbo.fn_QueueIndexRebuilds(MinLeafDensity double precision, MinIndexBytes bigint, DryRun integer)
RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = dbo, public, pg_temp
AS $$
DECLARE
    item record;
    queued integer := 0;
BEGIN
    IF MinLeafDensity IS NULL OR MinLeafDensity <= 0 OR MinLeafDensity > 100 THEN
        RAISE EXCEPTION 'sp_RebuildFragmentedIndexes: MinLeafDensity must be above 0 and at most 100' USING ERRCODE = '22023';
    END IF;
    IF MinIndexBytes IS NULL OR MinIndexBytes < 0 OR coalesce(DryRun, -1) NOT IN (0, 1) THEN
        RAISE EXCEPTION 'sp_RebuildFragmentedIndexes: MinIndexBytes must be 0 or more, DryRun 0 or 1' USING ERRCODE = '22023';
    END IF;
    INSERT INTO dbo.AutonomousActionCatalog (ActionType) VALUES ('reindex_index') ON CONFLICT (ActionType) DO NOTHING;
    FOR item IN SELECT i.schemaname, i.indexrelname, i.relname, s.avg_leaf_density
                FROM pg_stat_user_indexes i
                JOIN pg_class c ON c.oid = i.indexrelid
                JOIN pg_am am ON am.oid = c.relam AND am.amname = 'btree'
                JOIN pg_index x ON x.indexrelid = i.indexrelid AND x.indisvalid
                CROSS JOIN LATERAL pgstatindex(i.indexrelid) s
                WHERE i.schemaname IN ('dbo', 'graph', 'provenance')
                  AND pg_relation_size(i.indexrelid) >= MinIndexBytes
                  AND s.avg_leaf_density < MinLeafDensity
                ORDER BY i.schemaname, i.indexrelname LOOP
        IF DryRun = 1 THEN
            RAISE NOTICE 'would rebuild %.% (leaf pages % %% full)', item.schemaname, item.indexrelname, item.avg_leaf_density;
            queued := queued + 1;
            CONTINUE;
        END IF;
        INSERT INTO dbo.AutonomousActions (ActionType, TargetSchema, TargetName, Parameters, Command, ExpectedGain, Score,
                                           Reason, Status, DecidedBy, DecidedAt, BeforeState, MetricBefore)
        VALUES ('reindex_index', item.schemaname, item.indexrelname, jsonb_build_object('table', item.relname),
                dbo.fn_AutonomousActionStatement('reindex_index', item.schemaname, item.indexrelname, NULL, NULL, 0::smallint),
                least(1.0, greatest(0.0, 1 - item.avg_leaf_density / 90.0)), 0,
                format('sp_RebuildFragmentedIndexes: leaf pages %s%% full', item.avg_leaf_density), 'Executing',
                session_user, now(), jsonb_build_object('metric', 100 - item.avg_leaf_density), 100 - item.avg_leaf_density)
        ON CONFLICT (ActionType, coalesce(TargetSchema, ''), coalesce(TargetName, ''), coalesce(TargetColumns, '{}'))
            WHERE Status IN ('Proposed', 'AwaitingApproval', 'Approved', 'Executing', 'Applied', 'Reverting')
            DO NOTHING;
        IF FOUND THEN
            queued := queued + 1;
        END IF;
    END LOOP;
    RETURN queued;
END
$$;
