-- kind: function
-- requires: dbo.AutonomousActions, dbo.fn_AutonomousActionStatement, dbo.fn_RecordOnlineAction, dblink
-- engine-specific: PostgreSQL's second session for online actions (dblink); SQL Server runs online actions in the phase's own session, inside its transaction, with ONLINE = ON
-- The second session dbo.sp_ExecuteOnlineActions runs an action in, one step per call; the calling
-- session commits between calls, so no snapshot of its own holds up a concurrent build:
--   'cleanup' ActionId  send DROP INDEX CONCURRENTLY for an invalid index a failed build of the
--                       action's index left ('cleanup' when one was sent, NULL when none is left)
--   'start' ActionId    send the action's statement (or its revert), rebuilt from its typed
--                       columns (NULL; 'wait: ...' when an earlier one still runs; or why it could not)
--   'busy'              whether the statement sent still runs
--   'cancel'            cancel it (past LOOP_ONLINE_MAX_SECONDS)
--   'finish' ActionId, StartedAt  collect its result, check the index is there and valid (or gone), record
--                       the outcome (dbo.fn_RecordOnlineAction) and return the error, or NULL
--   'probe'             connect and disconnect: NULL, or why it could not
-- It connects as this function's owner, to this database, over this server's Unix socket, or
-- with host, port and sslmode from hartonomous.loop_connection as the configuration files set it
-- (pg_file_settings; a session's own SET is ignored, its password belongs in the server account's
-- ~/.pgpass). Only an action in Executing or Reverting can be started: nothing a caller chose runs.
CREATE OR REPLACE FUNCTION dbo.fn_OnlineActionSession(Step text, ActionId bigint DEFAULT NULL, StartedAt timestamptz DEFAULT NULL)
RETURNS text
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = dbo, public, pg_temp
AS $$
DECLARE
    act record;
    statement text;
    configured text;
    conninfo text;
    failure text;
    leftover text;
    creating boolean;
