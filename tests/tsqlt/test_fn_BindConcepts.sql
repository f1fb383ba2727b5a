-- dbo.fn_BindConcepts (a procedure under the seeds' function name): binds one atom of the tenant to
-- the live concepts of its embedding types whose centroids are close enough (hartonomous_ext.concepts.bind),
-- writes the memberships (BoundBy 'ingest') and returns them. Bad arguments (50630-50632), an atom
-- of another tenant (50633) or one without an embedding (50634) are refused. The concepts here are
-- written by hand: a 2-d centroid at (1, 0), one at (0, 1), and a retired one at (1, 0). Each test
-- finds SetUp's atom by its content (a #table made in SetUp is dropped when SetUp returns).
EXEC tSQLt.NewTestClass 'test_fn_BindConcepts';
GO

CREATE PROCEDURE test_fn_BindConcepts.[SetUp]
AS
BEGIN
    DECLARE @Atom BIGINT, @Run BIGINT;
    EXEC test_fixtures.CreateAtom @TenantId = 424242, @Content = 0x7473716C7420626F756E642061746F6D, @AtomId = @Atom OUTPUT;
    -- (0.8, 0.6): cosine 0.8 to the first centroid, 0.6 to the second
    INSERT INTO dbo.AtomEmbeddings (AtomId, EmbeddingType, Dimension, EmbeddingVector)
    VALUES (@Atom, N'tsqlt-2d', 2, 0xCDCC4C3F9A99193F);
    INSERT INTO dbo.IngestionJobs (TenantId, JobType, Status) VALUES (424242, N'concept-discovery', N'Completed');
    SET @Run = SCOPE_IDENTITY();
    INSERT INTO provenance.Concepts (TenantId, EmbeddingType, Label, Dimension, Centroid, Size, PrimarySize, Coherence,
                                     DiscoveryRunId, RetiredAt)
    VALUES (424242, N'tsqlt-2d', N'first', 2, 0x0000803F00000000, 1, 1, 0.9, @Run, NULL),
           (424242, N'tsqlt-2d', N'second', 2, 0x000000000000803F, 1, 1, 0.9, @Run, NULL),
           (424242, N'tsqlt-2d', N'retired', 2, 0x0000803F00000000, 1, 1, 0.9, @Run, SYSUTCDATETIME());
END;
GO

CREATE PROCEDURE test_fn_BindConcepts.[test the atom joins both live concepts, the nearest primary]
AS
BEGIN
    CREATE TABLE #bound (ConceptId BIGINT, EmbeddingType NVARCHAR(64), Label NVARCHAR(400), Similarity FLOAT, IsPrimary BIT);
    DECLARE @Atom BIGINT = (SELECT AtomId FROM dbo.Atoms WHERE TenantId = 424242 AND ContentHash = HASHBYTES('SHA2_256', 0x7473716C7420626F756E642061746F6D)), @Rows INT, @Primary NVARCHAR(400), @Ingest INT;
    INSERT INTO #bound (ConceptId, EmbeddingType, Label, Similarity, IsPrimary)
    EXEC dbo.fn_BindConcepts @AtomId = @Atom, @TenantId = 424242;
    SELECT @Rows = COUNT(*) FROM #bound;
    SELECT @Primary = Label FROM #bound WHERE IsPrimary = 1;
    SELECT @Ingest = COUNT(*) FROM provenance.AtomConcepts WHERE AtomId = @Atom AND BoundBy = N'ingest';
    EXEC tSQLt.AssertEquals @Expected = 2, @Actual = @Rows;
    EXEC tSQLt.AssertEquals @Expected = N'first', @Actual = @Primary;
    EXEC tSQLt.AssertEquals @Expected = 2, @Actual = @Ingest;
END;
GO

CREATE PROCEDURE test_fn_BindConcepts.[test a threshold above the second similarity and one concept at most bind the first only]
AS
BEGIN
    CREATE TABLE #bound (ConceptId BIGINT, EmbeddingType NVARCHAR(64), Label NVARCHAR(400), Similarity FLOAT, IsPrimary BIT);
    DECLARE @Atom BIGINT = (SELECT AtomId FROM dbo.Atoms WHERE TenantId = 424242 AND ContentHash = HASHBYTES('SHA2_256', 0x7473716C7420626F756E642061746F6D)), @Rows INT, @Label NVARCHAR(400);
    INSERT INTO #bound (ConceptId, EmbeddingType, Label, Similarity, IsPrimary)
    EXEC dbo.fn_BindConcepts @AtomId = @Atom, @SimilarityThreshold = 0.7, @MaxConceptsPerAtom = 3, @TenantId = 424242;
    SELECT @Rows = COUNT(*), @Label = MAX(Label) FROM #bound;
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @Rows;
    EXEC tSQLt.AssertEquals @Expected = N'first', @Actual = @Label;
END;
GO

CREATE PROCEDURE test_fn_BindConcepts.[test a NULL AtomId is refused (50630)]
AS
BEGIN
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 50630;
    EXEC dbo.fn_BindConcepts @AtomId = NULL, @TenantId = 424242;
END;
GO

CREATE PROCEDURE test_fn_BindConcepts.[test a SimilarityThreshold outside -1 to 1 is refused (50631)]
AS
BEGIN
    DECLARE @Atom BIGINT = (SELECT AtomId FROM dbo.Atoms WHERE TenantId = 424242 AND ContentHash = HASHBYTES('SHA2_256', 0x7473716C7420626F756E642061746F6D));
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 50631;
    EXEC dbo.fn_BindConcepts @AtomId = @Atom, @SimilarityThreshold = 2, @TenantId = 424242;
END;
GO

CREATE PROCEDURE test_fn_BindConcepts.[test a MaxConceptsPerAtom below 1 is refused (50632)]
AS
BEGIN
    DECLARE @Atom BIGINT = (SELECT AtomId FROM dbo.Atoms WHERE TenantId = 424242 AND ContentHash = HASHBYTES('SHA2_256', 0x7473716C7420626F756E642061746F6D));
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 50632;
    EXEC dbo.fn_BindConcepts @AtomId = @Atom, @MaxConceptsPerAtom = 0, @TenantId = 424242;
END;
GO

CREATE PROCEDURE test_fn_BindConcepts.[test an atom of another tenant is refused (50633)]
AS
BEGIN
    DECLARE @Atom BIGINT = (SELECT AtomId FROM dbo.Atoms WHERE TenantId = 424242 AND ContentHash = HASHBYTES('SHA2_256', 0x7473716C7420626F756E642061746F6D));
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 50633;
    EXEC dbo.fn_BindConcepts @AtomId = @Atom, @TenantId = 424243;
END;
GO

CREATE PROCEDURE test_fn_BindConcepts.[test an atom without an embedding is refused (50634)]
AS
BEGIN
    DECLARE @Bare BIGINT;
    EXEC test_fixtures.CreateAtom @TenantId = 424242, @Content = 0x6E6F20766563746F72, @AtomId = @Bare OUTPUT;
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 50634;
    EXEC dbo.fn_BindConcepts @AtomId = @Bare, @TenantId = 424242;
END;
GO

-- DBA review (suggestion 2, as for fn_DiscoverConcepts): fn_BindConcepts sets no XACT_ABORT, so a
-- refusal inside a caller's transaction leaves it committable
CREATE PROCEDURE test_fn_BindConcepts.[test a refused argument leaves the caller's transaction committable]
AS
BEGIN
    DECLARE @Atom BIGINT = (SELECT AtomId FROM dbo.Atoms WHERE TenantId = 424242 AND ContentHash = HASHBYTES('SHA2_256', 0x7473716C7420626F756E642061746F6D)), @Number INT, @State INT;
    BEGIN TRY
        EXEC dbo.fn_BindConcepts @AtomId = @Atom, @SimilarityThreshold = 2, @TenantId = 424242;
    END TRY
    BEGIN CATCH
        SELECT @Number = ERROR_NUMBER(), @State = XACT_STATE();
    END CATCH;
    EXEC tSQLt.AssertEquals @Expected = 50631, @Actual = @Number;
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @State;
END;
GO

-- binding again replaces the atom's memberships in the type's concepts (sp_BindAtomConcepts binds
-- a set of atoms and writes once, after computing): a discovery's membership in 'second' goes
CREATE PROCEDURE test_fn_BindConcepts.[test binding again replaces the atom's earlier memberships of the type]
AS
BEGIN
    DECLARE @Atom BIGINT = (SELECT AtomId FROM dbo.Atoms WHERE TenantId = 424242 AND ContentHash = HASHBYTES('SHA2_256', 0x7473716C7420626F756E642061746F6D)), @Second BIGINT, @Rows INT, @Label NVARCHAR(400), @By NVARCHAR(16);
    CREATE TABLE #bound (ConceptId BIGINT, EmbeddingType NVARCHAR(64), Label NVARCHAR(400), Similarity FLOAT, IsPrimary BIT);
    SELECT @Second = ConceptId FROM provenance.Concepts WHERE TenantId = 424242 AND Label = N'second';
    INSERT INTO provenance.AtomConcepts (AtomId, ConceptId, Similarity, IsPrimary, BoundBy)
    VALUES (@Atom, @Second, 0.6, 1, N'discovery');
    INSERT INTO #bound (ConceptId, EmbeddingType, Label, Similarity, IsPrimary)
    EXEC dbo.fn_BindConcepts @AtomId = @Atom, @SimilarityThreshold = 0.7, @TenantId = 424242;
    SELECT @Rows = COUNT(*), @Label = MAX(c.Label), @By = MAX(ac.BoundBy)
    FROM provenance.AtomConcepts AS ac JOIN provenance.Concepts AS c ON c.ConceptId = ac.ConceptId
    WHERE ac.AtomId = @Atom;
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @Rows;
    EXEC tSQLt.AssertEquals @Expected = N'first', @Actual = @Label;
    EXEC tSQLt.AssertEquals @Expected = N'ingest', @Actual = @By;
END;
GO

-- a concept the rule cannot compare with (a centroid without direction) is refused as 50635 before
-- anything is written: the atom's memberships stay as they were
CREATE PROCEDURE test_fn_BindConcepts.[test a centroid without direction is refused (50635) and changes nothing]
AS
BEGIN
    DECLARE @Atom BIGINT = (SELECT AtomId FROM dbo.Atoms WHERE TenantId = 424242 AND ContentHash = HASHBYTES('SHA2_256', 0x7473716C7420626F756E642061746F6D)), @Second BIGINT, @Run BIGINT, @Number INT, @Rows INT;
    SELECT @Second = ConceptId, @Run = DiscoveryRunId FROM provenance.Concepts WHERE TenantId = 424242 AND Label = N'second';
    INSERT INTO provenance.AtomConcepts (AtomId, ConceptId, Similarity, IsPrimary, BoundBy)
    VALUES (@Atom, @Second, 0.6, 1, N'discovery');
    INSERT INTO provenance.Concepts (TenantId, EmbeddingType, Label, Dimension, Centroid, Size, PrimarySize, Coherence, DiscoveryRunId)
    VALUES (424242, N'tsqlt-2d', N'zero', 2, 0x0000000000000000, 1, 1, 0.9, @Run);
    BEGIN TRY
        EXEC dbo.fn_BindConcepts @AtomId = @Atom, @TenantId = 424242;
    END TRY
    BEGIN CATCH
        SET @Number = ERROR_NUMBER();
    END CATCH;
    SELECT @Rows = COUNT(*) FROM provenance.AtomConcepts WHERE AtomId = @Atom AND ConceptId = @Second AND BoundBy = N'discovery';
    EXEC tSQLt.AssertEquals @Expected = 50635, @Actual = @Number;
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @Rows;
END;
GO
