-- kind: procedure
-- requires: dbo.TenantPrincipals, dbo.fn_IsTenantAdmin
-- For an application login that serves several tenants: choose the tenant this session acts for,
-- once. The user must be mapped to it (dbo.TenantPrincipals) or be an administrator. Choosing again
-- the same tenant is a no-op; choosing another is refused. The choice is SESSION_CONTEXT N'TenantId'
-- set read-only, so nothing later in the session can change it; connection pooling's
-- sp_reset_connection clears it with the session. A user could set the key by hand, not read-only:
-- it then acts for that tenant only if mapped to it (dbo.fn_SessionTenant checks), and could
-- switch among its own tenants: an application serving several tenants calls this procedure
-- first on every connection. Call it outside a transaction (see the CATCH below).
CREATE OR ALTER PROCEDURE dbo.sp_SetSessionTenant
    @TenantId INT
AS
BEGIN
    SET NOCOUNT ON;
    DECLARE @Message NVARCHAR(2048);
    IF @TenantId IS NULL OR @TenantId < 0
        THROW 50031, N'sp_SetSessionTenant: TenantId must be 0 or more', 1;
    IF NOT EXISTS (SELECT 1 FROM dbo.fn_IsTenantAdmin() AS a WHERE a.IsAdmin = 1)
       AND NOT EXISTS (SELECT 1 FROM dbo.TenantPrincipals AS p
                       WHERE p.PrincipalName = USER_NAME() AND p.TenantId = @TenantId)
    BEGIN
        SET @Message = CONCAT(N'sp_SetSessionTenant: ', USER_NAME(), N' may not act for tenant ', @TenantId);
        THROW 50033, @Message, 1;
    END;
    IF SESSION_CONTEXT(N'TenantId') IS NOT NULL
       AND ISNULL(TRY_CAST(SESSION_CONTEXT(N'TenantId') AS INT), -1) <> @TenantId
    BEGIN
        SET @Message = CONCAT(N'sp_SetSessionTenant: this session already acts for tenant ',
                              CONVERT(NVARCHAR(64), SESSION_CONTEXT(N'TenantId')),
                              N'; a session''s tenant is set once (open a new session for another tenant)');
        THROW 50032, @Message, 1;
    END;
    BEGIN TRY
        EXEC sys.sp_set_session_context @key = N'TenantId', @value = @TenantId, @read_only = 1;
    END TRY
    BEGIN CATCH
        -- 15664: already set read-only, to this tenant (checked above): done, unless the error doomed
        -- the caller's transaction (XACT_ABORT): call it outside a transaction
        IF ERROR_NUMBER() <> 15664 OR XACT_STATE() = -1
            THROW;
    END CATCH;
END;
