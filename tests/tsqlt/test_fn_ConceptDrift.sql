-- dbo.fn_ConceptDrift: the atoms of a concept type added since its last completed discovery run and
-- the run's atoms deleted since, as a share of the run's atoms; a failed run after it is not the
-- last completed one; no row without a completed run. The atoms, embeddings, job rows and concepts
-- are faked (test_autonomy_fixtures.FakeConceptDrift).
EXEC tSQLt.NewTestClass 'test_fn_ConceptDrift';
GO

CREATE PROCEDURE test_fn_ConceptDrift.[test added and deleted atoms are counted against the last completed run]
AS
BEGIN
    DECLARE @Run BIGINT, @RunAtoms BIGINT, @Atoms BIGINT, @Added BIGINT, @Removed BIGINT, @Share FLOAT, @Parameters NVARCHAR(MAX);
    DECLARE @MinClusterSize NVARCHAR(20);
    EXEC test_autonomy_fixtures.FakeConceptDrift @Added = 10, @Removed = 2;
    -- another tenant's atoms of the same type are not this tenant's
    INSERT INTO dbo.Atoms (AtomId, TenantId) VALUES (99001, 424243);
    INSERT INTO dbo.AtomEmbeddings (AtomEmbeddingId, AtomId, EmbeddingType, CreatedAt) VALUES (99001, 99001, N'tsqlt-drift', SYSUTCDATETIME());
    SELECT @Run = d.DiscoveryRunId, @RunAtoms = d.RunAtoms, @Atoms = d.Atoms, @Added = d.Added, @Removed = d.Removed,
           @Share = d.Share, @Parameters = d.Parameters
    FROM dbo.fn_ConceptDrift(424242, N'tsqlt-drift') AS d;
    EXEC tSQLt.AssertEquals @Expected = 900, @Actual = @Run;  -- not the failed run 901 after it
    EXEC tSQLt.AssertEquals @Expected = 40, @Actual = @RunAtoms;
    EXEC tSQLt.AssertEquals @Expected = 48, @Actual = @Atoms;
    EXEC tSQLt.AssertEquals @Expected = 10, @Actual = @Added;
    EXEC tSQLt.AssertEquals @Expected = 2, @Actual = @Removed;
    EXEC tSQLt.AssertEquals @Expected = 0.3e0, @Actual = @Share;
    SET @MinClusterSize = JSON_VALUE(@Parameters, '$.min_cluster_size');  -- EXEC takes variables, not function calls
    EXEC tSQLt.AssertEqualsString @Expected = N'5', @Actual = @MinClusterSize;
END;
GO

CREATE PROCEDURE test_fn_ConceptDrift.[test an atom embedded again after the run is not new]
AS
BEGIN
    DECLARE @Added BIGINT, @Removed BIGINT;
    EXEC test_autonomy_fixtures.FakeConceptDrift @Added = 0, @Removed = 0;
    -- a second embedding of the type for an atom the run saw: its first embedding decides
    INSERT INTO dbo.AtomEmbeddings (AtomEmbeddingId, AtomId, EmbeddingType, CreatedAt) VALUES (99002, 9001, N'tsqlt-drift', SYSUTCDATETIME());
    SELECT @Added = d.Added, @Removed = d.Removed FROM dbo.fn_ConceptDrift(424242, N'tsqlt-drift') AS d;
    EXEC tSQLt.AssertEquals @Expected = 0, @Actual = @Added;
    EXEC tSQLt.AssertEquals @Expected = 0, @Actual = @Removed;
END;
GO

CREATE PROCEDURE test_fn_ConceptDrift.[test a type without a completed run has no row]
AS
BEGIN
    DECLARE @Rows INT;
    EXEC test_autonomy_fixtures.FakeConceptDrift;
    SET @Rows = (SELECT COUNT(*) FROM dbo.fn_ConceptDrift(424242, N'no-such-type'))
              + (SELECT COUNT(*) FROM dbo.fn_ConceptDrift(424243, N'tsqlt-drift'));
    EXEC tSQLt.AssertEquals @Expected = 0, @Actual = @Rows;
END;
GO
