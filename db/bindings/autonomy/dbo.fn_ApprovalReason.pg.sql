-- kind: function
-- requires: dbo.fn_LoadExternalLibrary, hartonomous_ext
-- engine-specific: SQL Server's sp_Act decides inside its one external script per run (hartonomous_ext.autonomy.score_candidates)
-- Why a candidate must wait for a person, or NULL when sp_Act may apply it (hartonomous_ext.autonomy.needs_approval).
CREATE OR REPLACE FUNCTION dbo.fn_ApprovalReason(ActionType text, Score double precision, Threshold double precision,
                                                 RequireHumanApproval integer, IsAllowlisted integer)
RETURNS text
LANGUAGE plpython3u
STABLE
AS $$
{% include "bindings/_plpython_preamble.py" %}
from hartonomous_ext import autonomy
try:
    return autonomy.needs_approval(actiontype, score or 0.0, threshold, bool(requirehumanapproval), bool(isallowlisted))
except ValueError as exc:
    plpy.error(str(exc), sqlstate="22023")
$$;
