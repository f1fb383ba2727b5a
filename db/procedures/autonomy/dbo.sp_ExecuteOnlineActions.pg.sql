-- kind: procedure
-- requires: dbo.fn_NextOnlineAction, dbo.fn_OnlineActionSession, dbo.fn_RecordOnlineAction
-- engine-specific: PostgreSQL runs CONCURRENTLY, VACUUM and the batch procedures only as a session's top-level statement, never inside a procedure's transaction; SQL Server's sp_Act runs ONLINE index operations itself; the SQL Server side of the autonomous loop is not written yet (issue #12)
-- Run the actions sp_Act marked Executing, and the reverts sp_Learn marked Reverting, one at a
-- time in a second session (dbo.fn_OnlineActionSession), under a lock_timeout (LockTimeoutMs), so
-- a busy table makes the action fail rather than queue writers behind it. This session commits
-- while it waits: CREATE INDEX CONCURRENTLY waits for every older snapshot, this session's too.
-- One runner at a time (an advisory lock); a second returns at once. CALL it outside a
-- transaction block. It runs as its caller (PostgreSQL refuses COMMIT in a SECURITY DEFINER
-- procedure); the functions it calls run as their owner.
CREATE OR REPLACE PROCEDURE dbo.sp_ExecuteOnlineActions(LockTimeoutMs integer DEFAULT 10000)
LANGUAGE plpgsql
AS $$
DECLARE
    action_id bigint;
    failure text;
    started timestamptz;
BEGIN
    IF LockTimeoutMs IS NULL OR LockTimeoutMs < 0 THEN
        RAISE EXCEPTION 'sp_ExecuteOnlineActions: LockTimeoutMs must be 0 or more' USING ERRCODE = '22023';
    END IF;
    IF NOT pg_catalog.pg_try_advisory_lock(pg_catalog.hashtext('hartonomous.online_actions')) THEN
        RETURN;
    END IF;
    LOOP
        action_id := dbo.fn_NextOnlineAction();
        EXIT WHEN action_id IS NULL;
        started := pg_catalog.clock_timestamp();
        COMMIT;  -- no snapshot of this session may be older than the statement's
        failure := dbo.fn_OnlineActionSession('start', action_id, LockTimeoutMs);
        COMMIT;
        IF failure IS NULL THEN
            WHILE dbo.fn_OnlineActionSession('busy') IS NOT NULL LOOP
                COMMIT;
                PERFORM pg_catalog.pg_sleep(0.05);
                COMMIT;
            END LOOP;
            COMMIT;
            failure := dbo.fn_OnlineActionSession('finish', action_id);
        END IF;
        PERFORM dbo.fn_RecordOnlineAction(action_id, failure, started);
        COMMIT;
    END LOOP;
    PERFORM pg_catalog.pg_advisory_unlock(pg_catalog.hashtext('hartonomous.online_actions'));
END
$$;
