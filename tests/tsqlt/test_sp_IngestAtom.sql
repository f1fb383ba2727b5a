-- dbo.sp_IngestAtom: content-addressed atoms (SHA-256 within a tenant), modality from the content
-- type, UTF-8 check (hartonomous_ext.atoms), optional embedding of text atoms; errors 50001-50008
-- for bad input (50003: a content type that is not a media type, or text that is not UTF-8).
EXEC tSQLt.NewTestClass 'test_sp_IngestAtom';
GO

-- dbo.sp_ChargeUsage is a spy in this class (its own class tests it): tSQLt runs each test in a
-- transaction with a savepoint, which cannot reach the memory-optimized billing ledger (12326)
CREATE PROCEDURE test_sp_IngestAtom.[SetUp]
AS
BEGIN
    EXEC tSQLt.SpyProcedure @ProcedureName = N'dbo.sp_ChargeUsage';
END;
GO

CREATE PROCEDURE test_sp_IngestAtom.[test new content is stored as one atom with its hash and payload]
AS
BEGIN
    DECLARE @Content VARBINARY(MAX) = CAST('tsqlt 424242: the database is the engine.' AS VARBINARY(MAX));
    DECLARE @AtomId BIGINT;
    EXEC dbo.sp_IngestAtom @Content = @Content, @ContentType = N' Text/Plain ', @Metadata = N'{"source": "tsqlt"}',
        @TenantId = 424242, @AtomId = @AtomId OUTPUT;
    SELECT TenantId, ContentHash, ContentType, Modality, ContentSize, ReferenceCount, Metadata
    INTO #actual FROM dbo.Atoms WHERE AtomId = @AtomId;
    SELECT TOP (0) * INTO #expected FROM #actual;
    INSERT INTO #expected (TenantId, ContentHash, ContentType, Modality, ContentSize, ReferenceCount, Metadata)
    VALUES (424242, HASHBYTES('SHA2_256', @Content), N'text/plain', N'text', DATALENGTH(@Content), 1, N'{"source": "tsqlt"}');
    EXEC tSQLt.AssertEqualsTable '#expected', '#actual';
    IF NOT EXISTS (SELECT 1 FROM dbo.AtomPayloadStore WHERE AtomId = @AtomId AND Payload = @Content)
        EXEC tSQLt.Fail 'the payload of atom ', @AtomId, ' is not the content';
END;
GO

CREATE PROCEDURE test_sp_IngestAtom.[test the same content again is the same atom with ReferenceCount 2]
AS
BEGIN
    DECLARE @Content VARBINARY(MAX) = CAST('tsqlt 424242: twice' AS VARBINARY(MAX));
    DECLARE @First BIGINT, @Again BIGINT, @Refs BIGINT, @Atoms INT;
    EXEC dbo.sp_IngestAtom @Content = @Content, @ContentType = N'text/plain', @TenantId = 424242, @AtomId = @First OUTPUT;
    EXEC dbo.sp_IngestAtom @Content = @Content, @ContentType = N'text/plain', @TenantId = 424242, @AtomId = @Again OUTPUT;
    SELECT @Refs = ReferenceCount FROM dbo.Atoms WHERE AtomId = @First;
    SELECT @Atoms = COUNT(*) FROM dbo.Atoms WHERE TenantId = 424242 AND ContentHash = HASHBYTES('SHA2_256', @Content);
    EXEC tSQLt.AssertEquals @Expected = @First, @Actual = @Again;
    EXEC tSQLt.AssertEquals @Expected = 2, @Actual = @Refs;
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @Atoms;
END;
GO

