-- dbo.sp_AtomConceptMemberships: an atom's concept memberships as provenance.AtomConcepts holds them
-- (not copied into the graph), live concepts only, the primary first. 51660: an atom the tenant does
-- not have. The concepts are written by hand, as in test_fn_BindConcepts.
EXEC tSQLt.NewTestClass 'test_sp_AtomConceptMemberships';
GO

CREATE PROCEDURE test_sp_AtomConceptMemberships.[test the live memberships, primary first, with their labels]
AS
BEGIN
    CREATE TABLE #memberships (ConceptId BIGINT, Label NVARCHAR(400), EmbeddingType NVARCHAR(64), Similarity FLOAT, IsPrimary BIT);
    CREATE TABLE #expected (Label NVARCHAR(400), Similarity FLOAT, IsPrimary BIT);
    DECLARE @Atom BIGINT, @Run BIGINT;
    EXEC test_fixtures.CreateAtom @TenantId = 424242, @Content = 0x636F6E636570742061746F6D, @AtomId = @Atom OUTPUT;
    INSERT INTO dbo.IngestionJobs (TenantId, JobType, Status) VALUES (424242, N'concept-discovery', N'Completed');
    SET @Run = SCOPE_IDENTITY();
    INSERT INTO provenance.Concepts (TenantId, EmbeddingType, Label, Dimension, Centroid, Size, PrimarySize, Coherence,
                                     DiscoveryRunId, RetiredAt)
    VALUES (424242, N'tsqlt-2d', N'first', 2, 0x0000803F00000000, 1, 1, 0.9, @Run, NULL),
           (424242, N'tsqlt-2d', N'second', 2, 0x000000000000803F, 1, 1, 0.9, @Run, NULL),
           (424242, N'tsqlt-2d', N'retired', 2, 0x0000803F00000000, 1, 1, 0.9, @Run, SYSUTCDATETIME());
    INSERT INTO provenance.AtomConcepts (AtomId, ConceptId, Similarity, IsPrimary, BoundBy)
    SELECT @Atom, c.ConceptId, CASE c.Label WHEN N'first' THEN 0.5 WHEN N'second' THEN 0.7 ELSE 0.9 END,
           CASE c.Label WHEN N'first' THEN 1 ELSE 0 END, N'discovery'
    FROM provenance.Concepts AS c WHERE c.TenantId = 424242 AND c.DiscoveryRunId = @Run;
    INSERT INTO #expected (Label, Similarity, IsPrimary) VALUES (N'first', 0.5, 1), (N'second', 0.7, 0);
    INSERT INTO #memberships EXEC dbo.sp_AtomConceptMemberships @AtomId = @Atom, @TenantId = 424242;
    SELECT Label, Similarity, IsPrimary INTO #actual FROM #memberships;
    EXEC tSQLt.AssertEqualsTable @Expected = N'#expected', @Actual = N'#actual';
END;
GO

CREATE PROCEDURE test_sp_AtomConceptMemberships.[test another tenant's atom is refused (51660)]
AS
BEGIN
    DECLARE @Atom BIGINT;
    EXEC test_fixtures.CreateAtom @TenantId = 424243, @Content = 0x6F746865722061746F6D, @AtomId = @Atom OUTPUT;
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 51660, @ExpectedMessagePattern = '%does not exist for tenant 424242%';
    EXEC dbo.sp_AtomConceptMemberships @AtomId = @Atom, @TenantId = 424242;
END;
GO
