-- kind: procedure
-- requires: graph.AtomGraphNodes, graph.AtomGraphEdges, dbo.Atoms, dbo.Models, dbo.sp_StoreAtom, dbo.sp_GraphRecordAtoms
-- The provenance graph's writer for a text generation (README "Provenance graph"), in the caller's
-- transaction (dbo.sp_GenerateText's), for @TenantId (resolved by the caller): the generated atom
-- @AtomId DerivedFrom its prompt and from the weight state of each model of @ModelIds (a JSON array;
-- a model's latest version node, or its own node before any weight change). The prompt becomes a
-- node the way every content does: it is stored as a text atom of the tenant (content-addressed, so
-- the same prompt is one atom, unmetered like the generated text, within the tenant's MaxIngestBytes).
-- @AtomId NULL (nothing was generated) records nothing. No tenant role may execute it.
CREATE OR ALTER PROCEDURE dbo.sp_GraphRecordGeneration
    @AtomId BIGINT,
    @Prompt NVARCHAR(MAX),
    @ModelIds NVARCHAR(4000),
    @TenantId INT
AS
BEGIN
    SET NOCOUNT ON;
    SET XACT_ABORT ON;
    DECLARE @Message NVARCHAR(2048), @Missing INT, @PromptAtom BIGINT, @OutputNode BIGINT, @Payload VARBINARY(MAX);
    DECLARE @Single NVARCHAR(40);
    IF @TenantId IS NULL
        THROW 51620, N'sp_GraphRecordGeneration: TenantId is required (the caller resolves it)', 1;
    IF @AtomId IS NULL
        RETURN;
    IF @Prompt IS NULL OR LEN(@Prompt) = 0
        THROW 51621, N'sp_GraphRecordGeneration: Prompt is empty', 1;
    IF @ModelIds IS NULL OR ISJSON(@ModelIds) = 0 OR LEFT(LTRIM(@ModelIds), 1) <> N'['
        THROW 51622, N'sp_GraphRecordGeneration: ModelIds is not a JSON array of model ids', 1;
    IF EXISTS (SELECT 1 FROM OPENJSON(@ModelIds) AS j WHERE j.[type] <> 2 OR TRY_CAST(j.value AS INT) IS NULL)
        THROW 51622, N'sp_GraphRecordGeneration: ModelIds is not a JSON array of model ids', 1;
    SELECT TOP (1) @Missing = CAST(j.value AS INT) FROM OPENJSON(@ModelIds) AS j
    WHERE NOT EXISTS (SELECT 1 FROM dbo.Models AS m WHERE m.ModelId = CAST(j.value AS INT) AND m.TenantId = @TenantId)
    ORDER BY CAST(j.[key] AS INT);
    IF @Missing IS NOT NULL
    BEGIN
        SET @Message = CONCAT(N'sp_GraphRecordGeneration: model ', @Missing, N' does not exist for tenant ', @TenantId);
        THROW 51623, @Message, 1;
    END;
    BEGIN TRANSACTION;
    SET @Single = CONCAT(N'[', @AtomId, N']');
    EXEC dbo.sp_GraphRecordAtoms @AtomIds = @Single, @TenantId = @TenantId;
    -- the prompt as UTF-8 bytes, as the generated text is stored (sp_GenerateText)
    SET @Payload = CAST(CAST(@Prompt COLLATE Latin1_General_100_CI_AS_SC_UTF8 AS VARCHAR(MAX)) AS VARBINARY(MAX));
    EXEC dbo.sp_StoreAtom @Content = @Payload, @ContentType = N'text/plain', @Metadata = NULL,
        @TenantId = @TenantId, @Metered = 0, @AtomId = @PromptAtom OUTPUT;
    SELECT @OutputNode = n.NodeId FROM graph.AtomGraphNodes AS n WHERE n.NodeKind = N'atom' AND n.AtomId = @AtomId;
    INSERT INTO graph.AtomGraphNodes (TenantId, NodeKind, ModelId)
    SELECT DISTINCT @TenantId, N'model', CAST(j.value AS INT) FROM OPENJSON(@ModelIds) AS j
    WHERE NOT EXISTS (SELECT 1 FROM graph.AtomGraphNodes AS n WITH (UPDLOCK, HOLDLOCK)
                      WHERE n.NodeKind = N'model' AND n.ModelId = CAST(j.value AS INT));
    INSERT INTO graph.AtomGraphEdges ($from_id, $to_id, TenantId, EdgeType, CreatedBy)
    SELECT DISTINCT f.$node_id, t.$node_id, @TenantId, N'DerivedFrom', N'sp_GenerateText'
    FROM (SELECT n.NodeId FROM graph.AtomGraphNodes AS n WHERE n.NodeKind = N'atom' AND n.AtomId = @PromptAtom
          UNION
          SELECT s.NodeId FROM (SELECT DISTINCT CAST(j.value AS INT) AS ModelId FROM OPENJSON(@ModelIds) AS j) AS m
          CROSS APPLY (SELECT TOP (1) n.NodeId FROM graph.AtomGraphNodes AS n
                       WHERE n.ModelId = m.ModelId AND n.NodeKind IN (N'model', N'model-version')
                       ORDER BY COALESCE(n.VersionNumber, 0) DESC) AS s) AS src
    INNER JOIN graph.AtomGraphNodes AS t ON t.NodeId = src.NodeId
    INNER JOIN graph.AtomGraphNodes AS f ON f.NodeId = @OutputNode
    WHERE src.NodeId <> @OutputNode  -- a generation that repeats its prompt derives from itself only in name
      AND NOT EXISTS (SELECT 1 FROM graph.AtomGraphEdges AS x WITH (UPDLOCK, HOLDLOCK)
                      WHERE x.$from_id = f.$node_id AND x.$to_id = t.$node_id AND x.EdgeType = N'DerivedFrom');
    COMMIT TRANSACTION;
END;
