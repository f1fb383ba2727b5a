-- dbo.sp_IngestAtoms: a batch of contents (a JSON array, contents in base64) as atoms in one call,
-- counted and joined as that many sp_IngestAtom calls, embeddings for its text atoms; one bad
-- element refuses the whole batch, naming it (50011-50019).
EXEC tSQLt.NewTestClass 'test_sp_IngestAtoms';
GO

-- dbo.sp_ChargeUsage is a spy in this class (its own class tests it): tSQLt runs each test in a
-- transaction with a savepoint, which cannot reach the memory-optimized billing ledger (12326)
CREATE PROCEDURE test_sp_IngestAtoms.[SetUp]
AS
BEGIN
    EXEC tSQLt.SpyProcedure @ProcedureName = N'dbo.sp_ChargeUsage';
END;
GO

CREATE PROCEDURE test_sp_IngestAtoms.[test a batch with a repeated content is one atom counted twice]
AS
BEGIN
    -- 'tsqlt batch one' and 'tsqlt batch two' in base64
    DECLARE @Atoms NVARCHAR(MAX) = N'[
        {"content": "dHNxbHQgYmF0Y2ggb25l", "contentType": "text/plain", "metadata": {"n": 1}},
        {"content": "dHNxbHQgYmF0Y2ggdHdv", "contentType": "Text/Plain"},
        {"content": "dHNxbHQgYmF0Y2ggb25l", "contentType": "text/plain", "metadata": {"m": 2}}]';
    CREATE TABLE #rows (Ordinal INT, AtomId BIGINT, Inserted BIT, AtomEmbeddingId BIGINT);
    INSERT INTO #rows EXEC dbo.sp_IngestAtoms @Atoms = @Atoms, @TenantId = 424244;
    SELECT r.Ordinal, r.Inserted, a.ContentType, a.ReferenceCount, CONVERT(VARCHAR(100), p.Payload) AS Payload,
           JSON_VALUE(a.Metadata, '$.n') AS N, JSON_VALUE(a.Metadata, '$.m') AS M
    INTO #actual
    FROM #rows AS r JOIN dbo.Atoms AS a ON a.AtomId = r.AtomId JOIN dbo.AtomPayloadStore AS p ON p.AtomId = r.AtomId;
    SELECT TOP (0) * INTO #expected FROM #actual;
    INSERT INTO #expected (Ordinal, Inserted, ContentType, ReferenceCount, Payload, N, M)
    VALUES (1, 1, N'text/plain', 2, 'tsqlt batch one', N'1', N'2'),
           (2, 1, N'text/plain', 1, 'tsqlt batch two', NULL, NULL),
           (3, 0, N'text/plain', 2, 'tsqlt batch one', N'1', N'2');
    EXEC tSQLt.AssertEqualsTable '#expected', '#actual';
END;
GO

CREATE PROCEDURE test_sp_IngestAtoms.[test GenerateEmbedding embeds the text atoms and not the image]
AS
BEGIN
    DECLARE @Atoms NVARCHAR(MAX) = N'[
        {"content": "dHNxbHQgYmF0Y2ggdGV4dA==", "contentType": "text/plain"},
        {"content": "iVBORw0KGgo=", "contentType": "image/png"}]';
    CREATE TABLE #rows (Ordinal INT, AtomId BIGINT, Inserted BIT, AtomEmbeddingId BIGINT);
    INSERT INTO #rows EXEC dbo.sp_IngestAtoms @Atoms = @Atoms, @TenantId = 424244, @GenerateEmbedding = 1;
    SELECT r.Ordinal, e.EmbeddingType, e.Dimension, DATALENGTH(e.EmbeddingVector) AS Bytes
    INTO #actual
    FROM #rows AS r LEFT JOIN dbo.AtomEmbeddings AS e ON e.AtomEmbeddingId = r.AtomEmbeddingId;
    SELECT TOP (0) * INTO #expected FROM #actual;
    INSERT INTO #expected (Ordinal, EmbeddingType, Dimension, Bytes)
    VALUES (1, N'all-MiniLM-L6-v2', 384, 1536), (2, NULL, NULL, NULL);
    EXEC tSQLt.AssertEqualsTable '#expected', '#actual';
