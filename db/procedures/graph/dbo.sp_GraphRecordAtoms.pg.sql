-- kind: procedure
-- requires: graph.AtomGraphNodes, graph.AtomGraphEdges, dbo.Atoms, dbo.AtomEmbeddings, dbo.fn_VectorIndexSearchMany
-- The provenance graph's writer for stored atoms (README "Provenance graph"): each atom of AtomIds (a
-- JSON array of AtomIds of TenantId, which the caller has resolved) gets its node, and each of its
-- embeddings SimilarTo edges to the nearest atoms of the tenant with an embedding of the same type,
-- at least {{ policy.GRAPH_SIMILAR_THRESHOLD }} close (cosine), at most {{ policy.GRAPH_SIMILAR_MAX_NEIGHBOURS }}, nearest first, found by the vector
-- index's search (dbo.fn_VectorIndexSearchMany: one search of all the batch's embeddings of a type,
-- each answered as dbo.fn_VectorIndexSearch answers it alone, reading the segments and the raw delta,
-- which holds what this transaction just stored, once per type rather than once per atom).
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
    kind record;
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
    -- (a temp table: the neighbours of every type, written together below)
    CREATE TEMP TABLE IF NOT EXISTS hartonomous_graph_similar (
        SourceAtomId bigint, SourceNodeId bigint, EmbeddingType text, AtomId bigint, Similarity double precision)
        ON COMMIT DROP;
    TRUNCATE hartonomous_graph_similar;
    FOR kind IN
        SELECT DISTINCT e.EmbeddingType FROM dbo.AtomEmbeddings e WHERE e.AtomId = ANY (ids) ORDER BY e.EmbeddingType
    LOOP
        -- one search for the batch's embeddings of the type; each asks one more than wanted (the
        -- atom finds itself first) and keeps its nearest other atoms above the threshold
        WITH sources AS (
            SELECT row_number() OVER (ORDER BY e.AtomId)::integer AS Ordinal, e.AtomId, e.EmbeddingVector, n.NodeId
            FROM dbo.AtomEmbeddings e JOIN graph.AtomGraphNodes n ON n.NodeKind = 'atom' AND n.AtomId = e.AtomId
            WHERE e.AtomId = ANY (ids) AND e.EmbeddingType = kind.EmbeddingType
        ), found AS (
            SELECT s.QueryOrdinal, s.AtomEmbeddingId, s.Score
            FROM dbo.fn_VectorIndexSearchMany(sp_GraphRecordAtoms.TenantId, kind.EmbeddingType,
                                              (SELECT array_agg(q.EmbeddingVector ORDER BY q.Ordinal) FROM sources q),
                                              {{ policy.GRAPH_SIMILAR_MAX_NEIGHBOURS }} + 1) s
        ), ranked AS (
            SELECT src.AtomId AS SourceAtomId, src.NodeId AS SourceNodeId, ne.AtomId, least(1.0, max(f.Score)) AS Similarity,
                   row_number() OVER (PARTITION BY src.Ordinal ORDER BY max(f.Score) DESC, ne.AtomId) AS Rank
            FROM found f
            JOIN sources src ON src.Ordinal = f.QueryOrdinal
            JOIN dbo.AtomEmbeddings ne ON ne.AtomEmbeddingId = f.AtomEmbeddingId
            WHERE ne.AtomId <> src.AtomId AND f.Score >= {{ policy.GRAPH_SIMILAR_THRESHOLD }}
            GROUP BY src.Ordinal, src.AtomId, src.NodeId, ne.AtomId
        )
        INSERT INTO hartonomous_graph_similar (SourceAtomId, SourceNodeId, EmbeddingType, AtomId, Similarity)
        SELECT r.SourceAtomId, r.SourceNodeId, kind.EmbeddingType, r.AtomId, r.Similarity
        FROM ranked r WHERE r.Rank <= {{ policy.GRAPH_SIMILAR_MAX_NEIGHBOURS }};
    END LOOP;
    -- neighbours stored before the graph existed get their nodes; then one edge per pair (an atom
    -- near another by two types: the first type's cosine, as the atoms and types come in order)
    INSERT INTO graph.AtomGraphNodes (TenantId, NodeKind, AtomId)
    SELECT sp_GraphRecordAtoms.TenantId, 'atom', h.AtomId FROM hartonomous_graph_similar h
    GROUP BY h.AtomId ORDER BY min(h.SourceAtomId), h.AtomId
    ON CONFLICT (AtomId) WHERE NodeKind = 'atom' DO NOTHING;
    INSERT INTO graph.AtomGraphEdges (TenantId, FromNodeId, ToNodeId, EdgeType, Weight, CreatedBy)
    SELECT sp_GraphRecordAtoms.TenantId, p.SourceNodeId, p.NodeId, 'SimilarTo', p.Similarity, 'ingest'
    FROM (SELECT DISTINCT ON (h.SourceAtomId, n.NodeId) h.SourceAtomId, h.SourceNodeId, n.NodeId, h.Similarity
          FROM hartonomous_graph_similar h JOIN graph.AtomGraphNodes n ON n.NodeKind = 'atom' AND n.AtomId = h.AtomId
          ORDER BY h.SourceAtomId, n.NodeId, h.EmbeddingType) p
    ORDER BY p.SourceAtomId, p.NodeId
    ON CONFLICT (FromNodeId, ToNodeId, EdgeType) DO NOTHING;
END
$$;
