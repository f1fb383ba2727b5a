-- kind: procedure
-- requires: graph.AtomGraphNodes, graph.AtomGraphEdges, dbo.Atoms, dbo.AtomEmbeddings, dbo.fn_VectorIndexSearch
-- The provenance graph's writer for stored atoms (README "Provenance graph"): each atom of AtomIds (a
-- JSON array of AtomIds of TenantId, which the caller has resolved) gets its node, and each of its
-- embeddings SimilarTo edges to the nearest atoms of the tenant with an embedding of the same type,
-- at least {{ policy.GRAPH_SIMILAR_THRESHOLD }} close (cosine), at most {{ policy.GRAPH_SIMILAR_MAX_NEIGHBOURS }}, nearest first, found by the vector
-- index's search (dbo.fn_VectorIndexSearch: the raw delta holds what this transaction just stored).
-- Re-writing is idempotent: one node per atom, one edge per pair. Runs in the caller's transaction:
-- dbo.sp_StoreAtom (sp_IngestAtom, and the text sp_GenerateText stores) and dbo.sp_IngestAtoms call it.
-- Payloads are stored whole (dbo.AtomPayloadStore, one row per atom): there are no payload chunks
-- to be ComponentOf an atom. No tenant role may call it.
CREATE OR REPLACE PROCEDURE dbo.sp_GraphRecordAtoms(
    AtomIds text,
    TenantId integer
)
LANGUAGE plpgsql
SET search_path = dbo, public, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    ids bigint[];
    foreign_atom bigint;
    source record;
BEGIN
    IF sp_GraphRecordAtoms.TenantId IS NULL THEN
        RAISE EXCEPTION 'sp_GraphRecordAtoms: TenantId is required (the caller resolves it)' USING ERRCODE = '22023';
    END IF;
    BEGIN
        SELECT array_agg(DISTINCT v::bigint) INTO ids FROM jsonb_array_elements_text(AtomIds::jsonb) v;
    EXCEPTION WHEN invalid_text_representation OR numeric_value_out_of_range OR invalid_parameter_value
                   OR data_exception THEN
        RAISE EXCEPTION 'sp_GraphRecordAtoms: AtomIds is not a JSON array of atom ids' USING ERRCODE = '22023';
    END;
    IF ids IS NULL THEN
        RETURN;
    END IF;
    SELECT i INTO foreign_atom FROM unnest(ids) i
    WHERE NOT EXISTS (SELECT FROM dbo.Atoms a WHERE a.AtomId = i AND a.TenantId = sp_GraphRecordAtoms.TenantId) LIMIT 1;
    IF foreign_atom IS NOT NULL THEN
        RAISE EXCEPTION 'sp_GraphRecordAtoms: atom % does not exist for tenant %', foreign_atom, sp_GraphRecordAtoms.TenantId
            USING ERRCODE = '22023';
    END IF;
    INSERT INTO graph.AtomGraphNodes (TenantId, NodeKind, AtomId)
    SELECT sp_GraphRecordAtoms.TenantId, 'atom', i FROM unnest(ids) i ORDER BY i
    ON CONFLICT (AtomId) WHERE NodeKind = 'atom' DO NOTHING;
    FOR source IN
        SELECT e.AtomId, e.EmbeddingType, e.EmbeddingVector, n.NodeId
        FROM dbo.AtomEmbeddings e JOIN graph.AtomGraphNodes n ON n.NodeKind = 'atom' AND n.AtomId = e.AtomId
        WHERE e.AtomId = ANY (ids) ORDER BY e.AtomId, e.EmbeddingType
    LOOP
        -- one more than wanted: the atom finds itself first
        CREATE TEMP TABLE IF NOT EXISTS hartonomous_graph_neighbours (AtomId bigint, Similarity double precision)
            ON COMMIT DROP;
        TRUNCATE hartonomous_graph_neighbours;
        INSERT INTO hartonomous_graph_neighbours
        SELECT ne.AtomId, least(1.0, max(s.Score))
        FROM dbo.fn_VectorIndexSearch(sp_GraphRecordAtoms.TenantId, source.EmbeddingType, source.EmbeddingVector,
                                      {{ policy.GRAPH_SIMILAR_MAX_NEIGHBOURS }} + 1) s
        JOIN dbo.AtomEmbeddings ne ON ne.AtomEmbeddingId = s.AtomEmbeddingId
        WHERE ne.AtomId <> source.AtomId AND s.Score >= {{ policy.GRAPH_SIMILAR_THRESHOLD }}
        GROUP BY ne.AtomId
        ORDER BY max(s.Score) DESC, ne.AtomId
        LIMIT {{ policy.GRAPH_SIMILAR_MAX_NEIGHBOURS }};
        INSERT INTO graph.AtomGraphNodes (TenantId, NodeKind, AtomId)
        SELECT sp_GraphRecordAtoms.TenantId, 'atom', h.AtomId FROM hartonomous_graph_neighbours h ORDER BY h.AtomId
        ON CONFLICT (AtomId) WHERE NodeKind = 'atom' DO NOTHING;
        INSERT INTO graph.AtomGraphEdges (TenantId, FromNodeId, ToNodeId, EdgeType, Weight, CreatedBy)
        SELECT sp_GraphRecordAtoms.TenantId, source.NodeId, n.NodeId, 'SimilarTo', h.Similarity, 'ingest'
        FROM hartonomous_graph_neighbours h JOIN graph.AtomGraphNodes n ON n.NodeKind = 'atom' AND n.AtomId = h.AtomId
        ORDER BY n.NodeId
        ON CONFLICT (FromNodeId, ToNodeId, EdgeType) DO NOTHING;
    END LOOP;
END
$$;
