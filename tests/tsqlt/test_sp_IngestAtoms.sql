-- dbo.sp_IngestAtoms: a batch of contents (a JSON array, contents in base64) as atoms in one call,
-- counted and joined as that many sp_IngestAtom calls, embeddings for its text atoms, bound to
-- their tenant's concepts in one call (a bind that fails leaves the batch stored); one bad element
-- refuses the whole batch, naming it (50011-50019).
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

-- issue #13: the atoms a batch embeds join their tenant's concepts, as sp_IngestAtom's one atom does.
-- The concept's centroid is the embedding of 'tsqlt concept seed'; 'tsqlt concept seeds' is near it.
-- The seed ingested again is stored content: not embedded again, not bound.
CREATE PROCEDURE test_sp_IngestAtoms.[test the atoms a batch embeds are bound to their nearest concept, stored content again is not]
AS
BEGIN
    DECLARE @Run BIGINT, @Seed BIGINT, @Concept BIGINT;
    CREATE TABLE #rows (Ordinal INT, AtomId BIGINT, Inserted BIT, AtomEmbeddingId BIGINT);
    INSERT INTO #rows
    EXEC dbo.sp_IngestAtoms @Atoms = N'[{"content": "dHNxbHQgY29uY2VwdCBzZWVk", "contentType": "text/plain"}]',
        @TenantId = 424244, @GenerateEmbedding = 1;
    SELECT @Seed = AtomId FROM #rows;
    INSERT INTO dbo.IngestionJobs (TenantId, JobType, Status) VALUES (424244, N'concept-discovery', N'Completed');
    SET @Run = SCOPE_IDENTITY();
    INSERT INTO provenance.Concepts (TenantId, EmbeddingType, Label, Dimension, Centroid, Size, PrimarySize, Coherence, DiscoveryRunId)
    SELECT 424244, e.EmbeddingType, N'tsqlt seed', e.Dimension, e.EmbeddingVector, 1, 1, 0.9, @Run
    FROM dbo.AtomEmbeddings AS e WHERE e.AtomId = @Seed;
    SET @Concept = SCOPE_IDENTITY();
    DELETE FROM #rows;
    INSERT INTO #rows
    EXEC dbo.sp_IngestAtoms @Atoms = N'[{"content": "dHNxbHQgY29uY2VwdCBzZWVk", "contentType": "text/plain"},
                                        {"content": "dHNxbHQgY29uY2VwdCBzZWVkcw==", "contentType": "text/plain"}]',
        @TenantId = 424244, @GenerateEmbedding = 1;
    SELECT r.Ordinal, ac.ConceptId, ac.IsPrimary, ac.BoundBy, CASE WHEN ac.Similarity >= 0.3 THEN 1 END AS Near
    INTO #actual
    FROM #rows AS r LEFT JOIN provenance.AtomConcepts AS ac ON ac.AtomId = r.AtomId;
    SELECT TOP (0) * INTO #expected FROM #actual;
    INSERT INTO #expected (Ordinal, ConceptId, IsPrimary, BoundBy, Near)
    VALUES (1, NULL, NULL, NULL, NULL), (2, @Concept, 1, N'ingest', 1);
    EXEC tSQLt.AssertEqualsTable '#expected', '#actual';
END;
GO

-- ... in one call for the whole batch (one external script per type, not one per atom): every atom
-- it embedded, once, and neither the image nor a repeated content
CREATE PROCEDURE test_sp_IngestAtoms.[test a batch is bound in one call for the atoms it embedded]
AS
BEGIN
    DECLARE @Run BIGINT, @Calls INT, @Type NVARCHAR(64), @AtomIds NVARCHAR(MAX);
    INSERT INTO dbo.IngestionJobs (TenantId, JobType, Status) VALUES (424244, N'concept-discovery', N'Completed');
    SET @Run = SCOPE_IDENTITY();
    INSERT INTO provenance.Concepts (TenantId, EmbeddingType, Label, Dimension, Centroid, Size, PrimarySize, Coherence, DiscoveryRunId)
    VALUES (424244, N'all-MiniLM-L6-v2', N'tsqlt concept', 1, 0x0000803F, 1, 1, 0.9, @Run);
    EXEC tSQLt.SpyProcedure @ProcedureName = N'dbo.sp_BindAtomConcepts';
    CREATE TABLE #rows (Ordinal INT, AtomId BIGINT, Inserted BIT, AtomEmbeddingId BIGINT);
    INSERT INTO #rows
    EXEC dbo.sp_IngestAtoms @Atoms = N'[{"content": "dHNxbHQgYm91bmQgb25l", "contentType": "text/plain"},
                                        {"content": "dHNxbHQgYm91bmQgdHdv", "contentType": "text/plain"},
                                        {"content": "iVBORw0KGgo=", "contentType": "image/png"},
                                        {"content": "dHNxbHQgYm91bmQgb25l", "contentType": "text/plain"},
                                        {"content": "dHNxbHQgYm91bmQgdGhyZWU=", "contentType": "text/plain"}]',
        @TenantId = 424244, @GenerateEmbedding = 1;
    SELECT @Calls = COUNT(*), @Type = MAX(EmbeddingType), @AtomIds = MAX(AtomIds) FROM dbo.sp_BindAtomConcepts_SpyProcedureLog;
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @Calls;
    EXEC tSQLt.AssertEquals @Expected = N'all-MiniLM-L6-v2', @Actual = @Type;
    SELECT CONVERT(BIGINT, j.[value]) AS AtomId INTO #actual FROM OPENJSON(@AtomIds) AS j;
    SELECT DISTINCT AtomId INTO #expected FROM #rows WHERE Ordinal IN (1, 2, 5);
    EXEC tSQLt.AssertEqualsTable '#expected', '#actual';
