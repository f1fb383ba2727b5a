-- kind: table
-- requires: provenance.Concepts
-- What each discovery run changed (hartonomous_ext.concepts.evolve): one row per concept of the run,
-- born (no previous concept), grown, shrunk or stable (it continues one, by the change of its size),
-- merged (it took from two or more), split (its one previous concept went to two or more), and one
-- row per previous concept the run linked to nothing (gone: ConceptId is that retired concept).
-- PreviousConceptIds: the previous concepts it came from, most shared atoms first. Detail: the
-- concept's size, primary size, coherence and label at that run.
IF OBJECT_ID(N'provenance.ConceptEvolution', N'U') IS NULL
BEGIN
    CREATE TABLE provenance.ConceptEvolution (
        EventId            BIGINT IDENTITY(1, 1) NOT NULL,
        DiscoveryRunId     BIGINT         NOT NULL,
        TenantId           INT            NOT NULL,
        EmbeddingType      NVARCHAR(64)   NOT NULL,
        EventType          NVARCHAR(16)   NOT NULL,
        ConceptId          BIGINT         NULL,
        PreviousConceptIds NVARCHAR(MAX)  NOT NULL CONSTRAINT DF_ConceptEvolution_Previous DEFAULT (N'[]'),
        Detail             NVARCHAR(MAX)  NULL,
        RecordedAt         DATETIME2(3)   NOT NULL CONSTRAINT DF_ConceptEvolution_RecordedAt DEFAULT (SYSUTCDATETIME()),
        CONSTRAINT PK_ConceptEvolution PRIMARY KEY CLUSTERED (EventId),
        CONSTRAINT FK_ConceptEvolution_Concepts FOREIGN KEY (ConceptId) REFERENCES provenance.Concepts (ConceptId) ON DELETE SET NULL,
        CONSTRAINT CK_ConceptEvolution_EventType CHECK (EventType IN (N'born', N'grown', N'shrunk', N'stable', N'merged', N'split', N'gone')),
        CONSTRAINT CK_ConceptEvolution_Previous CHECK (ISJSON(PreviousConceptIds) = 1),
        CONSTRAINT CK_ConceptEvolution_Detail CHECK (Detail IS NULL OR ISJSON(Detail) = 1)
    );
    CREATE INDEX IX_ConceptEvolution_Run ON provenance.ConceptEvolution (DiscoveryRunId);
    CREATE INDEX IX_ConceptEvolution_Concept ON provenance.ConceptEvolution (ConceptId);
END;
