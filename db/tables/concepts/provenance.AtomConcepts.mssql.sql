-- kind: table
-- requires: provenance.Concepts, dbo.Atoms
-- Which concepts each atom belongs to (multi-label): every live concept of its tenant and embedding
-- type whose centroid is at least the membership similarity close (cosine), at most a few, the
-- nearest being its primary concept (IsPrimary). BoundBy says who wrote the row: 'discovery'
-- (dbo.fn_DiscoverConcepts, which replaces the rows of the tenant's type on every run) or 'ingest'
-- (dbo.fn_BindConcepts, which dbo.sp_IngestAtom calls for a new atom). An atom follows its
-- tenant: row-level security reads the tenant from dbo.Atoms (dbo.fn_AtomAccessPredicate).
IF OBJECT_ID(N'provenance.AtomConcepts', N'U') IS NULL
BEGIN
    CREATE TABLE provenance.AtomConcepts (
        AtomId     BIGINT        NOT NULL,
        ConceptId  BIGINT        NOT NULL,
        Similarity FLOAT         NOT NULL,
        IsPrimary  BIT           NOT NULL,
        BoundAt    DATETIME2(3)  NOT NULL CONSTRAINT DF_AtomConcepts_BoundAt DEFAULT (SYSUTCDATETIME()),
        BoundBy    NVARCHAR(16)  NOT NULL,
        CONSTRAINT PK_AtomConcepts PRIMARY KEY CLUSTERED (AtomId, ConceptId),
        CONSTRAINT FK_AtomConcepts_Atoms FOREIGN KEY (AtomId) REFERENCES dbo.Atoms (AtomId) ON DELETE CASCADE,
        CONSTRAINT FK_AtomConcepts_Concepts FOREIGN KEY (ConceptId) REFERENCES provenance.Concepts (ConceptId) ON DELETE CASCADE,
        CONSTRAINT CK_AtomConcepts_Similarity CHECK (Similarity BETWEEN -1 AND 1),
        CONSTRAINT CK_AtomConcepts_BoundBy CHECK (BoundBy IN (N'discovery', N'ingest'))
    );
    -- a concept's members (the primary ones for the next run's evolution)
    CREATE INDEX IX_AtomConcepts_Concept ON provenance.AtomConcepts (ConceptId, IsPrimary);
END;
