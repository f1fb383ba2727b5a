-- kind: function
-- requires: dbo.AutonomousActions, dbo.fn_AutonomousActionStatement, dblink
-- engine-specific: PostgreSQL's second session for online actions (dblink); SQL Server runs ONLINE operations in the procedure itself; the SQL Server side of the autonomous loop is not written yet (issue #12)
-- The second session dbo.sp_ExecuteOnlineActions runs an online action in: Step 'start' connects
-- (as this function's owner: over this server's Unix socket, or with the libpq string in the
-- setting hartonomous.loop_connection, whose password belongs in the server account's ~/.pgpass)
-- and sends the action's statement, rebuilt from its typed columns, under a lock_timeout; 'busy'
-- says whether it still runs; 'finish' collects its result (the error text, or NULL), drops an
-- invalid index a failed concurrent build left, and disconnects; 'probe' connects and
-- disconnects (NULL, or why it could not). Only an action in Executing or
-- Reverting can be started, so the function runs nothing a caller chose.
CREATE OR REPLACE FUNCTION dbo.fn_OnlineActionSession(Step text, ActionId bigint DEFAULT NULL,
                                                     LockTimeoutMs integer DEFAULT 10000)
RETURNS text
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = dbo, public, pg_temp
AS $$
DECLARE
    act record;
    statement text;
    conninfo text;
    failure text;
BEGIN
    IF Step = 'busy' THEN
        RETURN CASE WHEN 'hartonomous_loop' = ANY (coalesce(dblink.dblink_get_connections(), '{}'))
                         AND dblink.dblink_is_busy('hartonomous_loop') = 1 THEN 'busy' END;
    END IF;
    conninfo := coalesce(nullif(current_setting('hartonomous.loop_connection', true), ''),
                         format('host=%s port=%s', split_part(current_setting('unix_socket_directories'), ',', 1),
                                current_setting('port')))
                || format(' dbname=%s user=%s application_name=hartonomous_loop',
                          quote_ident(current_database()), quote_ident(current_user));
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
    IF Step = 'start' THEN
        statement := dbo.fn_AutonomousActionStatement(act.ActionType, act.TargetSchema, act.TargetName, act.TargetColumns,
                                                      act.Parameters, (act.Status = 'Reverting')::integer::smallint);
        BEGIN
            IF 'hartonomous_loop' = ANY (coalesce(dblink.dblink_get_connections(), '{}')) THEN
                PERFORM dblink.dblink_disconnect('hartonomous_loop');
            END IF;
            PERFORM dblink.dblink_connect('hartonomous_loop', conninfo);
            PERFORM dblink.dblink_exec('hartonomous_loop', format('SET lock_timeout = %s', greatest(coalesce(LockTimeoutMs, 10000), 0)));
            PERFORM dblink.dblink_send_query('hartonomous_loop', statement);
        EXCEPTION WHEN OTHERS THEN
            RETURN 'could not start it in a second session (dblink): ' || SQLERRM;
        END;
        RETURN NULL;
    ELSIF Step = 'finish' THEN
        BEGIN
            PERFORM * FROM dblink.dblink_get_result('hartonomous_loop') AS r (status text);
        EXCEPTION WHEN OTHERS THEN
            failure := SQLERRM;
        END;
        BEGIN
            PERFORM * FROM dblink.dblink_get_result('hartonomous_loop') AS r (status text);  -- the end of the results
        EXCEPTION WHEN OTHERS THEN
            NULL;
        END;
        IF failure IS NOT NULL AND ((act.Status = 'Executing' AND act.ActionType IN ('create_index', 'reindex_index'))
                                    OR (act.Status = 'Reverting' AND act.ActionType = 'drop_index')) THEN
            -- a concurrent build that failed leaves an invalid index (REINDEX: <name>_ccnew): drop it
            BEGIN
                FOR statement IN SELECT format('DROP INDEX CONCURRENTLY IF EXISTS %I.%I', n.nspname, c.relname)
                                 FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
                                 WHERE n.nspname = act.TargetSchema AND NOT x.indisvalid
                                   AND (c.relname = act.TargetName OR c.relname LIKE act.TargetName || '\_ccnew%') LOOP
                    PERFORM dblink.dblink_exec('hartonomous_loop', statement);
                END LOOP;
            EXCEPTION WHEN OTHERS THEN
                failure := failure || '; dropping the invalid index it left failed too: ' || SQLERRM;
            END;
        END IF;
        BEGIN
            PERFORM dblink.dblink_disconnect('hartonomous_loop');
        EXCEPTION WHEN OTHERS THEN
            NULL;
        END;
        RETURN failure;
    END IF;
    RAISE EXCEPTION 'fn_OnlineActionSession: Step must be start, busy, finish or probe, not %', coalesce(Step, 'NULL') USING ERRCODE = '22023';
END
$$;
