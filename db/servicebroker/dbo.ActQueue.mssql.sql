-- kind: queue
-- The autonomous loop's ActQueue, [ActService] on it, and its message type and contract.
-- Decide and act: sp_Act's messages (sp_Hypothesize's message queues one for its cycle).
{% set phase = "Act" %}
{% include "servicebroker/_loop_queue.mssql.sql" %}
