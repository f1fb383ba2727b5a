-- kind: procedure
-- requires: dbo.fn_NextOnlineAction, dbo.fn_OnlineActionSession, dbo.fn_OnlineRunner
-- Run the actions sp_Act marked Executing, and the reverts sp_Learn marked Reverting, one at a
-- time in a second session (dbo.fn_OnlineActionSession): first drop what a failed build of the
-- same index left, then the statement, waiting while it runs (at most LOOP_ONLINE_MAX_SECONDS,
-- then cancelled), then check and record the outcome, cleaning up again after a failed build.
-- This session commits between steps: CREATE INDEX CONCURRENTLY waits for every older snapshot,
-- this session's too. One runner at a time (dbo.fn_OnlineRunner); a second returns at once.
-- A revert that failed stays Reverting and is tried again by the next run. (SQL Server's twin runs
-- only the batch procedures this way; its index actions run ONLINE inside sp_Act.) CALL it outside a
-- transaction block. It runs as its caller (PostgreSQL refuses COMMIT in a SECURITY DEFINER
-- procedure); the functions it calls run as their owner.
CREATE OR REPLACE PROCEDURE dbo.sp_ExecuteOnlineActions()
LANGUAGE plpgsql
AS $$
DECLARE
    action_id bigint;
    tried bigint[] := '{}';
    outcome text;
    started timestamptz;
BEGIN
    IF NOT dbo.fn_OnlineRunner('take') THEN
        RETURN;
    END IF;
    LOOP
        action_id := dbo.fn_NextOnlineAction(tried);
        EXIT WHEN action_id IS NULL;
        tried := tried || action_id;  -- once per run: a revert that fails waits for the next run
        COMMIT;  -- no snapshot of this session may be older than the statement's
        -- leftovers of an earlier failed build of the same index, then the statement itself
        LOOP
            outcome := dbo.fn_OnlineActionSession('cleanup', action_id);
            COMMIT;
            EXIT WHEN outcome IS DISTINCT FROM 'cleanup';
            WHILE dbo.fn_OnlineActionSession('busy') IS NOT NULL LOOP
                COMMIT;
                PERFORM pg_catalog.pg_sleep(0.1);
            END LOOP;
            COMMIT;
            PERFORM dbo.fn_OnlineActionSession('finish cleanup', action_id);
            COMMIT;
        END LOOP;
        EXIT WHEN outcome LIKE 'wait:%';
        CONTINUE WHEN outcome IS NOT NULL;  -- could not clean up or connect: tried again next run
        outcome := dbo.fn_OnlineActionSession('start', action_id);
        COMMIT;
        EXIT WHEN outcome LIKE 'wait:%';
        CONTINUE WHEN outcome IS NOT NULL;  -- recorded as failed by the start itself
        started := pg_catalog.clock_timestamp();
        WHILE dbo.fn_OnlineActionSession('busy') IS NOT NULL LOOP
            COMMIT;
            IF pg_catalog.clock_timestamp() - started > interval '{{ policy.LOOP_ONLINE_MAX_SECONDS }} seconds' THEN
                PERFORM dbo.fn_OnlineActionSession('cancel');
            END IF;
            PERFORM pg_catalog.pg_sleep(0.05);
            COMMIT;
        END LOOP;
        COMMIT;
        outcome := dbo.fn_OnlineActionSession('finish', action_id, started);
        COMMIT;
    END LOOP;
    PERFORM dbo.fn_OnlineRunner('release');
END
$$;
