-- kind: procedure
-- requires: dbo.AutonomousActions
-- A person approves an action waiting for approval (or still Proposed): the next sp_Act runs it
-- before any other, whatever its score. Administrators only (dbo.RolePermissions). Refused: an
-- action that does not exist or is past deciding. One UPDATE that checks the status it changes,
-- so two people deciding at once cannot both win; the reason for a refusal is read after.
CREATE OR ALTER PROCEDURE dbo.sp_ApproveAction
    @ActionId BIGINT,
    @Comment NVARCHAR(MAX) = NULL
AS
BEGIN
    SET NOCOUNT ON;
    DECLARE @Status NVARCHAR(16), @Message NVARCHAR(2048), @Who NVARCHAR(128) = USER_NAME();
    UPDATE dbo.AutonomousActions
    SET Status = N'Approved', DecidedBy = @Who, DecidedAt = SYSUTCDATETIME(),
        StatusReason = COALESCE(LEFT(@Comment, 4000), CONCAT(N'approved by ', @Who))
    WHERE ActionId = @ActionId AND Status IN (N'AwaitingApproval', N'Proposed');
    IF @@ROWCOUNT = 1
        RETURN;
    SELECT @Status = Status FROM dbo.AutonomousActions WHERE ActionId = @ActionId;
    IF @Status IS NULL
    BEGIN
        SET @Message = CONCAT(N'sp_ApproveAction: action ', COALESCE(CAST(@ActionId AS NVARCHAR(20)), N'NULL'), N' does not exist');
        THROW 51420, @Message, 1;
    END;
    SET @Message = CONCAT(N'sp_ApproveAction: action ', @ActionId, N' is ', @Status, N', not awaiting approval');
    THROW 51421, @Message, 1;
END;