END;
GO

-- a bind that fails never fails the batch: inside a caller's transaction (tSQLt's) the batch is
-- stored, unbound, its rows returned, and the transaction still committable (no savepoint: the
-- helper writes nothing until it has computed everything)
CREATE PROCEDURE test_sp_IngestAtoms.[test a failing bind leaves the batch stored, unbound, and the caller's transaction committable]
AS
BEGIN
    DECLARE @Run BIGINT, @State INT, @Stored INT, @Memberships INT, @Returned INT;
    INSERT INTO dbo.IngestionJobs (TenantId, JobType, Status) VALUES (424244, N'concept-discovery', N'Completed');
    SET @Run = SCOPE_IDENTITY();
    INSERT INTO provenance.Concepts (TenantId, EmbeddingType, Label, Dimension, Centroid, Size, PrimarySize, Coherence, DiscoveryRunId)
    VALUES (424244, N'all-MiniLM-L6-v2', N'tsqlt concept', 1, 0x0000803F, 1, 1, 0.9, @Run);
    EXEC tSQLt.SpyProcedure @ProcedureName = N'dbo.sp_BindAtomConcepts',
        @CommandToExecute = N'RAISERROR(N''tsqlt: the bind fails'', 16, 1);';
    CREATE TABLE #rows (Ordinal INT, AtomId BIGINT, Inserted BIT, AtomEmbeddingId BIGINT);
    INSERT INTO #rows
    EXEC dbo.sp_IngestAtoms @Atoms = N'[{"content": "dHNxbHQgdW5ib3VuZCBvbmU=", "contentType": "text/plain"},
                                        {"content": "dHNxbHQgdW5ib3VuZCB0d28=", "contentType": "text/plain"}]',
        @TenantId = 424244, @GenerateEmbedding = 1;
    SET @State = XACT_STATE();
    SELECT @Returned = COUNT(*) FROM #rows WHERE AtomEmbeddingId IS NOT NULL;
    SELECT @Stored = COUNT(*) FROM dbo.Atoms AS a JOIN #rows AS r ON r.AtomId = a.AtomId WHERE a.TenantId = 424244;
    SELECT @Memberships = COUNT(*) FROM provenance.AtomConcepts AS ac JOIN #rows AS r ON r.AtomId = ac.AtomId;
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @State;
    EXEC tSQLt.AssertEquals @Expected = 2, @Actual = @Returned;
    EXEC tSQLt.AssertEquals @Expected = 2, @Actual = @Stored;
    EXEC tSQLt.AssertEquals @Expected = 0, @Actual = @Memberships;
END;
GO

-- ... and so does one the rule refuses in Python (a centroid without direction: 50635), the real
-- helper's failure, not a spy's
CREATE PROCEDURE test_sp_IngestAtoms.[test a bind the rule refuses leaves the batch stored and unbound]
AS
BEGIN
    DECLARE @Run BIGINT, @State INT, @Stored INT, @Memberships INT;
    INSERT INTO dbo.IngestionJobs (TenantId, JobType, Status) VALUES (424244, N'concept-discovery', N'Completed');
    SET @Run = SCOPE_IDENTITY();
    INSERT INTO provenance.Concepts (TenantId, EmbeddingType, Label, Dimension, Centroid, Size, PrimarySize, Coherence, DiscoveryRunId)
    VALUES (424244, N'all-MiniLM-L6-v2', N'tsqlt zero concept', 384,
            CONVERT(VARBINARY(MAX), REPLICATE(CONVERT(VARCHAR(MAX), 0x00), 1536)), 1, 1, 0.9, @Run);
    CREATE TABLE #rows (Ordinal INT, AtomId BIGINT, Inserted BIT, AtomEmbeddingId BIGINT);
    INSERT INTO #rows
    EXEC dbo.sp_IngestAtoms @Atoms = N'[{"content": "dHNxbHQgdW5ib3VuZCBvbmU=", "contentType": "text/plain"}]',
        @TenantId = 424244, @GenerateEmbedding = 1;
    SET @State = XACT_STATE();
    SELECT @Stored = COUNT(*) FROM dbo.Atoms AS a JOIN #rows AS r ON r.AtomId = a.AtomId AND r.AtomEmbeddingId IS NOT NULL;
    SELECT @Memberships = COUNT(*) FROM provenance.AtomConcepts AS ac JOIN #rows AS r ON r.AtomId = ac.AtomId;
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @State;
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @Stored;
    EXEC tSQLt.AssertEquals @Expected = 0, @Actual = @Memberships;
END;
GO
