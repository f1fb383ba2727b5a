-- kind: procedure
-- requires: dbo.fn_ClaimLoopMessage, dbo.sp_ProcessLoopMessage, dbo.sp_ExecuteOnlineActions
-- engine-specific: PostgreSQL's activation, which pg_cron runs every minute; SQL Server uses Service Broker activation instead: each queue starts its phase procedure, which reads the queue through dbo.sp_ProcessLoopMessages
-- The loop's dispatcher: for at most BudgetSeconds, claim the next visible message of the four
-- queues (committed: the attempt counts even if this session dies), do its work in a transaction
-- of its own (dbo.sp_ProcessLoopMessage), and run the online actions sp_Act and sp_Learn left
-- (dbo.sp_ExecuteOnlineActions). While nothing is visible it waits for the next message that will
-- be within the budget. Nothing runs while dbo.AutonomousLoopSettings.Enabled = 0. CALL it
-- outside a transaction block; it runs as its caller (PostgreSQL refuses COMMIT in a SECURITY
-- DEFINER procedure), through functions and procedures that run as their owner.
CREATE OR REPLACE PROCEDURE dbo.sp_RunAutonomousLoop(BudgetSeconds double precision DEFAULT {{ policy.LOOP_DISPATCH_SECONDS }})
LANGUAGE plpgsql
AS $$
DECLARE
    deadline timestamptz;
    msg record;
BEGIN
    IF BudgetSeconds IS NULL OR BudgetSeconds < 0 OR BudgetSeconds > 3600 OR BudgetSeconds = 'NaN' THEN
        RAISE EXCEPTION 'sp_RunAutonomousLoop: BudgetSeconds must be between 0 and 3600' USING ERRCODE = '22023';
    END IF;
    deadline := pg_catalog.clock_timestamp() + pg_catalog.make_interval(secs => BudgetSeconds);
    LOOP
        SELECT c.* INTO msg FROM dbo.fn_ClaimLoopMessage() c;
        IF NOT FOUND THEN
            EXIT;  -- the loop is switched off
        END IF;
        COMMIT;
        IF msg.MessageId IS NULL THEN
            CALL dbo.sp_ExecuteOnlineActions();
            EXIT WHEN msg.NextVisibleAt IS NULL OR msg.NextVisibleAt > deadline OR pg_catalog.clock_timestamp() >= deadline;
            -- a quarter second at least: a message visible but held by another dispatcher is not ours
            PERFORM pg_catalog.pg_sleep(greatest(0.25, least(1.0, extract(epoch FROM msg.NextVisibleAt - pg_catalog.clock_timestamp()))));
            COMMIT;
            CONTINUE;
        END IF;
        CALL dbo.sp_ProcessLoopMessage(msg.MessageId, msg.Attempts);
        COMMIT;
        IF msg.QueueName IN ('ActQueue', 'LearnQueue') THEN
            CALL dbo.sp_ExecuteOnlineActions();
        END IF;
        EXIT WHEN pg_catalog.clock_timestamp() >= deadline;
    END LOOP;
END
$$;
