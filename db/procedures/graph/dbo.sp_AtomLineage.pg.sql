-- kind: function
-- requires: graph.AtomGraphNodes, graph.AtomGraphEdges, dbo.Atoms, dbo.fn_ResolveTenant
-- Where did this atom come from: the provenance graph walked upstream from AtomId's node along
-- DerivedFrom and ComponentOf edges (a generated text to its prompt and its model's weight versions,
-- back to the model as ingested), at most MaxDepth hops (NULL: {{ policy.GRAPH_DEFAULT_DEPTH }}; 1 to {{ policy.GRAPH_MAX_DEPTH }}). One row per node
-- reached, at its smallest depth: Depth, NodeId, NodeKind ('atom', 'model', 'model-version',
-- 'tensor', 'snapshot'), EntityId (the AtomId, ModelId, TensorId or SnapshotId; a version's ModelId),
-- VersionNumber, EdgeType and ViaNodeId (the edge that reached it first). A recursive CTE carrying
-- each walk's path, which a walk never re-enters: a cycle in the edges ends there. The session's
-- tenant only (dbo.fn_ResolveTenant); an atom it does not have is an error.
--   SELECT * FROM dbo.sp_AtomLineage(AtomId => 42, MaxDepth => 5);
CREATE OR REPLACE FUNCTION dbo.sp_AtomLineage(
    AtomId bigint,
    MaxDepth integer DEFAULT NULL,
    TenantId integer DEFAULT NULL
)
RETURNS TABLE (Depth integer, NodeId bigint, NodeKind text, EntityId bigint, VersionNumber integer, EdgeType text,
               ViaNodeId bigint)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = dbo, public, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    tenant integer;
    depth_limit integer := coalesce(sp_AtomLineage.MaxDepth, {{ policy.GRAPH_DEFAULT_DEPTH }});
    start bigint;
BEGIN
    tenant := dbo.fn_ResolveTenant(sp_AtomLineage.TenantId, 'sp_AtomLineage');
    IF depth_limit < 1 OR depth_limit > {{ policy.GRAPH_MAX_DEPTH }} THEN
        RAISE EXCEPTION 'sp_AtomLineage: MaxDepth must be between 1 and {{ policy.GRAPH_MAX_DEPTH }}, not %', depth_limit
            USING ERRCODE = '22023';
    END IF;
    IF NOT EXISTS (SELECT FROM dbo.Atoms a WHERE a.AtomId = sp_AtomLineage.AtomId AND a.TenantId = tenant) THEN
        RAISE EXCEPTION 'sp_AtomLineage: atom % does not exist for tenant %', coalesce(sp_AtomLineage.AtomId::text, 'NULL'),
            tenant USING ERRCODE = '22023';
    END IF;
    SELECT n.NodeId INTO start FROM graph.AtomGraphNodes n
    WHERE n.NodeKind = 'atom' AND n.AtomId = sp_AtomLineage.AtomId AND n.TenantId = tenant;
    RETURN QUERY
    WITH RECURSIVE walk (NodeId, Depth, EdgeType, ViaNodeId, Path) AS (
        SELECT start, 0, NULL::text, NULL::bigint, ARRAY[start]
        WHERE start IS NOT NULL
        UNION ALL
        SELECT e.ToNodeId, w.Depth + 1, e.EdgeType, w.NodeId, w.Path || e.ToNodeId
        FROM walk w
        JOIN graph.AtomGraphEdges e ON e.FromNodeId = w.NodeId AND e.TenantId = tenant
                                   AND e.EdgeType IN ('DerivedFrom', 'ComponentOf')
        WHERE w.Depth < depth_limit AND e.ToNodeId <> ALL (w.Path)
    ),
    first_reach AS (
        SELECT DISTINCT ON (w.NodeId) w.NodeId, w.Depth, w.EdgeType, w.ViaNodeId
        FROM walk w WHERE w.Depth > 0
        ORDER BY w.NodeId, w.Depth, w.ViaNodeId, w.EdgeType
    )
    SELECT f.Depth, f.NodeId, n.NodeKind, coalesce(n.AtomId, n.ModelId::bigint, n.TensorId, n.SnapshotId::bigint),
           n.VersionNumber, f.EdgeType, f.ViaNodeId
    FROM first_reach f JOIN graph.AtomGraphNodes n ON n.NodeId = f.NodeId AND n.TenantId = tenant
    ORDER BY f.Depth, f.NodeId;
END
$$;
