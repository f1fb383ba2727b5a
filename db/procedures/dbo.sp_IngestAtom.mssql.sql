-- kind: procedure
-- requires: dbo.sp_StoreAtom, dbo.fn_ResolveTenant
-- Ingest content as an atom of the session's tenant (dbo.sp_StoreAtom does the work). Its SHA-256 is
-- its identity within the tenant: the same content again returns the same AtomId and raises
-- ReferenceCount, also when many sessions ingest it at once. The modality follows the content type.
-- With @GenerateEmbedding, a text atom gets its embedding by the packaged all-MiniLM-L6-v2, or with
-- @ModelId by that stored model of the tenant, projected to its 3-D point and vector bucket when
-- landmarks are fitted; other atoms are stored without one, with a message saying so.
-- Metered (dbo.sp_ChargeUsage): the bytes of new content ('ingested_byte'; content already stored
-- costs nothing) and the embedding computed ('embedding'); past a quota it refuses before the work.
CREATE OR ALTER PROCEDURE dbo.sp_IngestAtom
    @Content VARBINARY(MAX),
    @ContentType NVARCHAR(4000),
    @Metadata NVARCHAR(MAX) = NULL,
    @TenantId INT = NULL,
    @GenerateEmbedding BIT = 0,
    @ModelId INT = NULL,
    @AtomId BIGINT = NULL OUTPUT
AS
BEGIN
    SET NOCOUNT ON;
    SET @AtomId = NULL; -- an OUTPUT parameter is also an input: never answer with the caller's value
    DECLARE @TenantRefusal NVARCHAR(400);  -- the session's tenant, or an administrator's choice (dbo.fn_ResolveTenant)
    SELECT @TenantId = r.TenantId, @TenantRefusal = r.Refusal FROM dbo.fn_ResolveTenant(@TenantId, N'sp_IngestAtom') AS r;
    IF @TenantRefusal IS NOT NULL
        THROW 50030, @TenantRefusal, 1;
    EXEC dbo.sp_StoreAtom @Content = @Content, @ContentType = @ContentType, @Metadata = @Metadata,
        @TenantId = @TenantId, @GenerateEmbedding = @GenerateEmbedding, @ModelId = @ModelId, @Metered = 1,
        @AtomId = @AtomId OUTPUT;
END;
