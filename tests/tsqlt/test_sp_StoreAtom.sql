-- dbo.sp_StoreAtom: the work of sp_IngestAtom for a tenant its caller resolved; @Metered 0 (how
-- sp_GenerateText stores its text) charges nothing and checks no quota; a NULL tenant is refused.
EXEC tSQLt.NewTestClass 'test_sp_StoreAtom';
GO

-- dbo.sp_ChargeUsage is a spy in this class (its own class tests it): tSQLt runs each test in a
-- transaction with a savepoint, which cannot reach the memory-optimized billing ledger (12326)
CREATE PROCEDURE test_sp_StoreAtom.[SetUp]
AS
BEGIN
    EXEC tSQLt.SpyProcedure @ProcedureName = N'dbo.sp_ChargeUsage';
END;
GO

CREATE PROCEDURE test_sp_StoreAtom.[test unmetered storage charges nothing]
AS
BEGIN
    DECLARE @Id BIGINT, @Stored INT, @Calls INT;
    EXEC dbo.sp_StoreAtom @Content = 0x67656E657261746564, @ContentType = N'text/plain', @Metadata = NULL,
        @TenantId = 424242, @GenerateEmbedding = 0, @ModelId = NULL, @Metered = 0, @AtomId = @Id OUTPUT;
    SELECT @Stored = COUNT(*) FROM dbo.Atoms WHERE AtomId = @Id AND TenantId = 424242;
    SELECT @Calls = COUNT(*) FROM dbo.sp_ChargeUsage_SpyProcedureLog;
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @Stored;
    EXEC tSQLt.AssertEquals @Expected = 0, @Actual = @Calls;
END;
GO

CREATE PROCEDURE test_sp_StoreAtom.[test a NULL tenant is refused (50039)]
AS
BEGIN
    DECLARE @Id BIGINT;
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 50039,
        @ExpectedMessage = N'sp_StoreAtom: TenantId is required (the caller resolves it)';
    EXEC dbo.sp_StoreAtom @Content = 0x6E6F2074656E616E74, @ContentType = N'text/plain', @Metadata = NULL,
        @TenantId = NULL, @GenerateEmbedding = 0, @ModelId = NULL, @Metered = 1, @AtomId = @Id OUTPUT;
END;
GO
