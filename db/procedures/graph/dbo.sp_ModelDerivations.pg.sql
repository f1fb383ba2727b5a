-- kind: function
-- requires: graph.AtomGraphNodes, graph.AtomGraphEdges, dbo.Models, dbo.fn_ResolveTenant
-- What was derived from this model: the provenance graph walked downstream from ModelId's node
-- along DerivedFrom edges (its weight versions and snapshots, and the texts generated with any of
-- them), at most MaxDepth hops (NULL: {{ policy.GRAPH_DEFAULT_DEPTH }}; 1 to {{ policy.GRAPH_MAX_DEPTH }}). One row per node reached, at its
-- smallest depth, with the columns of dbo.sp_AtomLineage (ViaNodeId: the node it derives from). A
-- recursive CTE carrying each walk's path, which a walk never re-enters: a cycle ends there. The
-- session's tenant only; a model it does not have is an error.
--   SELECT * FROM dbo.sp_ModelDerivations(ModelId => 3, MaxDepth => 5);
CREATE OR REPLACE FUNCTION dbo.sp_ModelDerivations(
    ModelId integer,
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
    depth_limit integer := coalesce(sp_ModelDerivations.MaxDepth, {{ policy.GRAPH_DEFAULT_DEPTH }});
    start bigint;
BEGIN
    tenant := dbo.fn_ResolveTenant(sp_ModelDerivations.TenantId, 'sp_ModelDerivations');
    IF depth_limit < 1 OR depth_limit > {{ policy.GRAPH_MAX_DEPTH }} THEN
        RAISE EXCEPTION 'sp_ModelDerivations: MaxDepth must be between 1 and {{ policy.GRAPH_MAX_DEPTH }}, not %', depth_limit
            USING ERRCODE = '22023';
    END IF;
    IF NOT EXISTS (SELECT FROM dbo.Models m WHERE m.ModelId = sp_ModelDerivations.ModelId AND m.TenantId = tenant) THEN
        RAISE EXCEPTION 'sp_ModelDerivations: model % does not exist for tenant %',
            coalesce(sp_ModelDerivations.ModelId::text, 'NULL'), tenant USING ERRCODE = '22023';
    END IF;
    SELECT n.NodeId INTO start FROM graph.AtomGraphNodes n
    WHERE n.NodeKind = 'model' AND n.ModelId = sp_ModelDerivations.ModelId AND n.TenantId = tenant;
    RETURN QUERY
    WITH RECURSIVE walk (NodeId, Depth, EdgeType, ViaNodeId, Path) AS (
        SELECT start, 0, NULL::text, NULL::bigint, ARRAY[start]
        WHERE start IS NOT NULL
        UNION ALL
        SELECT e.FromNodeId, w.Depth + 1, e.EdgeType, w.NodeId, w.Path || e.FromNodeId
        FROM walk w
        JOIN graph.AtomGraphEdges e ON e.ToNodeId = w.NodeId AND e.TenantId = tenant AND e.EdgeType = 'DerivedFrom'
        WHERE w.Depth < depth_limit AND e.FromNodeId <> ALL (w.Path)
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
