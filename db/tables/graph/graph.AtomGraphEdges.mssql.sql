-- kind: table
-- requires: graph.AtomGraphNodes
-- The typed relationships of the provenance graph (seed 003's graph.AtomGraphEdges, a SQL Graph EDGE
-- table): $from_id DerivedFrom $to_id (generated text from its prompt and model, a weight version or
-- snapshot from the state it came from), $from_id ComponentOf $to_id (a tensor of its model), $from_id
-- SimilarTo $to_id (an ingested atom to an existing neighbour, Weight the cosine). The CONNECTION
-- constraint keeps both ends nodes, and deletes an edge with either end. One edge per (from, to,
-- type): the writers re-write idempotently. Lineage walks it with MATCH, one hop at a time
-- (dbo.sp_AtomLineage says why not SHORTEST_PATH); an index for each direction.
IF OBJECT_ID(N'graph.AtomGraphEdges', N'U') IS NULL
BEGIN
    CREATE TABLE graph.AtomGraphEdges (
        TenantId  INT           NOT NULL,
        EdgeType  NVARCHAR(16)  NOT NULL,
        Weight    FLOAT         NULL,
        CreatedBy NVARCHAR(64)  NOT NULL,
        CreatedAt DATETIME2(3)  NOT NULL CONSTRAINT DF_AtomGraphEdges_CreatedAt DEFAULT (SYSUTCDATETIME()),
        CONSTRAINT EC_AtomGraphEdges CONNECTION (graph.AtomGraphNodes TO graph.AtomGraphNodes) ON DELETE CASCADE,
        CONSTRAINT CK_AtomGraphEdges_Type CHECK (EdgeType IN ({% for t in policy.GRAPH_EDGE_TYPES %}N'{{ t }}'{{ ", " if not loop.last }}{% endfor %})),
        CONSTRAINT CK_AtomGraphEdges_Weight CHECK (Weight IS NULL OR Weight BETWEEN -1 AND 1)
    ) AS EDGE;
    -- upstream walks (and one edge per from, to and type) ...
    CREATE UNIQUE INDEX UX_AtomGraphEdges ON graph.AtomGraphEdges ($from_id, $to_id, EdgeType);
    -- ... and downstream ones
    CREATE INDEX IX_AtomGraphEdges_To ON graph.AtomGraphEdges ($to_id, EdgeType);
END;
