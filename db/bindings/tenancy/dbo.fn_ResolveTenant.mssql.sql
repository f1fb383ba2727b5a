-- kind: function
-- requires: dbo.fn_SessionTenant, dbo.fn_IsTenantAdmin, dbo.TenantSecurityPolicy
-- The tenant a procedure works in, from its @TenantId argument (one row: TenantId, Refusal). NULL:
-- the session's tenant (an administrator without one works in tenant 0). A tenant id: accepted when
-- it is the session's tenant or the session is an administrator's. A suspended tenant
-- (dbo.TenantSecurityPolicy.IsActive 0) is refused to all but administrators. Otherwise TenantId is NULL and
-- Refusal says why, naming @Caller; the procedure THROWs it (a function cannot), as PostgreSQL's
-- fn_ResolveTenant raises the same words:
--     SELECT @TenantId = r.TenantId, @Refusal = r.Refusal FROM dbo.fn_ResolveTenant(@TenantId, N'sp_X') AS r;
--     IF @Refusal IS NOT NULL THROW 50030, @Refusal, 1;
CREATE OR ALTER FUNCTION dbo.fn_ResolveTenant(@TenantId INT, @Caller NVARCHAR(128))
RETURNS TABLE
AS
RETURN
SELECT CASE WHEN v.Refusal IS NULL THEN r.TenantId END AS TenantId, v.Refusal
FROM dbo.fn_SessionTenant() AS s
CROSS JOIN dbo.fn_IsTenantAdmin() AS a
CROSS APPLY (
    SELECT CASE WHEN @TenantId IS NULL THEN COALESCE(s.TenantId, CASE WHEN a.IsAdmin = 1 THEN 0 END)
                WHEN @TenantId >= 0 AND (@TenantId = ISNULL(s.TenantId, -1) OR a.IsAdmin = 1) THEN @TenantId
           END AS TenantId,
           CASE WHEN @TenantId IS NULL AND s.TenantId IS NULL AND a.IsAdmin = 0
                    THEN CONCAT(@Caller, N': this session acts for no tenant (map its login to one with python -m deployer grant, or call dbo.sp_SetSessionTenant)')
                WHEN @TenantId < 0
                    THEN CONCAT(@Caller, N': TenantId must be 0 or more')
                WHEN @TenantId IS NOT NULL AND @TenantId <> ISNULL(s.TenantId, -1) AND a.IsAdmin = 0
                    THEN CONCAT(@Caller, N': tenant ', @TenantId, N' is not this session''s tenant')
           END AS Refusal
) AS r
OUTER APPLY (SELECT p.IsActive FROM dbo.TenantSecurityPolicy AS p WHERE p.TenantId = r.TenantId) AS p
CROSS APPLY (
    SELECT CAST(COALESCE(r.Refusal, CASE WHEN a.IsAdmin = 0 AND p.IsActive = 0
                                         THEN CONCAT(@Caller, N': tenant ', r.TenantId, N' is suspended (dbo.TenantSecurityPolicy)')
                                    END) AS NVARCHAR(400)) AS Refusal
) AS v;
