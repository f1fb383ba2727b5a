-- kind: procedure
-- requires: dbo.fn_QueueIndexRebuilds, dbo.sp_ExecuteOnlineActions
-- Seed 003's monthly task, as an action of the loop's catalog run by hand: rebuild online
-- (REINDEX INDEX CONCURRENTLY) every B-tree index of the package's schemas of at least
-- MinIndexBytes whose leaf pages are less than MinLeafDensity percent full, each recorded in
-- dbo.AutonomousActions with its before-state and judged by the next sp_Learn. DryRun = 1 lists
-- them (NOTICE) and rebuilds nothing. CALL it outside a transaction block.
CREATE OR REPLACE PROCEDURE dbo.sp_RebuildFragmentedIndexes(
    MinLeafDensity double precision DEFAULT {{ policy.LOOP_LEAF_DENSITY }},
    MinIndexBytes bigint DEFAULT {{ policy.LOOP_MIN_INDEX_BYTES }},
    DryRun integer DEFAULT 0
)
LANGUAGE plpgsql
AS $$
DECLARE
    queued integer;
BEGIN
    queued := dbo.fn_QueueIndexRebuilds(MinLeafDensity, MinIndexBytes, DryRun);
    RAISE NOTICE 'sp_RebuildFragmentedIndexes: % indexes %', queued, CASE WHEN DryRun = 1 THEN 'would be rebuilt' ELSE 'to rebuild' END;
    IF DryRun = 0 AND queued > 0 THEN
        COMMIT;
        CALL dbo.sp_ExecuteOnlineActions();
    END IF;
END
$$;