CREATE PROCEDURE test_sp_IngestAtom.[test the same content in another tenant is another atom]
AS
BEGIN
    DECLARE @Content VARBINARY(MAX) = CAST('tsqlt 424242: shared text' AS VARBINARY(MAX));
    DECLARE @Mine BIGINT, @Theirs BIGINT;
    EXEC dbo.sp_IngestAtom @Content = @Content, @ContentType = N'text/plain', @TenantId = 424242, @AtomId = @Mine OUTPUT;
    EXEC dbo.sp_IngestAtom @Content = @Content, @ContentType = N'text/plain', @TenantId = 424243, @AtomId = @Theirs OUTPUT;
    EXEC tSQLt.AssertNotEquals @Expected = @Mine, @Actual = @Theirs;
END;
GO

CREATE PROCEDURE test_sp_IngestAtom.[test the modality follows the content type]
AS
BEGIN
    DECLARE @Id BIGINT;
    CREATE TABLE #actual (ContentType NVARCHAR(128), Modality NVARCHAR(16));
    EXEC dbo.sp_IngestAtom @Content = 0x89504E470D0A1A0A, @ContentType = N'image/png', @TenantId = 424242, @AtomId = @Id OUTPUT;
    EXEC dbo.sp_IngestAtom @Content = 0x7B7D, @ContentType = N'application/json', @TenantId = 424242, @AtomId = @Id OUTPUT;
    EXEC dbo.sp_IngestAtom @Content = 0x52494646, @ContentType = N'audio/wav', @TenantId = 424242, @AtomId = @Id OUTPUT;
    EXEC dbo.sp_IngestAtom @Content = 0x47475546, @ContentType = N'application/x-gguf', @TenantId = 424242, @AtomId = @Id OUTPUT;
    EXEC dbo.sp_IngestAtom @Content = 0x00FF00FF, @ContentType = N'application/octet-stream', @TenantId = 424242,
        @AtomId = @Id OUTPUT;
    EXEC dbo.sp_IngestAtom @Content = 0x6869, @ContentType = N'text/markdown; charset=utf-8', @TenantId = 424242,
        @AtomId = @Id OUTPUT;
    INSERT INTO #actual (ContentType, Modality) SELECT ContentType, Modality FROM dbo.Atoms WHERE TenantId = 424242;
    SELECT TOP (0) * INTO #expected FROM #actual;
    INSERT INTO #expected (ContentType, Modality)
    VALUES (N'image/png', N'image'), (N'application/json', N'text'), (N'audio/wav', N'audio'),
           (N'application/x-gguf', N'model'), (N'application/octet-stream', N'binary'),
           (N'text/markdown; charset=utf-8', N'text');
    EXEC tSQLt.AssertEqualsTable '#expected', '#actual';
END;
GO

CREATE PROCEDURE test_sp_IngestAtom.[test GenerateEmbedding stores a 384-dimension embedding]
AS
BEGIN
    DECLARE @AtomId BIGINT;
    EXEC dbo.sp_IngestAtom @Content = 0x7473716C7420343234323432, -- 'tsqlt 424242'
        @ContentType = N'text/plain', @TenantId = 424242, @GenerateEmbedding = 1, @AtomId = @AtomId OUTPUT;
    SELECT EmbeddingType, Dimension, DATALENGTH(EmbeddingVector) AS Bytes, ModelId
    INTO #actual FROM dbo.AtomEmbeddings WHERE AtomId = @AtomId;
    SELECT TOP (0) * INTO #expected FROM #actual;
    INSERT INTO #expected (EmbeddingType, Dimension, Bytes, ModelId) VALUES (N'all-MiniLM-L6-v2', 384, 1536, NULL);
    EXEC tSQLt.AssertEqualsTable '#expected', '#actual';
END;
GO

