-- kind: procedure
-- requires: graph.AtomGraphNodes, graph.AtomGraphEdges, dbo.Atoms, dbo.fn_ResolveTenant
-- What is similar to this atom: its SimilarTo edges in the provenance graph, in either direction
-- (written when the later of the two was ingested), each neighbour once with its cosine, nearest
-- first (SimilarAtomId, Similarity). The session's tenant only; an atom it does not have is an error.
--   EXEC dbo.sp_SimilarAtoms @AtomId = 42;
CREATE OR ALTER PROCEDURE dbo.sp_SimilarAtoms
    @AtomId BIGINT,
    @TenantId INT = NULL
AS
BEGIN
    SET NOCOUNT ON;
    DECLARE @TenantRefusal NVARCHAR(400);  -- the session's tenant, or an administrator's choice (dbo.fn_ResolveTenant)
    SELECT @TenantId = r.TenantId, @TenantRefusal = r.Refusal FROM dbo.fn_ResolveTenant(@TenantId, N'sp_SimilarAtoms') AS r;
    IF @TenantRefusal IS NOT NULL
        THROW 50030, @TenantRefusal, 1;
    DECLARE @Message NVARCHAR(2048);
    IF NOT EXISTS (SELECT 1 FROM dbo.Atoms AS a WHERE a.AtomId = @AtomId AND a.TenantId = @TenantId)
    BEGIN
        SET @Message = CONCAT(N'sp_SimilarAtoms: atom ', COALESCE(CONVERT(NVARCHAR(20), @AtomId), N'NULL'),
                              N' does not exist for tenant ', @TenantId);
        THROW 51650, @Message, 1;
    END;
    SELECT o.AtomId AS SimilarAtomId, MAX(o.Weight) AS Similarity
    FROM (SELECT t.AtomId, e.Weight
          FROM graph.AtomGraphNodes AS s, graph.AtomGraphEdges AS e, graph.AtomGraphNodes AS t
          WHERE MATCH(s-(e)->t) AND s.NodeKind = N'atom' AND s.AtomId = @AtomId AND t.NodeKind = N'atom'
            AND e.EdgeType = N'SimilarTo' AND e.TenantId = @TenantId AND s.TenantId = @TenantId
          UNION ALL
          SELECT t.AtomId, e.Weight
          FROM graph.AtomGraphNodes AS s, graph.AtomGraphEdges AS e, graph.AtomGraphNodes AS t
          WHERE MATCH(t-(e)->s) AND s.NodeKind = N'atom' AND s.AtomId = @AtomId AND t.NodeKind = N'atom'
            AND e.EdgeType = N'SimilarTo' AND e.TenantId = @TenantId AND s.TenantId = @TenantId) AS o
    GROUP BY o.AtomId
    ORDER BY MAX(o.Weight) DESC, o.AtomId;
END;
