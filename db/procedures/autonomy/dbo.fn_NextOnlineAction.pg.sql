-- kind: function
-- requires: dbo.AutonomousActions
-- engine-specific: part of PostgreSQL's online-action runner (dbo.sp_ExecuteOnlineActions)
-- The oldest action waiting to run online (Executing) or to be undone online (Reverting) that this
-- run has not tried yet, or NULL.
CREATE OR REPLACE FUNCTION dbo.fn_NextOnlineAction(Tried bigint[] DEFAULT '{}')
RETURNS bigint
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = dbo, public, pg_temp
AS $$
    SELECT min(a.ActionId) FROM dbo.AutonomousActions a
    WHERE a.Status IN ('Executing', 'Reverting') AND NOT a.ActionId = ANY (coalesce(Tried, '{}'))
$$;
