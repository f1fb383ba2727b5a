-- kind: queue
-- The autonomous loop's HypothesizeQueue, [HypothesizeService] on it, and its message type and contract.
-- Orient: sp_Hypothesize's messages (sp_Analyze's message queues one for its cycle).
{% set phase = "Hypothesize" %}
{% include "servicebroker/_loop_queue.mssql.sql" %}
