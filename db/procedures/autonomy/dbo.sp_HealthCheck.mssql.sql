-- kind: procedure
-- requires: dbo.OODALoopMetrics, dbo.AutonomousLoopSettings, dbo.AutonomousLoopAttempts, dbo.AutonomousLoopDeadLetters, dbo.AutonomousActions, dbo.Atoms, dbo.AnalyzeQueue, dbo.HypothesizeQueue, dbo.ActQueue, dbo.LearnQueue
-- The runbook's quick health check (seed 001) as rows of Component, Status (Healthy, WARNING,
-- FAILED) and Detail: Service Broker in this database, the loop's queues (receiving, taking messages,
-- activation), the loop's runs in the last hour and their success rate over 24 hours, messages
-- waiting in each queue, the loop's open conversations and what sys.transmission_queue holds for
-- them, dead letters, actions waiting for approval or stuck, disabled indexes, and recent ingestion.
-- `python -m deployer health` prints it. Everything it reads is database-scoped, so it needs no
-- server permission (it runs as its owner, for the system role).
-- Messages waiting are the rows of each queue's internal table (sys.partitions), read without
-- taking a lock a reader holds.
-- Query Store is the loop's eyes (statements, plans, missing indexes): not READ_WRITE is FAILED.
-- Orphans: dbo.AutonomousLoopAttempts rows whose conversation is gone or closed (NEW_BROKER, END
-- CONVERSATION WITH CLEANUP, a RECEIVE by hand, a restore; loop start deletes those of AnalyzeQueue),
-- and conversation endpoints of the loop older than a day that no attempts row waits on (their age
-- from sys.conversation_endpoints.lifetime less the LIFETIME dbo.sp_SendLoopMessage gives them).
-- Note (D7): the seed documents' queries run as written and cannot be changed; a RECEIVE by hand
-- (seed 004) takes a phase message out of the chain and leaves such orphans, which the rows above
-- report and dbo.sp_StartAutonomousLoop repairs.
CREATE OR ALTER PROCEDURE dbo.sp_HealthCheck
WITH EXECUTE AS OWNER
AS
BEGIN
    SET NOCOUNT ON;
    DECLARE @Now DATETIME2(3) = SYSUTCDATETIME();
    DECLARE @Enabled BIT, @IntervalSeconds INT, @Runs INT, @Failures INT, @LastRun DATETIME2(3);
    DECLARE @Rows TABLE (Ordinal INT NOT NULL, Component NVARCHAR(64) NOT NULL, Status NVARCHAR(16) NOT NULL,
                         Detail NVARCHAR(4000) NOT NULL);
    DECLARE @Queues TABLE (QueueName NVARCHAR(128) NOT NULL, Present BIT NOT NULL, Receiving BIT NOT NULL,
                           Enqueuing BIT NOT NULL, Activation BIT NOT NULL, ActivationProcedure NVARCHAR(776) NULL,
                           Waiting BIGINT NOT NULL);

    SELECT @Enabled = COALESCE(s.Enabled, 1), @IntervalSeconds = COALESCE(s.IntervalSeconds, {{ policy.LOOP_INTERVAL_SECONDS }})
    FROM (SELECT 1 AS One) AS o
    LEFT JOIN dbo.AutonomousLoopSettings AS s ON s.SettingsId = 1;
    SELECT @Runs = COUNT(*), @Failures = COUNT(CASE WHEN m.Success = 0 THEN 1 END), @LastRun = MAX(m.ExecutedAt)
    FROM dbo.OODALoopMetrics AS m
    WHERE m.ExecutedAt >= DATEADD(HOUR, -24, @Now);

    INSERT INTO @Queues (QueueName, Present, Receiving, Enqueuing, Activation, ActivationProcedure, Waiting)
    SELECT n.QueueName, CASE WHEN q.object_id IS NULL THEN 0 ELSE 1 END, COALESCE(q.is_receive_enabled, 0),
           COALESCE(q.is_enqueue_enabled, 0), COALESCE(q.is_activation_enabled, 0), q.activation_procedure,
           COALESCE((SELECT SUM(p.rows) FROM sys.internal_tables AS it
                     INNER JOIN sys.partitions AS p ON p.object_id = it.object_id AND p.index_id IN (0, 1)
                     WHERE it.parent_object_id = q.object_id AND it.internal_type_desc = N'QUEUE_MESSAGES'), 0)
    FROM (VALUES (N'AnalyzeQueue'), (N'HypothesizeQueue'), (N'ActQueue'), (N'LearnQueue')) AS n (QueueName)
    LEFT JOIN sys.service_queues AS q ON q.object_id = OBJECT_ID(N'dbo.' + n.QueueName);

    INSERT INTO @Rows (Ordinal, Component, Status, Detail)
    SELECT 1, N'Service Broker',
           CASE WHEN d.is_broker_enabled = 1 THEN N'Healthy' ELSE N'FAILED' END,
           CASE WHEN d.is_broker_enabled = 1 THEN CONCAT(N'enabled in ', d.name)
                ELSE CONCAT(N'disabled in ', d.name, N': nothing is delivered (ALTER DATABASE ... SET ENABLE_BROKER)') END
    FROM sys.databases AS d
    WHERE d.database_id = DB_ID();

    INSERT INTO @Rows (Ordinal, Component, Status, Detail)
    SELECT 2, N'Loop queues',
           CASE WHEN MIN(CAST(q.Present AS INT) * q.Receiving * q.Enqueuing) = 0 THEN N'FAILED'
                WHEN @Enabled = 0 THEN N'WARNING'
                WHEN MIN(CAST(q.Activation AS INT)) = 0 THEN N'FAILED'
                ELSE N'Healthy' END,
           LEFT(CONCAT(CASE WHEN @Enabled = 0 THEN N'switched off (dbo.AutonomousLoopSettings.Enabled = 0); '
                            WHEN MIN(CAST(q.Activation AS INT)) = 0 THEN N'switched on, but activation is off (python -m deployer loop start); '
                            ELSE N'switched on, Service Broker activation runs the phases; ' END,
                       STRING_AGG(CAST(CASE WHEN q.Present = 0 THEN CONCAT(q.QueueName, N' missing')
                                            ELSE CONCAT(q.QueueName, N' receive ', IIF(q.Receiving = 1, N'on', N'OFF'),
                                                        N', enqueue ', IIF(q.Enqueuing = 1, N'on', N'OFF'),
                                                        N', activation ', IIF(q.Activation = 1, N'on', N'off'),
                                                        COALESCE(N' (' + q.ActivationProcedure + N')', N'')) END AS NVARCHAR(MAX)),
                                   N'; ') WITHIN GROUP (ORDER BY q.QueueName)), 4000)
    FROM @Queues AS q;

    INSERT INTO @Rows (Ordinal, Component, Status, Detail)
    VALUES (3, N'OODA Loop',
            CASE WHEN @LastRun >= DATEADD(SECOND, -(CASE WHEN 2 * @IntervalSeconds + 120 > 3600 THEN 2 * @IntervalSeconds + 120 ELSE 3600 END), @Now)
                 THEN N'Healthy'
                 WHEN @Enabled = 0 THEN N'WARNING'  -- switched off on purpose: not a failure
                 ELSE N'FAILED' END,
            CASE WHEN @LastRun IS NULL THEN N'no phase has run in 24 hours'
                 ELSE CONCAT(N'last phase run ', CONVERT(NVARCHAR(8), DATEADD(SECOND, DATEDIFF(SECOND, @LastRun, @Now), CAST('00:00:00' AS TIME(0))), 108),
                             N' ago') END),
           (4, N'OODA success rate',
            CASE WHEN @Runs = 0 THEN N'WARNING' WHEN (@Runs - @Failures) * 100.0 / @Runs >= 95 THEN N'Healthy' ELSE N'FAILED' END,
            CONCAT(@Runs - @Failures, N' of ', @Runs, N' phase runs succeeded in 24 hours (target: 95%)'));

    INSERT INTO @Rows (Ordinal, Component, Status, Detail)
    SELECT 5, N'Queue depth',
           CASE WHEN MAX(q.Waiting) < {{ policy.LOOP_QUEUE_BACKLOG }} THEN N'Healthy' ELSE N'WARNING' END,
           CONCAT(CASE WHEN SUM(q.Waiting) = 0 THEN N'all queues empty'
                       ELSE STRING_AGG(CONCAT(q.QueueName, N' ', q.Waiting), N', ') WITHIN GROUP (ORDER BY q.QueueName) END,
                  N'; ', (SELECT COUNT(*) FROM dbo.AutonomousLoopAttempts AS a), N' delayed or waiting to be retried')
    FROM @Queues AS q;

    -- the loop's conversations still open: one a message in work or waiting, more is a leak (a
    -- reader that ends none), an error state a dialog the broker gave up on
    INSERT INTO @Rows (Ordinal, Component, Status, Detail)
    SELECT 6, N'Conversations',
           CASE WHEN COUNT(CASE WHEN e.state = 'ER' THEN 1 END) = 0 AND COUNT(*) <= 4 * {{ policy.LOOP_QUEUE_BACKLOG }}
                THEN N'Healthy' ELSE N'WARNING' END,
           CONCAT(COUNT(*), N' open conversation endpoints of the loop''s services',
                  CASE WHEN COUNT(*) > 0 THEN CONCAT(N' (', COUNT(CASE WHEN e.state IN ('SO', 'SI', 'CO') THEN 1 END), N' started or conversing, ',
                                                     COUNT(CASE WHEN e.state IN ('DI', 'DO') THEN 1 END), N' ended by one side, ',
                                                     COUNT(CASE WHEN e.state = 'ER' THEN 1 END), N' in error)') ELSE N'' END)
    FROM sys.conversation_endpoints AS e
    INNER JOIN sys.services AS v ON v.service_id = e.service_id
    WHERE v.name IN (N'AnalyzeService', N'HypothesizeService', N'ActService', N'LearnService') AND e.state <> 'CD';

    -- a message to a service in this database is put on its queue at once; one that stays in
    -- sys.transmission_queue could not be delivered, and transmission_status says why
    INSERT INTO @Rows (Ordinal, Component, Status, Detail)
    SELECT 7, N'Transmission queue',
           CASE WHEN COUNT(*) = 0 THEN N'Healthy' ELSE N'WARNING' END,
           LEFT(CONCAT(COUNT(*), N' messages of the loop not delivered',
                       COALESCE(N'; ' + MAX(NULLIF(t.transmission_status, N'')), N'')), 4000)
    FROM sys.transmission_queue AS t
    WHERE t.from_service_name IN (N'AnalyzeService', N'HypothesizeService', N'ActService', N'LearnService')
       OR t.to_service_name IN (N'AnalyzeService', N'HypothesizeService', N'ActService', N'LearnService');

    INSERT INTO @Rows (Ordinal, Component, Status, Detail)
    SELECT 8, N'Dead letters',
           CASE WHEN COUNT(*) = 0 THEN N'Healthy' ELSE N'WARNING' END,
           CONCAT(COUNT(*), N' in 24 hours', COALESCE(N'; last: ' + LEFT(MAX(d.LastError), 200), N''))
    FROM dbo.AutonomousLoopDeadLetters AS d
    WHERE d.DeadLetteredAt >= DATEADD(HOUR, -24, @Now);

    INSERT INTO @Rows (Ordinal, Component, Status, Detail)
    SELECT 9, N'Pending approvals',
           CASE WHEN COUNT(*) = 0 THEN N'Healthy' ELSE N'WARNING' END,
           CONCAT(COUNT(*), N' actions wait for sp_ApproveAction or sp_RejectAction')
    FROM dbo.AutonomousActions AS a
    WHERE a.Status = N'AwaitingApproval';

    INSERT INTO @Rows (Ordinal, Component, Status, Detail)
    SELECT 10, N'Stuck actions',
           CASE WHEN COUNT(*) = 0 THEN N'Healthy' ELSE N'WARNING' END,
           CONCAT(COUNT(*), N' actions Executing or Reverting for over an hour',
                  COALESCE(N'; last error: ' + LEFT(MAX(a.ErrorMessage), 200), N''))
    FROM dbo.AutonomousActions AS a
    WHERE a.Status IN (N'Executing', N'Reverting') AND COALESCE(a.JudgedAt, a.DecidedAt, a.ProposedAt) < DATEADD(HOUR, -1, @Now);

    -- SQL Server's counterpart of an invalid index is a disabled one (its table's reads and, for a
    -- clustered index, the table itself are lost); a resumable build paused is one being built
    INSERT INTO @Rows (Ordinal, Component, Status, Detail)
    SELECT 11, N'Indexes',
           CASE WHEN COUNT(CASE WHEN i.is_disabled = 1 THEN 1 END) = 0 THEN N'Healthy' ELSE N'FAILED' END,
           CONCAT(COUNT(*), N' indexes, ', COUNT(CASE WHEN i.is_disabled = 1 THEN 1 END), N' disabled, ',
                  (SELECT COUNT(*) FROM sys.index_resumable_operations AS r), N' resumable builds paused or running')
    FROM sys.indexes AS i
    INNER JOIN sys.objects AS o ON o.object_id = i.object_id
    WHERE o.is_ms_shipped = 0 AND o.type = 'U' AND i.type > 0 AND i.is_hypothetical = 0
      AND SCHEMA_NAME(o.schema_id) IN (N'dbo', N'graph', N'provenance');

    INSERT INTO @Rows (Ordinal, Component, Status, Detail)
    SELECT 12, N'Workers',
           CASE WHEN COUNT(*) > 0 THEN N'Healthy' ELSE N'WARNING' END,
           CONCAT(COUNT(*), N' atoms created in the last 15 minutes')
    FROM dbo.Atoms AS a
    WHERE a.CreatedAt >= DATEADD(MINUTE, -15, @Now);

    INSERT INTO @Rows (Ordinal, Component, Status, Detail)
    SELECT 13, N'Query Store',
           CASE WHEN MAX(o.actual_state_desc) = N'READ_WRITE' THEN N'Healthy' ELSE N'FAILED' END,
           CASE WHEN MAX(o.actual_state_desc) = N'READ_WRITE' THEN N'READ_WRITE: the loop sees statements and plans'
                ELSE LEFT(CONCAT(COALESCE(MAX(o.actual_state_desc), N'OFF'),
                                 CASE WHEN MAX(o.readonly_reason) > 0 THEN CONCAT(N' (readonly_reason ', MAX(o.readonly_reason), N')') ELSE N'' END,
                                 N': the loop is blind (no statements, plans or missing indexes to analyze)'), 4000) END
    FROM sys.database_query_store_options AS o;

    INSERT INTO @Rows (Ordinal, Component, Status, Detail)
    SELECT 14, N'Orphans',
           CASE WHEN x.Attempts = 0 AND x.Endpoints = 0 THEN N'Healthy' ELSE N'WARNING' END,
           CONCAT(x.Attempts, N' attempts rows whose conversation is gone or closed, ', x.Endpoints,
                  N' conversation endpoints of the loop older than a day that nothing waits on')
    FROM (SELECT (SELECT COUNT(*) FROM dbo.AutonomousLoopAttempts AS a
                  WHERE NOT EXISTS (SELECT 1 FROM sys.conversation_endpoints AS e
                                    WHERE e.conversation_handle = a.ConversationHandle AND e.state NOT IN ('CD', 'ER'))) AS Attempts,
                 (SELECT COUNT(*) FROM sys.conversation_endpoints AS e
                  INNER JOIN sys.services AS v ON v.service_id = e.service_id
                  WHERE v.name IN (N'AnalyzeService', N'HypothesizeService', N'ActService', N'LearnService') AND e.state <> 'CD'
                    AND NOT EXISTS (SELECT 1 FROM dbo.AutonomousLoopAttempts AS a WHERE a.ConversationHandle = e.conversation_handle)
                    -- no LIFETIME (zero delay): the largest INT of seconds; a delayed one: 31622400
                    AND CASE WHEN e.lifetime > DATEADD(DAY, 400, @Now) THEN CAST(2147483647 AS BIGINT) ELSE CAST(31622400 AS BIGINT) END
                        - DATEDIFF_BIG(SECOND, @Now, e.lifetime) > 86400) AS Endpoints) AS x;

    SELECT r.Component, r.Status, r.Detail FROM @Rows AS r ORDER BY r.Ordinal;
END;
