-- kind: function
-- requires: dbo.fn_LoadExternalLibrary, hartonomous_ext
-- engine-specific: PostgreSQL's plans name the columns a sequential scan filters on; SQL Server's sp_Hypothesize reads the missing-index groups of its Query Store plans (autonomy.showplan_index_candidates, in its one external script)
-- The column lists worth costing as an index on a table for one statement's plan
-- (EXPLAIN (FORMAT JSON)), with the index name each would get (hartonomous_ext.autonomy).
CREATE OR REPLACE FUNCTION dbo.fn_IndexCandidates(PlanJson jsonb, TableName text, TableColumns text[])
RETURNS TABLE (IndexColumns text[], IndexName text)
LANGUAGE plpython3u
STABLE
AS $$
{% include "bindings/_plpython_preamble.py" %}
from hartonomous_ext import autonomy
if planjson is None or tablename is None or tablecolumns is None:
    return []
try:
    return [(cols, autonomy.index_name(tablename, cols))
            for cols in autonomy.index_candidates(planjson, tablename.lower(), [c for c in tablecolumns if c])]
except (ValueError, KeyError, TypeError, AttributeError) as exc:
    plpy.error(f"fn_IndexCandidates: not an EXPLAIN (FORMAT JSON) plan: {exc}", sqlstate="22023")
$$;
