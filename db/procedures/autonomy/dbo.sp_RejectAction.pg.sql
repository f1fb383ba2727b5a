-- kind: procedure
-- requires: dbo.AutonomousActions
-- A person rejects an action waiting for approval (or still Proposed, or Approved and not yet run):
-- it never runs, and the same action on the same target is not proposed again for
-- LOOP_REVERT_COOLDOWN_HOURS. Administrators only.
CREATE OR REPLACE PROCEDURE dbo.sp_RejectAction(ActionId bigint, Comment text DEFAULT NULL)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = dbo, public, pg_temp
AS $$
DECLARE
    current_status text;
BEGIN
    SELECT a.Status INTO current_status FROM dbo.AutonomousActions a WHERE a.ActionId = sp_RejectAction.ActionId FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'sp_RejectAction: action % does not exist', coalesce(ActionId::text, 'NULL') USING ERRCODE = '22023';
    END IF;
    IF current_status NOT IN ('AwaitingApproval', 'Proposed', 'Approved') THEN
        RAISE EXCEPTION 'sp_RejectAction: action % is %, past deciding', ActionId, current_status USING ERRCODE = '55000';
    END IF;
    UPDATE dbo.AutonomousActions a
    SET Status = 'Rejected', DecidedBy = session_user, DecidedAt = now(),
        StatusReason = coalesce(left(Comment, 4000), 'rejected by ' || session_user)
    WHERE a.ActionId = sp_RejectAction.ActionId;
END
$$;
