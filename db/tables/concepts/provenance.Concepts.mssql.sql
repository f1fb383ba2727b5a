-- kind: table
-- requires: provenance
-- The concepts concept discovery found in a tenant's embeddings of one type (dbo.fn_DiscoverConcepts,
-- hartonomous_ext.concepts): the centroid (unit length, little-endian float32 bytes, Dimension * 4),
-- the c-TF-IDF keywords of its members' text ([[word, weight], ...], best first) and the label (the
-- first three), Size (atoms it holds, multi-label) and PrimarySize (atoms whose nearest concept it
-- is), Coherence (mean cosine of its atoms to the centroid). A concept keeps its ConceptId across
-- runs while evolution matches it (updated in place, DiscoveryRunId the run that last wrote it);
-- one no run continues is retired (RetiredAt), never deleted, so provenance.ConceptEvolution
-- can name it. DiscoveryRunId is the run's dbo.IngestionJobs row (JobType 'concept-discovery'), without a
-- foreign key: job rows are history a DBA may purge, and the concepts outlive them.
IF OBJECT_ID(N'provenance.Concepts', N'U') IS NULL
BEGIN
    CREATE TABLE provenance.Concepts (
        ConceptId      BIGINT IDENTITY(1, 1) NOT NULL,
        TenantId       INT             NOT NULL,
        EmbeddingType  NVARCHAR(64)    NOT NULL,
        Label          NVARCHAR(400)   NOT NULL,
        Keywords       NVARCHAR(MAX)   NOT NULL CONSTRAINT DF_Concepts_Keywords DEFAULT (N'[]'),
        Dimension      INT             NOT NULL,
        Centroid       VARBINARY(MAX)  NOT NULL,
        Size           INT             NOT NULL,
        PrimarySize    INT             NOT NULL,
        Coherence      FLOAT           NOT NULL,
        DiscoveryRunId BIGINT          NOT NULL,
        CreatedAt      DATETIME2(3)    NOT NULL CONSTRAINT DF_Concepts_CreatedAt DEFAULT (SYSUTCDATETIME()),
        UpdatedAt      DATETIME2(3)    NOT NULL CONSTRAINT DF_Concepts_UpdatedAt DEFAULT (SYSUTCDATETIME()),
        RetiredAt      DATETIME2(3)    NULL,
        CONSTRAINT PK_Concepts PRIMARY KEY CLUSTERED (ConceptId),
        CONSTRAINT CK_Concepts_Keywords CHECK (ISJSON(Keywords) = 1),
        CONSTRAINT CK_Concepts_Dimension CHECK (Dimension BETWEEN 1 AND {{ policy.MAX_DIMENSION }}),
        CONSTRAINT CK_Concepts_Centroid CHECK (DATALENGTH(Centroid) = Dimension * 4),
        CONSTRAINT CK_Concepts_Sizes CHECK (PrimarySize >= 0 AND Size >= PrimarySize),
        CONSTRAINT CK_Concepts_Coherence CHECK (Coherence BETWEEN 0 AND 1)
    );
    -- what binding and the next run read: the tenant's live concepts of a type
    CREATE INDEX IX_Concepts_Live ON provenance.Concepts (TenantId, EmbeddingType) WHERE RetiredAt IS NULL;
    CREATE INDEX IX_Concepts_DiscoveryRun ON provenance.Concepts (DiscoveryRunId);
END;
