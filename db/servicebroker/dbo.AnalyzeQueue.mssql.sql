-- kind: queue
-- The autonomous loop's AnalyzeQueue, [AnalyzeService] on it, and its message type and contract.
-- Observe: sp_Analyze's messages (the runbook's restart sends one; sp_Learn's message queues the next).
{% set phase = "Analyze" %}
{% include "servicebroker/_loop_queue.mssql.sql" %}