END;
GO

CREATE PROCEDURE test_sp_IngestAtoms.[test an empty batch returns no rows]
AS
BEGIN
    CREATE TABLE #rows (Ordinal INT, AtomId BIGINT, Inserted BIT, AtomEmbeddingId BIGINT);
    INSERT INTO #rows EXEC dbo.sp_IngestAtoms @Atoms = N'[]', @TenantId = 424244;
    EXEC tSQLt.AssertEmptyTable '#rows';
END;
GO

CREATE PROCEDURE test_sp_IngestAtoms.[test an element that is not an object is named (50013)]
AS
BEGIN
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 50013, @ExpectedMessagePattern = '%item 2: is not a JSON object%';
    EXEC dbo.sp_IngestAtoms @Atoms = N'[{"content": "aGk=", "contentType": "text/plain"}, 7]', @TenantId = 424244;
END;
GO

CREATE PROCEDURE test_sp_IngestAtoms.[test content that is not base64 is named (50013)]
AS
BEGIN
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 50013, @ExpectedMessagePattern = '%item 1: "content" is not base64%';
    EXEC dbo.sp_IngestAtoms @Atoms = N'[{"content": "aGk", "contentType": "text/plain"}]', @TenantId = 424244;
END;
GO

CREATE PROCEDURE test_sp_IngestAtoms.[test text that is not UTF-8 is named (50018)]
AS
BEGIN
    -- 0xFFFE
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 50018, @ExpectedMessagePattern = '%item 2: Content is not valid UTF-8 text%';
    EXEC dbo.sp_IngestAtoms @Atoms = N'[{"content": "aGk=", "contentType": "text/plain"}, {"content": "//4=", "contentType": "text/plain"}]',
        @TenantId = 424244;
END;
GO

CREATE PROCEDURE test_sp_IngestAtoms.[test an array that is not one is refused (50011)]
AS
BEGIN
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 50011, @ExpectedMessagePattern = '%Atoms must be a JSON array%';
    EXEC dbo.sp_IngestAtoms @Atoms = N'{"content": "aGk="}', @TenantId = 424244;
END;
GO

CREATE PROCEDURE test_sp_IngestAtoms.[test a model the tenant does not have is refused (50017)]
AS
BEGIN
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 50017, @ExpectedMessagePattern = '%model 987654 does not exist for tenant 424244%';
    EXEC dbo.sp_IngestAtoms @Atoms = N'[{"content": "aGk=", "contentType": "text/plain"}]', @TenantId = 424244,
        @GenerateEmbedding = 1, @ModelId = 987654;
END;
GO

CREATE PROCEDURE test_sp_IngestAtoms.[test a key given twice is refused (50013), not read two ways]
AS
BEGIN
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 50013, @ExpectedMessagePattern = '%item 1: names a key more than once%';
    EXEC dbo.sp_IngestAtoms @Atoms = N'[{"content": "aGk=", "content": "//4=", "contentType": "text/plain"}]', @TenantId = 424244;
END;
GO

CREATE PROCEDURE test_sp_IngestAtoms.[test text that is not JSON is refused (50011)]
AS
BEGIN
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 50011, @ExpectedMessagePattern = '%Atoms must be a JSON array%';
    EXEC dbo.sp_IngestAtoms @Atoms = N'not json at all', @TenantId = 424244;
END;
GO

CREATE PROCEDURE test_sp_IngestAtoms.[test a batch over the tenant's MaxIngestBytes is refused (50034)]
AS
BEGIN
    INSERT INTO dbo.TenantSecurityPolicy (TenantId, MaxIngestBytes) VALUES (424242, 10);
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 50034,
        @ExpectedMessage = N'sp_IngestAtoms: the batch holds 12 bytes, more than tenant 424242''s 10 (dbo.TenantSecurityPolicy)';
    EXEC dbo.sp_IngestAtoms
        @Atoms = N'[{"content": "c2l4c2l4", "contentType": "text/plain"}, {"content": "c2l4c2l4", "contentType": "text/plain"}]',
        @TenantId = 424242;
END;
GO
