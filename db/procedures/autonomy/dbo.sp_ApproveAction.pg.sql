-- kind: procedure
-- requires: dbo.AutonomousActions
-- A person approves an action waiting for approval (or still Proposed): the next sp_Act runs it
-- before any other, whatever its score. Administrators only. Refused: an action that does not
-- exist or is past deciding.
CREATE OR REPLACE PROCEDURE dbo.sp_ApproveAction(ActionId bigint, Comment text DEFAULT NULL)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = dbo, public, pg_temp
AS $$
DECLARE
    current_status text;
BEGIN
    SELECT a.Status INTO current_status FROM dbo.AutonomousActions a WHERE a.ActionId = sp_ApproveAction.ActionId FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'sp_ApproveAction: action % does not exist', coalesce(ActionId::text, 'NULL') USING ERRCODE = '22023';
    END IF;
    IF current_status NOT IN ('AwaitingApproval', 'Proposed') THEN
        RAISE EXCEPTION 'sp_ApproveAction: action % is %, not awaiting approval', ActionId, current_status USING ERRCODE = '55000';
    END IF;
    UPDATE dbo.AutonomousActions a
    SET Status = 'Approved', DecidedBy = session_user, DecidedAt = now(),
        StatusReason = coalesce(left(Comment, 4000), 'approved by ' || session_user)
    WHERE a.ActionId = sp_ApproveAction.ActionId;
END
$$;
