-- kind: function
-- engine-specific: part of PostgreSQL's online-action runner (dbo.sp_ExecuteOnlineActions)
-- The online-action runner's turn: 'take' is true when this session may run actions, holding a
-- session-level advisory lock; a lock another session holds while idle (an interactive session
-- whose run stopped on an error keeps it) does not stop this one. 'release' lets it go.
CREATE OR REPLACE FUNCTION dbo.fn_OnlineRunner(Step text)
RETURNS boolean
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = dbo, public, pg_temp
AS $$
DECLARE
    key1 constant integer := hashtext('hartonomous');
    key2 constant integer := 2;
BEGIN
    IF Step = 'release' THEN
        RETURN pg_advisory_unlock(key1, key2);
    ELSIF Step <> 'take' THEN
        RAISE EXCEPTION 'fn_OnlineRunner: Step is take or release' USING ERRCODE = '22023';
    END IF;
    IF pg_try_advisory_lock(key1, key2) THEN
        RETURN true;
    END IF;
    RETURN NOT EXISTS (SELECT 1 FROM pg_locks l JOIN pg_stat_activity s ON s.pid = l.pid
                       WHERE l.locktype = 'advisory' AND l.database = (SELECT d.oid FROM pg_database d WHERE d.datname = current_database())
                         AND l.classid::integer = key1 AND l.objid::integer = key2 AND l.objsubid = 2 AND l.granted
                         AND s.state <> 'idle');
END
$$;
