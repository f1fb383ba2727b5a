-- kind: function
-- requires: dbo.fn_LoadExternalLibrary, hartonomous_ext
-- engine-specific: SQL Server's sp_Hypothesize scores all its candidates in one external script (autonomy.score_candidates)
-- A candidate's score (0-10) from its expected gain and its type's record (hartonomous_ext.autonomy.score).
CREATE OR REPLACE FUNCTION dbo.fn_ScoreAction(ActionType text, ExpectedGain double precision, KeptCount integer, FailedCount integer)
RETURNS double precision
LANGUAGE plpython3u
STABLE
AS $$
{% include "bindings/_plpython_preamble.py" %}
from hartonomous_ext import autonomy
try:
    return autonomy.score(actiontype, expectedgain or 0.0, keptcount or 0, failedcount or 0)
except ValueError as exc:
    plpy.error(str(exc), sqlstate="22023")
$$;