CREATE PROCEDURE test_sp_IngestAtom.[test the seed call: an image is stored, without an embedding]
AS
BEGIN
    -- docs seed 003, "Atom Ingestion", as written (@binaryData: a 1x1 PNG). The embedding models
    -- embed text: the image is stored, without an embedding (a message says so).
    DECLARE @binaryData VARBINARY(MAX) = 0x89504E470D0A1A0A0000000D49484452000000010000000108060000001F15C4890000000D4944415478DA63FCFFFF3F0005FE02FEA7D6A4E90000000049454E44AE426082;
    DECLARE @AtomId BIGINT, @Modality NVARCHAR(16), @Metadata NVARCHAR(4000), @Embeddings INT;
    -- Ingest content-addressable atom
    EXEC dbo.sp_IngestAtom
        @Content = @binaryData,
        @ContentType = 'image/png',
        @Metadata = '{"source": "user_upload"}',
        @TenantId = 0,
        @GenerateEmbedding = 1,
        @ModelId = NULL,
        @AtomId = @AtomId OUTPUT;
    SELECT @Modality = Modality, @Metadata = Metadata FROM dbo.Atoms
    WHERE AtomId = @AtomId AND TenantId = 0 AND ContentHash = HASHBYTES('SHA2_256', @binaryData);
    SELECT @Embeddings = COUNT(*) FROM dbo.AtomEmbeddings WHERE AtomId = @AtomId;
    EXEC tSQLt.AssertEquals @Expected = N'image', @Actual = @Modality;
    EXEC tSQLt.AssertEquals @Expected = N'{"source": "user_upload"}', @Actual = @Metadata;
    EXEC tSQLt.AssertEquals @Expected = 0, @Actual = @Embeddings;
END;
GO

CREATE PROCEDURE test_sp_IngestAtom.[test an image with a ModelId to embed it is refused (50007)]
AS
BEGIN
    DECLARE @AtomId BIGINT;
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 50007, @ExpectedMessagePattern = '%embeds text%image%';
    EXEC dbo.sp_IngestAtom @Content = 0x89504E470D0A1A0A, @ContentType = N'image/png', @TenantId = 424242,
        @GenerateEmbedding = 1, @ModelId = 7, @AtomId = @AtomId OUTPUT;
END;
GO

CREATE PROCEDURE test_sp_IngestAtom.[test empty content is refused (50001)]
AS
BEGIN
    DECLARE @AtomId BIGINT;
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 50001, @ExpectedMessagePattern = '%Content is empty%';
    EXEC dbo.sp_IngestAtom @Content = 0x, @ContentType = N'text/plain', @TenantId = 424242, @AtomId = @AtomId OUTPUT;
END;
GO

CREATE PROCEDURE test_sp_IngestAtom.[test NULL content is refused (50001)]
AS
BEGIN
    DECLARE @AtomId BIGINT;
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 50001;
    EXEC dbo.sp_IngestAtom @Content = NULL, @ContentType = N'text/plain', @TenantId = 424242, @AtomId = @AtomId OUTPUT;
END;
GO

CREATE PROCEDURE test_sp_IngestAtom.[test a content type that is not a media type is refused (50003)]
AS
BEGIN
    DECLARE @AtomId BIGINT;
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 50003, @ExpectedMessagePattern = '%ContentType%plain text%is not a media type%';
    EXEC dbo.sp_IngestAtom @Content = 0x6869, @ContentType = N'plain text', @TenantId = 424242, @AtomId = @AtomId OUTPUT;
END;
GO

CREATE PROCEDURE test_sp_IngestAtom.[test a NULL content type is refused (50003)]
AS
BEGIN
    DECLARE @AtomId BIGINT;
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 50003;
    EXEC dbo.sp_IngestAtom @Content = 0x6869, @ContentType = NULL, @TenantId = 424242, @AtomId = @AtomId OUTPUT;
END;
GO

CREATE PROCEDURE test_sp_IngestAtom.[test a negative tenant is refused (50030)]
AS
BEGIN
    DECLARE @AtomId BIGINT;
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 50030, @ExpectedMessage = N'sp_IngestAtom: TenantId must be 0 or more';
    EXEC dbo.sp_IngestAtom @Content = 0x6869, @ContentType = N'text/plain', @TenantId = -1, @AtomId = @AtomId OUTPUT;
