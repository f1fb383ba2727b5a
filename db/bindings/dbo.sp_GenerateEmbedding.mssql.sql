-- kind: procedure
-- requires: dbo.sp_ComputeEmbedding, dbo.fn_ResolveTenant, dbo.sp_ChargeUsage, dbo.fn_CheckModelAccess
-- The embedding of a text (float32 bytes, L2-normalized), computed by onnxruntime in Machine
-- Learning Services (hartonomous_ext.embeddings, through dbo.sp_ComputeEmbedding): by the packaged
-- all-MiniLM-L6-v2 when @ModelId is NULL, else by the BERT sentence encoder stored as model @ModelId
-- of the tenant. NULL text gives NULLs; empty text is an error. @embedding_json is the same vector as
-- a JSON array, the text form SQL Server 2025 casts to VECTOR(384).
-- Metered: one 'embedding' (dbo.sp_ChargeUsage) when it computes one.
CREATE OR ALTER PROCEDURE dbo.sp_GenerateEmbedding
    @text_value NVARCHAR(MAX),
    @ModelId INT = NULL,
    @embedding VARBINARY(MAX) = NULL OUTPUT,
    @embedding_json NVARCHAR(MAX) = NULL OUTPUT,
    @TenantId INT = NULL
AS
BEGIN
    SET NOCOUNT ON;
    SET TRANSACTION ISOLATION LEVEL READ COMMITTED;  -- its charge reaches the memory-optimized ledger (dbo.sp_ChargeUsage)
    SET XACT_ABORT ON;  -- a refused charge rolls its transaction back
    DECLARE @TenantRefusal NVARCHAR(400);  -- the session's tenant, or an administrator's choice (dbo.fn_ResolveTenant)
    SELECT @TenantId = r.TenantId, @TenantRefusal = r.Refusal FROM dbo.fn_ResolveTenant(@TenantId, N'sp_GenerateEmbedding') AS r;
    IF @TenantRefusal IS NOT NULL
        THROW 50030, @TenantRefusal, 1;
    IF @text_value IS NULL
    BEGIN
        SET @embedding = NULL;
        SET @embedding_json = NULL;
        RETURN;
    END;
    DECLARE @ModelRefusal NVARCHAR(400);  -- dbo.TenantSecurityPolicy.AllowedModelIds
    SELECT @ModelRefusal = r.Refusal FROM dbo.fn_CheckModelAccess(@TenantId, CONCAT(N'[', @ModelId, N']'), N'sp_GenerateEmbedding') AS r;
    IF @ModelRefusal IS NOT NULL
        THROW 50043, @ModelRefusal, 1;
    EXEC dbo.sp_ChargeUsage @TenantId = @TenantId, @Operation = 'embedding', @Units = 1,
        @Source = N'sp_GenerateEmbedding', @QuotaCheckOnly = 1;
    EXEC dbo.sp_ComputeEmbedding @text_value = @text_value, @ModelId = @ModelId, @TenantId = @TenantId,
        @embedding = @embedding OUTPUT, @embedding_json = @embedding_json OUTPUT;
    BEGIN TRANSACTION;
        EXEC dbo.sp_ChargeUsage @TenantId = @TenantId, @Operation = 'embedding', @Units = 1,
            @Source = N'sp_GenerateEmbedding', @QuotaCheckOnly = 0;
    COMMIT TRANSACTION;
END;
