-- kind: check
-- requires: ServiceBroker, QueryStore, dbo.AnalyzeQueue, dbo.HypothesizeQueue, dbo.ActQueue, dbo.LearnQueue
-- What SQL Server's autonomous loop needs from the database: its four queues receiving and accepting
-- messages (a queue Service Broker disabled stops the loop; poison message handling is off, so only
-- a person or a broker failure disables one), each queue's service, and Query Store reading and
-- writing (the loop's statements, times and missing-index suggestions come from it). Activation is
-- not checked: it is on only while the loop runs (python -m deployer loop start).
SET NOCOUNT ON;
SELECT CONCAT(N'queue dbo.', q.Name, N' receives and accepts messages') AS CheckName,
       CAST(CASE WHEN s.is_receive_enabled = 1 AND s.is_enqueue_enabled = 1 THEN 1 ELSE 0 END AS BIT) AS Passed,
       CASE WHEN s.name IS NULL THEN CONCAT(N'dbo.', q.Name, N' does not exist')
            ELSE CONCAT(N'is_receive_enabled = ', s.is_receive_enabled, N', is_enqueue_enabled = ', s.is_enqueue_enabled,
                        N', is_poison_message_handling_enabled = ', s.is_poison_message_handling_enabled) END AS Detail
FROM (VALUES (N'AnalyzeQueue'), (N'HypothesizeQueue'), (N'ActQueue'), (N'LearnQueue')) AS q (Name)
LEFT JOIN sys.service_queues AS s ON s.name = q.Name AND s.schema_id = SCHEMA_ID(N'dbo')
UNION ALL
SELECT CONCAT(N'service ', q.Service, N' on its queue'),
       CAST(CASE WHEN v.service_id IS NOT NULL THEN 1 ELSE 0 END AS BIT),
       CASE WHEN v.service_id IS NULL THEN CONCAT(q.Service, N' does not exist on dbo.', q.Name)
            ELSE CONCAT(q.Service, N' on dbo.', q.Name) END
FROM (VALUES (N'AnalyzeQueue', N'AnalyzeService'), (N'HypothesizeQueue', N'HypothesizeService'),
             (N'ActQueue', N'ActService'), (N'LearnQueue', N'LearnService')) AS q (Name, Service)
LEFT JOIN sys.service_queues AS s ON s.name = q.Name AND s.schema_id = SCHEMA_ID(N'dbo')
LEFT JOIN sys.services AS v ON v.name = q.Service AND v.service_queue_id = s.object_id
UNION ALL
SELECT N'Query Store reads and writes',
       CAST(CASE WHEN o.actual_state_desc = N'READ_WRITE' THEN 1 ELSE 0 END AS BIT),
       CONCAT(N'actual_state ', COALESCE(o.actual_state_desc, N'(none)'), N', desired ', COALESCE(o.desired_state_desc, N'(none)'),
              CASE WHEN o.readonly_reason > 0 THEN CONCAT(N', readonly_reason ', o.readonly_reason) ELSE N'' END)
FROM (SELECT 1 AS One) AS x
LEFT JOIN sys.database_query_store_options AS o ON 1 = 1;
