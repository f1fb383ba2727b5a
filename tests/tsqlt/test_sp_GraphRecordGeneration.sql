-- dbo.sp_GraphRecordGeneration: the generated atom DerivedFrom its prompt (stored as a text atom of
-- the tenant, content-addressed) and from each model's weight state; the same prompt again is the
-- same atom and adds no edge; no generated atom records nothing. 51622: ModelIds not a JSON array
-- of ids; 51623: a model the tenant does not have. Fixtures: test_fixtures.CreateModel, CreateAtom.
EXEC tSQLt.NewTestClass 'test_sp_GraphRecordGeneration';
GO

-- the prompt is stored unmetered, but dbo.sp_StoreAtom can reach the memory-optimized ledger, which
-- takes no savepoint in tSQLt's transaction: the charge is spied
CREATE PROCEDURE test_sp_GraphRecordGeneration.[SetUp]
AS
BEGIN
    EXEC tSQLt.SpyProcedure @ProcedureName = N'dbo.sp_ChargeUsage';
END;
GO

CREATE PROCEDURE test_sp_GraphRecordGeneration.[test the text derives from its prompt and its model, once]
AS
BEGIN
    CREATE TABLE #lineage (Depth INT, NodeId BIGINT, NodeKind NVARCHAR(16), EntityId BIGINT, VersionNumber INT,
                           EdgeType NVARCHAR(16), ViaNodeId BIGINT);
    CREATE TABLE #expected (Depth INT, NodeKind NVARCHAR(16), EntityId BIGINT);
    DECLARE @ModelId INT, @Output BIGINT, @Prompt BIGINT, @Models NVARCHAR(40), @Edges INT, @Stored NVARCHAR(100);
    EXEC test_fixtures.CreateModel @TenantId = 424242, @ModelId = @ModelId OUTPUT;
    EXEC test_fixtures.CreateAtom @TenantId = 424242, @Content = 0x67656E657261746564, @AtomId = @Output OUTPUT;
    SET @Models = CONCAT(N'[', @ModelId, N']');
    EXEC dbo.sp_GraphRecordGeneration @AtomId = @Output, @Prompt = N'tsqlt prompt', @ModelIds = @Models, @TenantId = 424242;
    EXEC dbo.sp_GraphRecordGeneration @AtomId = @Output, @Prompt = N'tsqlt prompt', @ModelIds = @Models, @TenantId = 424242;
    SELECT @Prompt = a.AtomId, @Stored = CAST(CAST(p.Payload AS VARCHAR(100)) AS NVARCHAR(100))
    FROM dbo.Atoms AS a INNER JOIN dbo.AtomPayloadStore AS p ON p.AtomId = a.AtomId
    WHERE a.TenantId = 424242 AND a.ContentHash = HASHBYTES('SHA2_256', CAST('tsqlt prompt' AS VARBINARY(100)));
    SELECT @Edges = COUNT(*) FROM graph.AtomGraphEdges WHERE TenantId = 424242 AND EdgeType = N'DerivedFrom';
    EXEC tSQLt.AssertEqualsString @Expected = N'tsqlt prompt', @Actual = @Stored;
    EXEC tSQLt.AssertEquals @Expected = 2, @Actual = @Edges;
    INSERT INTO #expected (Depth, NodeKind, EntityId) VALUES (1, N'atom', @Prompt), (1, N'model', @ModelId);
    INSERT INTO #lineage EXEC dbo.sp_AtomLineage @AtomId = @Output, @TenantId = 424242;
    SELECT Depth, NodeKind, EntityId INTO #actual FROM #lineage;
    EXEC tSQLt.AssertEqualsTable @Expected = N'#expected', @Actual = N'#actual';
END;
GO

CREATE PROCEDURE test_sp_GraphRecordGeneration.[test nothing generated records nothing]
AS
BEGIN
    DECLARE @ModelId INT, @Models NVARCHAR(40), @Nodes INT;
    EXEC test_fixtures.CreateModel @TenantId = 424242, @ModelId = @ModelId OUTPUT;
    SET @Models = CONCAT(N'[', @ModelId, N']');
    EXEC dbo.sp_GraphRecordGeneration @AtomId = NULL, @Prompt = N'unused', @ModelIds = @Models, @TenantId = 424242;
    SELECT @Nodes = COUNT(*) FROM graph.AtomGraphNodes WHERE TenantId = 424242;
    EXEC tSQLt.AssertEquals @Expected = 0, @Actual = @Nodes;
END;
GO

CREATE PROCEDURE test_sp_GraphRecordGeneration.[test ModelIds that are not a JSON array are refused (51622)]
AS
BEGIN
    DECLARE @Output BIGINT;
    EXEC test_fixtures.CreateAtom @TenantId = 424242, @Content = 0x6F7574707574, @AtomId = @Output OUTPUT;
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 51622;
    EXEC dbo.sp_GraphRecordGeneration @AtomId = @Output, @Prompt = N'p', @ModelIds = N'1,2', @TenantId = 424242;
END;
GO

CREATE PROCEDURE test_sp_GraphRecordGeneration.[test another tenant's model is refused (51623)]
AS
BEGIN
    DECLARE @ModelId INT, @Output BIGINT, @Models NVARCHAR(40);
    EXEC test_fixtures.CreateModel @TenantId = 424243, @ModelId = @ModelId OUTPUT;
    EXEC test_fixtures.CreateAtom @TenantId = 424242, @Content = 0x6F757470757432, @AtomId = @Output OUTPUT;
    SET @Models = CONCAT(N'[', @ModelId, N']');
    EXEC tSQLt.ExpectException @ExpectedErrorNumber = 51623, @ExpectedMessagePattern = '%does not exist for tenant 424242%';
    EXEC dbo.sp_GraphRecordGeneration @AtomId = @Output, @Prompt = N'p', @ModelIds = @Models, @TenantId = 424242;
END;
GO
