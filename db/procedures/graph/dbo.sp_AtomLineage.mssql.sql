-- kind: procedure
-- requires: graph.AtomGraphNodes, graph.AtomGraphEdges, dbo.Atoms, dbo.fn_ResolveTenant
-- Where did this atom come from: the provenance graph walked upstream from @AtomId's node along
-- DerivedFrom and ComponentOf edges (a generated text to its prompt and its model's weight versions,
-- back to the model as ingested), at most @MaxDepth hops (NULL: {{ policy.GRAPH_DEFAULT_DEPTH }}; 1 to {{ policy.GRAPH_MAX_DEPTH }}). One row per node
-- reached, at its smallest depth: Depth, NodeId, NodeKind ('atom', 'model', 'model-version',
-- 'tensor', 'snapshot'), EntityId (the AtomId, ModelId, TensorId or SnapshotId; a version's ModelId),
-- VersionNumber, EdgeType and ViaNodeId (the edge that reached it first: the lowest ViaNodeId, then
-- EdgeType, as on PostgreSQL).
-- Breadth first, one hop per round: a MATCH from the frontier's nodes into those not reached yet
-- (a table of visited nodes), so a cycle in the edges ends the walk and each node is reported once.
-- Not SHORTEST_PATH: an arbitrary-length pattern cannot filter the edges it walks (their EdgeType,
-- their tenant), and it returns one path per pair where the walk needs every node's first depth.
-- The session's tenant only (dbo.fn_ResolveTenant); a atom it does not have is an error.
--   EXEC dbo.sp_AtomLineage @AtomId = 42, @MaxDepth = 5;
CREATE OR ALTER PROCEDURE dbo.sp_AtomLineage
    @AtomId BIGINT,
    @MaxDepth INT = NULL,
    @TenantId INT = NULL
AS
BEGIN
    SET NOCOUNT ON;
    DECLARE @TenantRefusal NVARCHAR(400);  -- the session's tenant, or an administrator's choice (dbo.fn_ResolveTenant)
    SELECT @TenantId = r.TenantId, @TenantRefusal = r.Refusal FROM dbo.fn_ResolveTenant(@TenantId, N'sp_AtomLineage') AS r;
    IF @TenantRefusal IS NOT NULL
        THROW 50030, @TenantRefusal, 1;
    DECLARE @Message NVARCHAR(2048), @Depth INT = 0;
    SET @MaxDepth = COALESCE(@MaxDepth, {{ policy.GRAPH_DEFAULT_DEPTH }});
    IF @MaxDepth < 1 OR @MaxDepth > {{ policy.GRAPH_MAX_DEPTH }}
    BEGIN
        SET @Message = CONCAT(N'sp_AtomLineage: MaxDepth must be between 1 and {{ policy.GRAPH_MAX_DEPTH }}, not ', @MaxDepth);
        THROW 51630, @Message, 1;
    END;
    IF NOT EXISTS (SELECT 1 FROM dbo.Atoms AS a WHERE a.AtomId = @AtomId AND a.TenantId = @TenantId)
    BEGIN
        SET @Message = CONCAT(N'sp_AtomLineage: atom ', COALESCE(CONVERT(NVARCHAR(20), @AtomId), N'NULL'),
                              N' does not exist for tenant ', @TenantId);
        THROW 51631, @Message, 1;
    END;
    CREATE TABLE #reached (NodeId BIGINT NOT NULL PRIMARY KEY, Depth INT NOT NULL, EdgeType NVARCHAR(16) NULL,
                           ViaNodeId BIGINT NULL);
    INSERT INTO #reached (NodeId, Depth)
    SELECT n.NodeId, 0 FROM graph.AtomGraphNodes AS n WHERE n.NodeKind = N'atom' AND n.AtomId = @AtomId AND n.TenantId = @TenantId;
    WHILE @Depth < @MaxDepth AND EXISTS (SELECT 1 FROM #reached AS r WHERE r.Depth = @Depth)
    BEGIN
        SET @Depth = @Depth + 1;
        INSERT INTO #reached (NodeId, Depth, EdgeType, ViaNodeId)
        SELECT h.NodeId, @Depth, h.EdgeType, h.ViaNodeId
        FROM (SELECT t.NodeId, e.EdgeType, f.NodeId AS ViaNodeId,
                     ROW_NUMBER() OVER (PARTITION BY t.NodeId ORDER BY f.NodeId, e.EdgeType) AS Pick
              FROM graph.AtomGraphNodes AS f, graph.AtomGraphEdges AS e, graph.AtomGraphNodes AS t
              WHERE MATCH(f-(e)->t)
                AND e.EdgeType IN (N'DerivedFrom', N'ComponentOf') AND e.TenantId = @TenantId AND t.TenantId = @TenantId
                AND f.NodeId IN (SELECT r.NodeId FROM #reached AS r WHERE r.Depth = @Depth - 1)
                AND t.NodeId NOT IN (SELECT r.NodeId FROM #reached AS r)) AS h
        WHERE h.Pick = 1;
    END;
    SELECT r.Depth, r.NodeId, n.NodeKind,
           COALESCE(n.AtomId, CAST(n.ModelId AS BIGINT), n.TensorId, CAST(n.SnapshotId AS BIGINT)) AS EntityId,
           n.VersionNumber, r.EdgeType, r.ViaNodeId
    FROM #reached AS r
    INNER JOIN graph.AtomGraphNodes AS n ON n.NodeId = r.NodeId
    WHERE r.Depth > 0
    ORDER BY r.Depth, r.NodeId;
END;