END;
GO

CREATE PROCEDURE test_sp_IngestAtom.[test metadata that is not JSON is refused (50005)]
AS
BEGIN
    DECLARE @AtomId BIGINT;
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 50005;
    EXEC dbo.sp_IngestAtom @Content = 0x6869, @ContentType = N'text/plain', @Metadata = N'{source: tsqlt',
        @TenantId = 424242, @AtomId = @AtomId OUTPUT;
END;
GO

CREATE PROCEDURE test_sp_IngestAtom.[test text that is not UTF-8 is refused (50003)]
AS
BEGIN
    DECLARE @AtomId BIGINT;
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 50003, @ExpectedMessagePattern = '%not valid UTF-8%';
    -- 0xC3 starts a two-byte sequence; 0x28 cannot continue it
    EXEC dbo.sp_IngestAtom @Content = 0x6869C328, @ContentType = N'text/plain', @TenantId = 424242, @AtomId = @AtomId OUTPUT;
END;
GO

CREATE PROCEDURE test_sp_IngestAtom.[test an embedding by a model the tenant does not have is refused (50008)]
AS
BEGIN
    DECLARE @AtomId BIGINT;
    EXEC test_fixtures.UnbindTenantAccess;
    EXEC tSQLt.FakeTable @TableName = N'dbo.Models';
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 50008, @ExpectedMessagePattern = '%model 7 does not exist for tenant 424242%';
    EXEC dbo.sp_IngestAtom @Content = 0x6869, @ContentType = N'text/plain', @TenantId = 424242, @GenerateEmbedding = 1,
        @ModelId = 7, @AtomId = @AtomId OUTPUT;
END;
GO

