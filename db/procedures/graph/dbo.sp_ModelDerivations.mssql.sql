-- kind: procedure
-- requires: graph.AtomGraphNodes, graph.AtomGraphEdges, dbo.Models, dbo.fn_ResolveTenant
-- What was derived from this model: the provenance graph walked downstream from @ModelId's node
-- along DerivedFrom edges (its weight versions and snapshots, and the texts generated with any of
-- them), at most @MaxDepth hops (NULL: {{ policy.GRAPH_DEFAULT_DEPTH }}; 1 to {{ policy.GRAPH_MAX_DEPTH }}). One row per node reached, at its
-- smallest depth, with the columns of dbo.sp_AtomLineage (ViaNodeId: the node it derives from).
-- Breadth first, one hop per round: a MATCH from the frontier's nodes into those not reached yet
-- (a table of visited nodes), so a cycle in the edges ends the walk and each node is reported once.
-- Not SHORTEST_PATH: an arbitrary-length pattern cannot filter the edges it walks (their EdgeType,
-- their tenant), and it returns one path per pair where the walk needs every node's first depth.
-- The session's tenant only (dbo.fn_ResolveTenant); a model it does not have is an error.
--   EXEC dbo.sp_ModelDerivations @ModelId = 3, @MaxDepth = 5;
CREATE OR ALTER PROCEDURE dbo.sp_ModelDerivations
    @ModelId INT,
    @MaxDepth INT = NULL,
    @TenantId INT = NULL
AS
BEGIN
    SET NOCOUNT ON;
    DECLARE @TenantRefusal NVARCHAR(400);  -- the session's tenant, or an administrator's choice (dbo.fn_ResolveTenant)
    SELECT @TenantId = r.TenantId, @TenantRefusal = r.Refusal FROM dbo.fn_ResolveTenant(@TenantId, N'sp_ModelDerivations') AS r;
    IF @TenantRefusal IS NOT NULL
        THROW 50030, @TenantRefusal, 1;
    DECLARE @Message NVARCHAR(2048), @Depth INT = 0;
    SET @MaxDepth = COALESCE(@MaxDepth, {{ policy.GRAPH_DEFAULT_DEPTH }});
    IF @MaxDepth < 1 OR @MaxDepth > {{ policy.GRAPH_MAX_DEPTH }}
    BEGIN
        SET @Message = CONCAT(N'sp_ModelDerivations: MaxDepth must be between 1 and {{ policy.GRAPH_MAX_DEPTH }}, not ', @MaxDepth);
        THROW 51640, @Message, 1;
    END;
    IF NOT EXISTS (SELECT 1 FROM dbo.Models AS m WHERE m.ModelId = @ModelId AND m.TenantId = @TenantId)
    BEGIN
        SET @Message = CONCAT(N'sp_ModelDerivations: model ', COALESCE(CONVERT(NVARCHAR(20), @ModelId), N'NULL'),
                              N' does not exist for tenant ', @TenantId);
        THROW 51641, @Message, 1;
    END;
    CREATE TABLE #reached (NodeId BIGINT NOT NULL PRIMARY KEY, Depth INT NOT NULL, EdgeType NVARCHAR(16) NULL,
                           ViaNodeId BIGINT NULL);
    INSERT INTO #reached (NodeId, Depth)
    SELECT n.NodeId, 0 FROM graph.AtomGraphNodes AS n WHERE n.NodeKind = N'model' AND n.ModelId = @ModelId AND n.TenantId = @TenantId;
    WHILE @Depth < @MaxDepth AND EXISTS (SELECT 1 FROM #reached AS r WHERE r.Depth = @Depth)
    BEGIN
        SET @Depth = @Depth + 1;
        INSERT INTO #reached (NodeId, Depth, EdgeType, ViaNodeId)
        SELECT h.NodeId, @Depth, h.EdgeType, h.ViaNodeId
        FROM (SELECT t.NodeId, e.EdgeType, f.NodeId AS ViaNodeId,
                     ROW_NUMBER() OVER (PARTITION BY t.NodeId ORDER BY f.NodeId, e.EdgeType) AS Pick
              FROM graph.AtomGraphNodes AS f, graph.AtomGraphEdges AS e, graph.AtomGraphNodes AS t
              WHERE MATCH(t-(e)->f)
                AND e.EdgeType = N'DerivedFrom' AND e.TenantId = @TenantId AND t.TenantId = @TenantId
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
