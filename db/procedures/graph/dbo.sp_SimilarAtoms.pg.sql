-- kind: function
-- requires: graph.AtomGraphNodes, graph.AtomGraphEdges, dbo.Atoms, dbo.fn_ResolveTenant
-- What is similar to this atom: its SimilarTo edges in the provenance graph, in either direction
-- (written when the later of the two was ingested), each neighbour once with its cosine, nearest
-- first. The session's tenant only; an atom it does not have is an error.
--   SELECT * FROM dbo.sp_SimilarAtoms(AtomId => 42);
CREATE OR REPLACE FUNCTION dbo.sp_SimilarAtoms(
    AtomId bigint,
    TenantId integer DEFAULT NULL
)
RETURNS TABLE (SimilarAtomId bigint, Similarity double precision)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = dbo, public, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    tenant integer;
BEGIN
    tenant := dbo.fn_ResolveTenant(sp_SimilarAtoms.TenantId, 'sp_SimilarAtoms');
    IF NOT EXISTS (SELECT FROM dbo.Atoms a WHERE a.AtomId = sp_SimilarAtoms.AtomId AND a.TenantId = tenant) THEN
        RAISE EXCEPTION 'sp_SimilarAtoms: atom % does not exist for tenant %', coalesce(sp_SimilarAtoms.AtomId::text, 'NULL'),
            tenant USING ERRCODE = '22023';
    END IF;
    RETURN QUERY
    SELECT o.AtomId, max(e.Weight)
    FROM graph.AtomGraphNodes s
    JOIN graph.AtomGraphEdges e ON e.TenantId = tenant AND e.EdgeType = 'SimilarTo'
                               AND (e.FromNodeId = s.NodeId OR e.ToNodeId = s.NodeId)
    JOIN graph.AtomGraphNodes o ON o.NodeId = CASE WHEN e.FromNodeId = s.NodeId THEN e.ToNodeId ELSE e.FromNodeId END
                               AND o.NodeKind = 'atom'
    WHERE s.NodeKind = 'atom' AND s.AtomId = sp_SimilarAtoms.AtomId AND s.TenantId = tenant
    GROUP BY o.AtomId
    ORDER BY max(e.Weight) DESC, o.AtomId;
END
$$;
