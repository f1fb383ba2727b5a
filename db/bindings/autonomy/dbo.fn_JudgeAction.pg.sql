-- kind: function
-- requires: dbo.fn_LoadExternalLibrary, hartonomous_ext
-- engine-specific: SQL Server's sp_Learn judges inside its one external script per run (hartonomous_ext.autonomy.judge_actions)
-- The verdict on an applied action from its metric before and after (hartonomous_ext.autonomy.judge).
CREATE OR REPLACE FUNCTION dbo.fn_JudgeAction(ActionType text, MetricBefore double precision,
                                              MetricAfter double precision, Tolerance double precision)
RETURNS TABLE (Verdict text, Improvement double precision, CountsAsKept smallint)
LANGUAGE plpython3u
STABLE
AS $$
{% include "bindings/_plpython_preamble.py" %}
from hartonomous_ext import autonomy
try:
    verdict, improvement = autonomy.judge(actiontype, metricbefore, metricafter, tolerance)
except ValueError as exc:
    plpy.error(str(exc), sqlstate="22023")
return [(verdict, improvement, int(autonomy.counts_as_kept(verdict, improvement)))]
$$;
