-- kind: table
-- requires: provenance.Concepts, dbo.Atoms
-- Which concepts each atom belongs to (multi-label): every live concept of its tenant and embedding
-- type whose centroid is at least the membership similarity close (cosine), at most a few, the
-- nearest being its primary concept (IsPrimary). BoundBy says who wrote the row: 'discovery'
-- (dbo.fn_DiscoverConcepts, which replaces the rows of the tenant's type on every run) or 'ingest'
-- (dbo.fn_BindConcepts, which dbo.sp_IngestAtom calls for a new atom). An atom follows its
-- tenant: row-level security reads the tenant from dbo.Atoms.
CREATE TABLE IF NOT EXISTS provenance.AtomConcepts (
    AtomId     bigint           NOT NULL,
    ConceptId  bigint           NOT NULL,
    Similarity double precision NOT NULL,
    IsPrimary  boolean          NOT NULL,
    BoundAt    timestamptz      NOT NULL DEFAULT now(),
    BoundBy    text             NOT NULL,
    CONSTRAINT PK_AtomConcepts PRIMARY KEY (AtomId, ConceptId),
    CONSTRAINT FK_AtomConcepts_Atoms FOREIGN KEY (AtomId) REFERENCES dbo.Atoms (AtomId) ON DELETE CASCADE,
    CONSTRAINT FK_AtomConcepts_Concepts FOREIGN KEY (ConceptId) REFERENCES provenance.Concepts (ConceptId) ON DELETE CASCADE,
    CONSTRAINT CK_AtomConcepts_Similarity CHECK (Similarity BETWEEN -1 AND 1),
    CONSTRAINT CK_AtomConcepts_BoundBy CHECK (BoundBy IN ('discovery', 'ingest'))
);
-- a concept's members (the primary ones for the next run's evolution)
CREATE INDEX IF NOT EXISTS IX_AtomConcepts_Concept ON provenance.AtomConcepts (ConceptId, IsPrimary);
