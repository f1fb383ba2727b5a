-- kind: queue
-- The autonomous loop's LearnQueue, [LearnService] on it, and its message type and contract.
-- Learn: sp_Learn's messages (sp_Act's message queues one for its cycle).
{% set phase = "Learn" %}
{% include "servicebroker/_loop_queue.mssql.sql" %}
