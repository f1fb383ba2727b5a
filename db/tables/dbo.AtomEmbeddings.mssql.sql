-- kind: table
-- requires: dbo.Atoms, dbo.Models
-- Embeddings of atoms: the exact vector as little-endian float32 bytes (Dimension * 4 bytes), plus
-- the 3-D spatial projection and its coarse buckets used to pre-filter searches.
IF OBJECT_ID(N'dbo.AtomEmbeddings', N'U') IS NULL
BEGIN
    CREATE TABLE dbo.AtomEmbeddings (
        AtomEmbeddingId BIGINT IDENTITY(1, 1) NOT NULL,
        AtomId          BIGINT          NOT NULL,
        ModelId         INT             NULL,
        EmbeddingType   NVARCHAR(64)    NOT NULL,
        Dimension       INT             NOT NULL,
        EmbeddingVector VARBINARY(MAX)  NOT NULL,
        SpatialX        FLOAT           NULL,
        SpatialY        FLOAT           NULL,
        SpatialZ        FLOAT           NULL,
        SpatialBucketX  INT             NULL,
        SpatialBucketY  INT             NULL,
        SpatialBucketZ  INT             NULL,
        CreatedAt       DATETIME2(3)    NOT NULL CONSTRAINT DF_AtomEmbeddings_CreatedAt DEFAULT (SYSUTCDATETIME()),
        CONSTRAINT PK_AtomEmbeddings PRIMARY KEY CLUSTERED (AtomEmbeddingId),
        CONSTRAINT FK_AtomEmbeddings_Atoms FOREIGN KEY (AtomId) REFERENCES dbo.Atoms (AtomId) ON DELETE CASCADE,
        CONSTRAINT FK_AtomEmbeddings_Models FOREIGN KEY (ModelId) REFERENCES dbo.Models (ModelId),
        CONSTRAINT CK_AtomEmbeddings_Dimension CHECK (Dimension > 0),
        CONSTRAINT CK_AtomEmbeddings_VectorLength CHECK (DATALENGTH(EmbeddingVector) = Dimension * 4)
    );
    CREATE INDEX IX_AtomEmbeddings_Atom ON dbo.AtomEmbeddings (AtomId, EmbeddingType);
    CREATE INDEX IX_AtomEmbeddings_SpatialBucket ON dbo.AtomEmbeddings (SpatialBucketX, SpatialBucketY, SpatialBucketZ);
END;
