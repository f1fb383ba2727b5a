-- dbo.fn_DiscoverConcepts (a procedure under the seeds' function name): clusters the tenant's
-- embeddings of one type with hartonomous_ext.concepts and returns ConceptId, Label, Size,
-- Coherence, EventType per live concept. Bad arguments (50620-50623) and a tenant with no embeddings
-- of the type (50625) are refused and write nothing. The atoms here carry hand-made 2-d embeddings:
-- two tight groups of eight, far apart, which every clustering finds (at a minimum cluster size of
-- 4: at 3 the leaves of the HDBSCAN tree split one of them, checked against hartonomous_ext.concepts).
EXEC tSQLt.NewTestClass 'test_fn_DiscoverConcepts';
GO

CREATE PROCEDURE test_fn_DiscoverConcepts.[SetUp]
AS
BEGIN
    DECLARE @Atom BIGINT, @I INT = 0, @Angle FLOAT, @Content VARBINARY(MAX);
    WHILE @I < 16
    BEGIN
        SET @Content = CAST(CONCAT(N'tsqlt concept atom ', @I) AS VARBINARY(MAX));
        EXEC test_fixtures.CreateAtom @TenantId = 424242, @Content = @Content, @AtomId = @Atom OUTPUT;
        -- group one near angle 0, group two near angle pi/2, each spread by a few hundredths
        SET @Angle = CASE WHEN @I < 8 THEN 0 ELSE PI() / 2 END + (@I % 8) * 0.01;
        INSERT INTO dbo.AtomEmbeddings (AtomId, EmbeddingType, Dimension, EmbeddingVector)
        VALUES (@Atom, N'tsqlt-2d', 2, CAST(REVERSE(CAST(CAST(COS(@Angle) AS REAL) AS BINARY(4))) AS BINARY(4))
                                      + CAST(REVERSE(CAST(CAST(SIN(@Angle) AS REAL) AS BINARY(4))) AS BINARY(4)));
        SET @I += 1;
    END;
END;
GO

CREATE PROCEDURE test_fn_DiscoverConcepts.[test two tight groups are two concepts, born, with every atom a member]
AS
BEGIN
    CREATE TABLE #concepts (ConceptId BIGINT, Label NVARCHAR(400), Size INT, Coherence FLOAT, EventType NVARCHAR(16));
    DECLARE @Concepts INT, @Born INT, @Members INT, @Runs INT, @Primary INT;
    INSERT INTO #concepts (ConceptId, Label, Size, Coherence, EventType)
    EXEC dbo.fn_DiscoverConcepts @MinClusterSize = 4, @TenantId = 424242, @EmbeddingType = N'tsqlt-2d';
    SELECT @Concepts = COUNT(*), @Born = SUM(CASE WHEN EventType = N'born' THEN 1 ELSE 0 END) FROM #concepts;
    SELECT @Members = COUNT(DISTINCT ac.AtomId), @Primary = SUM(CAST(ac.IsPrimary AS INT))
    FROM provenance.AtomConcepts AS ac INNER JOIN #concepts AS c ON c.ConceptId = ac.ConceptId;
    SELECT @Runs = COUNT(*) FROM dbo.IngestionJobs
    WHERE TenantId = 424242 AND JobType = N'concept-discovery' AND Status = N'Completed' AND AtomsProcessed = 16
      AND JSON_VALUE(Parameters, '$.stage') = N'done';  -- the stage others follow the run by
    EXEC tSQLt.AssertEquals @Expected = 2, @Actual = @Concepts;
    EXEC tSQLt.AssertEquals @Expected = 2, @Actual = @Born;
    EXEC tSQLt.AssertEquals @Expected = 16, @Actual = @Members;
    EXEC tSQLt.AssertEquals @Expected = 16, @Actual = @Primary;
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @Runs;
END;
GO

CREATE PROCEDURE test_fn_DiscoverConcepts.[test a second run keeps the identities and calls them stable]
AS
BEGIN
    CREATE TABLE #first (ConceptId BIGINT, Label NVARCHAR(400), Size INT, Coherence FLOAT, EventType NVARCHAR(16));
    CREATE TABLE #second (ConceptId BIGINT, Label NVARCHAR(400), Size INT, Coherence FLOAT, EventType NVARCHAR(16));
    DECLARE @Same INT, @Stable INT, @Retired INT;
    INSERT INTO #first (ConceptId, Label, Size, Coherence, EventType)
    EXEC dbo.fn_DiscoverConcepts @MinClusterSize = 4, @TenantId = 424242, @EmbeddingType = N'tsqlt-2d';
    INSERT INTO #second (ConceptId, Label, Size, Coherence, EventType)
    EXEC dbo.fn_DiscoverConcepts @MinClusterSize = 4, @TenantId = 424242, @EmbeddingType = N'tsqlt-2d';
    SELECT @Same = COUNT(*) FROM #first AS f INNER JOIN #second AS s ON s.ConceptId = f.ConceptId;
    SELECT @Stable = COUNT(*) FROM #second WHERE EventType = N'stable';
    SELECT @Retired = COUNT(*) FROM provenance.Concepts WHERE TenantId = 424242 AND RetiredAt IS NOT NULL;
    EXEC tSQLt.AssertEquals @Expected = 2, @Actual = @Same;
    EXEC tSQLt.AssertEquals @Expected = 2, @Actual = @Stable;
    EXEC tSQLt.AssertEquals @Expected = 0, @Actual = @Retired;
END;
GO

CREATE PROCEDURE test_fn_DiscoverConcepts.[test a MinClusterSize below 2 is refused (50620)]
AS
BEGIN
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 50620;
    EXEC dbo.fn_DiscoverConcepts @MinClusterSize = 1, @TenantId = 424242, @EmbeddingType = N'tsqlt-2d';
END;
GO

CREATE PROCEDURE test_fn_DiscoverConcepts.[test a CoherenceThreshold outside 0 to 1 is refused (50621)]
AS
BEGIN
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 50621;
    EXEC dbo.fn_DiscoverConcepts @CoherenceThreshold = 1.5, @TenantId = 424242, @EmbeddingType = N'tsqlt-2d';
END;
GO

CREATE PROCEDURE test_fn_DiscoverConcepts.[test a MaxConcepts below 1 is refused (50622)]
AS
BEGIN
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 50622;
    EXEC dbo.fn_DiscoverConcepts @MaxConcepts = 0, @TenantId = 424242, @EmbeddingType = N'tsqlt-2d';
END;
GO

CREATE PROCEDURE test_fn_DiscoverConcepts.[test a type the tenant has no embeddings of is refused (50625)]
AS
BEGIN
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 50625,
        @ExpectedMessage = N'fn_DiscoverConcepts: tenant 424242 has no embeddings of type no-such-type';
    EXEC dbo.fn_DiscoverConcepts @TenantId = 424242, @EmbeddingType = N'no-such-type';
END;
GO

-- DBA review, suggestion 2: the checks come before SET XACT_ABORT ON, so a refusal inside a caller's
-- transaction leaves it committable (XACT_ABORT ON first made every THROW doom it)
CREATE PROCEDURE test_fn_DiscoverConcepts.[test a refused argument or type leaves the caller's transaction committable]
AS
BEGIN
    DECLARE @Number INT, @State INT, @TypeNumber INT, @TypeState INT;
    BEGIN TRY
        EXEC dbo.fn_DiscoverConcepts @MinClusterSize = 1, @TenantId = 424242, @EmbeddingType = N'tsqlt-2d';
    END TRY
    BEGIN CATCH
        SELECT @Number = ERROR_NUMBER(), @State = XACT_STATE();
    END CATCH;
    BEGIN TRY
        EXEC dbo.fn_DiscoverConcepts @TenantId = 424242, @EmbeddingType = N'no-such-type';
    END TRY
    BEGIN CATCH
        SELECT @TypeNumber = ERROR_NUMBER(), @TypeState = XACT_STATE();
    END CATCH;
    EXEC tSQLt.AssertEquals @Expected = 50620, @Actual = @Number;
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @State;
    EXEC tSQLt.AssertEquals @Expected = 50625, @Actual = @TypeNumber;
    EXEC tSQLt.AssertEquals @Expected = 1, @Actual = @TypeState;
END;
GO

-- DBA review, suggestion 5: @MinClusterSize's default NULL reaches Python (as None or as float NaN):
-- the script takes either as "the default", not int(NaN) (50624)
CREATE PROCEDURE test_fn_DiscoverConcepts.[test a NULL MinClusterSize runs with the default]
AS
BEGIN
    CREATE TABLE #concepts (ConceptId BIGINT, Label NVARCHAR(400), Size INT, Coherence FLOAT, EventType NVARCHAR(16));
    DECLARE @Used INT;
    INSERT INTO #concepts (ConceptId, Label, Size, Coherence, EventType)
    EXEC dbo.fn_DiscoverConcepts @MinClusterSize = NULL, @TenantId = 424242, @EmbeddingType = N'tsqlt-2d';
    SELECT @Used = CAST(JSON_VALUE(Parameters, '$.min_cluster_size_used') AS INT) FROM dbo.IngestionJobs
    WHERE TenantId = 424242 AND JobType = N'concept-discovery' AND Status = N'Completed';
    EXEC tSQLt.AssertEquals @Expected = 10, @Actual = @Used;  -- policy.CONCEPT_MIN_CLUSTER_SIZE: 16 atoms are fewer than 1500
END;
GO
