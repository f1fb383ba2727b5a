-- kind: procedure
-- requires: dbo.AutonomousActions
-- A person rejects an action waiting for approval (or still Proposed, or Approved and not yet run):
-- it never runs, and the same action on the same target is not proposed again for
-- LOOP_REJECTION_COOLDOWN_DAYS (sp_Hypothesize). Administrators only (dbo.RolePermissions). One
-- UPDATE that checks the status it changes, so a reject cannot land on an action sp_Act has just
-- started; the reason for a refusal is read after.
CREATE OR ALTER PROCEDURE dbo.sp_RejectAction
    @ActionId BIGINT,
    @Comment NVARCHAR(MAX) = NULL
AS
BEGIN
    SET NOCOUNT ON;
    DECLARE @Status NVARCHAR(16), @Message NVARCHAR(2048), @Who NVARCHAR(128) = USER_NAME();
    UPDATE dbo.AutonomousActions
    SET Status = N'Rejected', DecidedBy = @Who, DecidedAt = SYSUTCDATETIME(),
        StatusReason = COALESCE(LEFT(@Comment, 4000), CONCAT(N'rejected by ', @Who))
    WHERE ActionId = @ActionId AND Status IN (N'AwaitingApproval', N'Proposed', N'Approved');
    IF @@ROWCOUNT = 1
        RETURN;
    SELECT @Status = Status FROM dbo.AutonomousActions WHERE ActionId = @ActionId;
    IF @Status IS NULL
    BEGIN
        SET @Message = CONCAT(N'sp_RejectAction: action ', COALESCE(CAST(@ActionId AS NVARCHAR(20)), N'NULL'), N' does not exist');
        THROW 51425, @Message, 1;
    END;
    SET @Message = CONCAT(N'sp_RejectAction: action ', @ActionId, N' is ', @Status, N', past deciding');
    THROW 51426, @Message, 1;
END;