BEGIN
    IF Step = 'busy' THEN
        RETURN CASE WHEN 'hartonomous_loop' = ANY (coalesce(dblink.dblink_get_connections(), '{}'))
                         AND dblink.dblink_is_busy('hartonomous_loop') = 1 THEN 'busy' END;
    ELSIF Step = 'cancel' THEN
        RETURN dblink.dblink_cancel_query('hartonomous_loop');
    END IF;

    SELECT f.setting INTO configured FROM pg_catalog.pg_file_settings f
    WHERE f.name = 'hartonomous.loop_connection' AND f.error IS NULL ORDER BY f.seqno DESC LIMIT 1;
    IF configured IS NOT NULL AND configured !~ '^\s*((host|port|sslmode)=[A-Za-z0-9_./:-]+\s*)+$' THEN
        RETURN 'hartonomous.loop_connection may set only host, port and sslmode: ' || configured;
    END IF;
    -- libpq's quoting of a value: in single quotes, with backslash and quote escaped
    conninfo := coalesce(configured, format('host=%s port=%s',
                             split_part(current_setting('unix_socket_directories'), ',', 1), current_setting('port')))
                || ' dbname=''' || replace(replace(current_database(), '\', '\\'), '''', '\''') || ''''
                || ' user=''' || replace(replace(current_user, '\', '\\'), '''', '\''') || ''''
                || ' application_name=hartonomous_loop options=''-c client_connection_check_interval=10000''';
    IF Step = 'probe' THEN
        BEGIN
            PERFORM dblink.dblink_connect('hartonomous_loop_probe', conninfo);
            PERFORM dblink.dblink_disconnect('hartonomous_loop_probe');
        EXCEPTION WHEN OTHERS THEN
            RETURN SQLERRM;
        END;
        RETURN NULL;
    END IF;

    SELECT a.* INTO act FROM dbo.AutonomousActions a
    WHERE a.ActionId = fn_OnlineActionSession.ActionId AND a.Status IN ('Executing', 'Reverting');
    IF NOT FOUND THEN
        RAISE EXCEPTION 'fn_OnlineActionSession: action % is not Executing or Reverting', coalesce(ActionId::text, 'NULL')
            USING ERRCODE = '55000';
    END IF;
    -- the statements that build an index: the action's own, or the revert of a drop
    creating := (act.Status = 'Executing' AND act.ActionType IN ('create_index', 'reindex_index'))
                OR (act.Status = 'Reverting' AND act.ActionType = 'drop_index');

    IF Step IN ('cleanup', 'start') THEN
        IF EXISTS (SELECT 1 FROM pg_stat_activity s WHERE s.datname = current_database()
                   AND s.application_name = 'hartonomous_loop' AND s.state = 'active' AND s.pid <> pg_backend_pid()) THEN
            RETURN 'wait: an earlier online statement still runs';
        END IF;
        IF Step = 'cleanup' THEN
            IF NOT creating THEN
                RETURN NULL;
            END IF;
            SELECT format('DROP INDEX CONCURRENTLY IF EXISTS %I.%I', n.nspname, c.relname) INTO leftover
            FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = act.TargetSchema AND NOT (x.indisvalid AND x.indisready)
              AND (c.relname = act.TargetName OR c.relname LIKE act.TargetName || '\_cc%')
            LIMIT 1;
            IF leftover IS NULL THEN
                RETURN NULL;
            END IF;
            statement := leftover;
        ELSE
            statement := dbo.fn_AutonomousActionStatement(act.ActionType, act.TargetSchema, act.TargetName, act.TargetColumns,
                                                          act.Parameters, (act.Status = 'Reverting')::integer::smallint);
        END IF;
        BEGIN
            IF 'hartonomous_loop' = ANY (coalesce(dblink.dblink_get_connections(), '{}')) THEN
                PERFORM dblink.dblink_disconnect('hartonomous_loop');
            END IF;
            PERFORM dblink.dblink_connect('hartonomous_loop', conninfo);
            -- concurrent builds wait for older transactions under this timeout too: minutes, not seconds
            PERFORM dblink.dblink_exec('hartonomous_loop', 'SET lock_timeout = ''{{ policy.LOOP_ONLINE_LOCK_TIMEOUT_SECONDS }}s''');
            PERFORM dblink.dblink_send_query('hartonomous_loop', statement);
        EXCEPTION WHEN OTHERS THEN
            failure := 'could not run it in a second session (dblink): ' || SQLERRM;
            IF Step = 'start' THEN
                PERFORM dbo.fn_RecordOnlineAction(act.ActionId, failure, now());
            END IF;
            RETURN failure;
        END;
        RETURN CASE WHEN Step = 'cleanup' THEN 'cleanup' END;
    END IF;

    IF Step IN ('finish', 'finish cleanup') THEN
        BEGIN
            PERFORM * FROM dblink.dblink_get_result('hartonomous_loop') AS r (status text);
        EXCEPTION WHEN OTHERS THEN
            failure := SQLERRM;
        END;
        BEGIN
            PERFORM * FROM dblink.dblink_get_result('hartonomous_loop') AS r (status text);  -- the end of the results
            PERFORM dblink.dblink_disconnect('hartonomous_loop');
        EXCEPTION WHEN OTHERS THEN
            NULL;
        END;
        IF Step = 'finish cleanup' THEN
            RETURN failure;
        END IF;
        -- a statement can end without error and still leave the index unusable: look
        IF failure IS NULL AND act.ActionType IN ('create_index', 'drop_index', 'reindex_index') THEN
            IF creating AND NOT EXISTS (
                    SELECT 1 FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
                    WHERE n.nspname = act.TargetSchema AND c.relname = act.TargetName AND x.indisvalid AND x.indisready) THEN
                failure := format('index %I.%I is not there and valid after the build', act.TargetSchema, act.TargetName);
            ELSIF NOT creating AND act.ActionType <> 'reindex_index' AND to_regclass(format('%I.%I', act.TargetSchema, act.TargetName)) IS NOT NULL THEN
                failure := format('index %I.%I is still there after the drop', act.TargetSchema, act.TargetName);
            END IF;
        END IF;
        PERFORM dbo.fn_RecordOnlineAction(act.ActionId, failure, coalesce(StartedAt, now()));
        RETURN failure;
    END IF;
    RAISE EXCEPTION 'fn_OnlineActionSession: Step must be cleanup, start, busy, cancel, finish or probe, not %',
        coalesce(Step, 'NULL') USING ERRCODE = '22023';
END
$$;