CREATE PROCEDURE test_sp_IngestAtom.[test content over the tenant's MaxIngestBytes is refused (50034)]
AS
BEGIN
    DECLARE @AtomId BIGINT;
    INSERT INTO dbo.TenantSecurityPolicy (TenantId, MaxIngestBytes) VALUES (424242, 10);
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 50034,
        @ExpectedMessage = N'sp_IngestAtom: Content has 11 bytes, more than tenant 424242''s 10 (dbo.TenantSecurityPolicy)';
    EXEC dbo.sp_IngestAtom @Content = 0x656C6576656E2062797465, @ContentType = N'text/plain', @TenantId = 424242,
        @AtomId = @AtomId OUTPUT;
END;
GO

CREATE PROCEDURE test_sp_IngestAtom.[test a suspended tenant's user is refused (50030)]
AS
BEGIN
    DECLARE @AtomId BIGINT;
    INSERT INTO dbo.TenantSecurityPolicy (TenantId, IsActive) VALUES (424242, 0);
    EXEC test_fixtures.CreateTenantUser @UserName = N'tsqlt_alice', @Role = N'app', @TenantId = 424242;
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 50030,
        @ExpectedMessage = N'sp_IngestAtom: tenant 424242 is suspended (dbo.TenantSecurityPolicy)';
    EXECUTE AS USER = N'tsqlt_alice';
    EXEC dbo.sp_IngestAtom @Content = 0x6869, @ContentType = N'text/plain', @AtomId = @AtomId OUTPUT;
END;
GO

CREATE PROCEDURE test_sp_IngestAtom.[test new content is charged by its bytes and stored content is not]
AS
BEGIN
    DECLARE @Id BIGINT, @Checks INT, @Charged BIGINT, @Charges INT;
    EXEC dbo.sp_IngestAtom @Content = 0x6D65746572656421, @ContentType = N'text/plain', @TenantId = 424242,
        @AtomId = @Id OUTPUT;
    EXEC dbo.sp_IngestAtom @Content = 0x6D65746572656421, @ContentType = N'text/plain', @TenantId = 424242,
        @AtomId = @Id OUTPUT;
    SELECT @Checks = COUNT(*) FROM dbo.sp_ChargeUsage_SpyProcedureLog
    WHERE Operation = 'ingested_byte' AND QuotaCheckOnly = 1 AND Units = 8;
    SELECT @Charges = COUNT(*), @Charged = SUM(Units) FROM dbo.sp_ChargeUsage_SpyProcedureLog
    WHERE Operation = 'ingested_byte' AND QuotaCheckOnly = 0 AND TenantId = 424242;
    EXEC tSQLt.AssertEquals @Expected = 2, @Actual = @Checks;  -- each call checks the quota first
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @Charges;  -- the second stored nothing new
    EXEC tSQLt.AssertEquals @Expected = 8, @Actual = @Charged;
END;
GO

-- DBA review, D3: binding a new atom to its concepts never fails the ingest. Inside a caller's
-- transaction (tSQLt's) a bind error rolls back to sp_IngestAtom's savepoint: the bind's writes go,
-- the atom stays, the AtomId comes back and the transaction is still committable.
CREATE PROCEDURE test_sp_IngestAtom.[test a failing bind leaves the atom stored, unbound, and the caller's transaction committable]
AS
BEGIN
    DECLARE @Run BIGINT, @AtomId BIGINT, @Stored INT, @Memberships INT, @State INT;
    INSERT INTO dbo.IngestionJobs (TenantId, JobType, Status) VALUES (424242, N'concept-discovery', N'Completed');
    SET @Run = SCOPE_IDENTITY();
    INSERT INTO provenance.Concepts (TenantId, EmbeddingType, Label, Dimension, Centroid, Size, PrimarySize, Coherence, DiscoveryRunId)
    VALUES (424242, N'all-MiniLM-L6-v2', N'tsqlt concept', 1, 0x0000803F, 1, 1, 0.9, @Run);
    -- the bind writes a membership, then fails (its spy log goes with the savepoint: the test below
    -- shows a new atom is bound)
    EXEC tSQLt.SpyProcedure @ProcedureName = N'dbo.sp_BindAtomConcepts', @CommandToExecute = N'
        INSERT INTO provenance.AtomConcepts (AtomId, ConceptId, Similarity, IsPrimary, BoundBy)
        SELECT CONVERT(BIGINT, j.[value]), c.ConceptId, 0.5, 1, N''ingest''
        FROM OPENJSON(@AtomIds) AS j CROSS JOIN provenance.Concepts AS c WHERE c.TenantId = 424242;
        RAISERROR(N''tsqlt: the bind fails'', 16, 1);';
    EXEC dbo.sp_IngestAtom @Content = 0x7473716C742062696E64206661696C73, -- 'tsqlt bind fails'
        @ContentType = N'text/plain', @TenantId = 424242, @GenerateEmbedding = 1, @AtomId = @AtomId OUTPUT;
    SET @State = XACT_STATE();
    SELECT @Stored = COUNT(*) FROM dbo.Atoms WHERE AtomId = @AtomId AND TenantId = 424242;
    SELECT @Memberships = COUNT(*) FROM provenance.AtomConcepts WHERE AtomId = @AtomId;
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @State;
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @Stored;
    EXEC tSQLt.AssertEquals @Expected = 0, @Actual = @Memberships;
END;
GO

-- DBA review, suggestion 10: only what this call embedded is bound. An atom a discovery run left as
-- an outlier has no memberships; ingesting its content again must not start Python again.
CREATE PROCEDURE test_sp_IngestAtom.[test stored content ingested again is not bound again]
AS
BEGIN
    DECLARE @Run BIGINT, @First BIGINT, @Again BIGINT, @Binds INT;
    INSERT INTO dbo.IngestionJobs (TenantId, JobType, Status) VALUES (424242, N'concept-discovery', N'Completed');
    SET @Run = SCOPE_IDENTITY();
    INSERT INTO provenance.Concepts (TenantId, EmbeddingType, Label, Dimension, Centroid, Size, PrimarySize, Coherence, DiscoveryRunId)
    VALUES (424242, N'tsqlt-2d', N'tsqlt concept', 2, 0x0000803F00000000, 1, 1, 0.9, @Run);
    EXEC tSQLt.SpyProcedure @ProcedureName = N'dbo.sp_BindAtomConcepts';
    EXEC dbo.sp_IngestAtom @Content = 0x7473716C74206F75746C696572, -- 'tsqlt outlier'
        @ContentType = N'text/plain', @TenantId = 424242, @AtomId = @First OUTPUT;
    -- embedded by an earlier call (as a discovery run's outlier is), without memberships
    INSERT INTO dbo.AtomEmbeddings (AtomId, EmbeddingType, Dimension, EmbeddingVector)
    VALUES (@First, N'tsqlt-2d', 2, 0x000000000000803F);
    EXEC dbo.sp_IngestAtom @Content = 0x7473716C74206F75746C696572,
        @ContentType = N'text/plain', @TenantId = 424242, @AtomId = @Again OUTPUT;
    SELECT @Binds = COUNT(*) FROM dbo.sp_BindAtomConcepts_SpyProcedureLog;
    EXEC tSQLt.AssertEquals @Expected = @First, @Actual = @Again;
    EXEC tSQLt.AssertEquals @Expected = 0, @Actual = @Binds;
END;
GO

-- ... and what it embedded is bound once: a new atom, and a stored one that gets its embedding now
CREATE PROCEDURE test_sp_IngestAtom.[test an atom embedded by the call is bound, once]
AS
BEGIN
    DECLARE @Run BIGINT, @New BIGINT, @Again BIGINT, @Late BIGINT, @Binds INT, @LateBinds INT;
    INSERT INTO dbo.IngestionJobs (TenantId, JobType, Status) VALUES (424242, N'concept-discovery', N'Completed');
    SET @Run = SCOPE_IDENTITY();
    INSERT INTO provenance.Concepts (TenantId, EmbeddingType, Label, Dimension, Centroid, Size, PrimarySize, Coherence, DiscoveryRunId)
    VALUES (424242, N'all-MiniLM-L6-v2', N'tsqlt concept', 1, 0x0000803F, 1, 1, 0.9, @Run);
    EXEC tSQLt.SpyProcedure @ProcedureName = N'dbo.sp_BindAtomConcepts';
    EXEC dbo.sp_IngestAtom @Content = 0x7473716C74206E6577, -- 'tsqlt new'
        @ContentType = N'text/plain', @TenantId = 424242, @GenerateEmbedding = 1, @AtomId = @New OUTPUT;
    EXEC dbo.sp_IngestAtom @Content = 0x7473716C74206E6577,
        @ContentType = N'text/plain', @TenantId = 424242, @GenerateEmbedding = 1, @AtomId = @Again OUTPUT;
    EXEC dbo.sp_IngestAtom @Content = 0x7473716C74206C617465, -- 'tsqlt late': stored, then embedded
        @ContentType = N'text/plain', @TenantId = 424242, @AtomId = @Late OUTPUT;
    EXEC dbo.sp_IngestAtom @Content = 0x7473716C74206C617465,
        @ContentType = N'text/plain', @TenantId = 424242, @GenerateEmbedding = 1, @AtomId = @Late OUTPUT;
    SELECT @Binds = COUNT(*) FROM dbo.sp_BindAtomConcepts_SpyProcedureLog WHERE AtomIds = CONCAT(N'[', @New, N']');
    SELECT @LateBinds = COUNT(*) FROM dbo.sp_BindAtomConcepts_SpyProcedureLog WHERE AtomIds = CONCAT(N'[', @Late, N']');
    EXEC tSQLt.AssertEquals @Expected = @New, @Actual = @Again;
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @Binds;
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @LateBinds;
END;
GO
