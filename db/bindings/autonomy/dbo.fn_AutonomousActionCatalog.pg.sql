-- kind: function
-- requires: dbo.fn_LoadExternalLibrary, hartonomous_ext
-- engine-specific: SQL Server's loop reads the catalog inside its external scripts (hartonomous_ext.autonomy.catalog)
-- The autonomous loop's action catalog as rows (hartonomous_ext.autonomy.ACTIONS): the allowlist.
CREATE OR REPLACE FUNCTION dbo.fn_AutonomousActionCatalog()
RETURNS TABLE (ActionType text, Area text, IsDestructive smallint, IsOnline smallint, IsRevertable smallint,
               Risk double precision, Description text)
LANGUAGE plpython3u
STABLE
AS $$
{% include "bindings/_plpython_preamble.py" %}
from hartonomous_ext import autonomy
return autonomy.catalog()
$$;
