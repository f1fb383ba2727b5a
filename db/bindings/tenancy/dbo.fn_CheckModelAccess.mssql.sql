-- kind: function
-- requires: dbo.TenantSecurityPolicy
-- Why a call may not run the stored models @ModelIds (a JSON array) for @TenantId (one row: Refusal,
-- NULL when it may): a model id missing from dbo.TenantSecurityPolicy.AllowedModelIds, when that is
-- set. NULL AllowedModelIds, or no policy row: any of the tenant's own models. The packaged
-- all-MiniLM-L6-v2 (no model id) is always allowed. The procedure THROWs the refusal (50043), as
-- PostgreSQL's dbo.fn_CheckModelAccess raises the same words:
--     SELECT @Refusal = r.Refusal FROM dbo.fn_CheckModelAccess(@TenantId, CONCAT(N'[', @ModelId, N']'), N'sp_X') AS r;
--     IF @Refusal IS NOT NULL THROW 50043, @Refusal, 1;
CREATE OR ALTER FUNCTION dbo.fn_CheckModelAccess(@TenantId INT, @ModelIds NVARCHAR(4000), @Caller NVARCHAR(128))
RETURNS TABLE
AS
RETURN
SELECT CAST((SELECT TOP (1) CONCAT(@Caller, N': tenant ', @TenantId, N' may not use model ', m.value,
                                   N' (dbo.TenantSecurityPolicy)')
             FROM dbo.TenantSecurityPolicy AS p
             CROSS APPLY OPENJSON(@ModelIds) AS m
             WHERE p.TenantId = @TenantId AND p.AllowedModelIds IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM OPENJSON(p.AllowedModelIds) AS a
                               WHERE TRY_CAST(a.value AS BIGINT) = TRY_CAST(m.value AS BIGINT))
             ORDER BY CAST(m.[key] AS INT))  -- the first refused model of the list, as on PostgreSQL
            AS NVARCHAR(400)) AS Refusal;
