-- kind: table
-- requires: dbo.Atoms, dbo.Models
-- Embeddings of atoms: the exact vector as little-endian float32 bytes (Dimension * 4 bytes), plus
-- the 3-D spatial projection and its coarse buckets, and the vector bucket (nearest k-means centre
-- of the full vector, dbo.SpatialLandmarks.Centroids) that pre-filters searches. On SQL Server 2025
-- sp_IngestAtom also keeps the vector in the native VECTOR(384) type (EmbeddingNative), for the
-- engine's own VECTOR_DISTANCE; sp_SemanticSearch does not use it yet.
-- UsesMaxDimensionPadding is always 0: vectors are kept at their own dimension, never padded to a
-- maximum as the seed design did; the column keeps the seeds' embedding statistics query working.
-- Indexed: the embedding is in a segment of its tenant's and type's vector index
-- (dbo.VectorIndexSegments); until then searches scan it exactly (the raw delta).
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
        SpatialGeometry GEOMETRY        NULL,
        VectorBucket    INT             NULL,
{%- if mssql_version >= 2025 %}
        EmbeddingNative VECTOR(384)     NULL,
{%- endif %}
        UsesMaxDimensionPadding AS (CAST(0 AS BIT)),
        Indexed         BIT             NOT NULL CONSTRAINT DF_AtomEmbeddings_Indexed DEFAULT (0),
        CreatedAt       DATETIME2(3)    NOT NULL CONSTRAINT DF_AtomEmbeddings_CreatedAt DEFAULT (SYSUTCDATETIME()),
        CONSTRAINT PK_AtomEmbeddings PRIMARY KEY CLUSTERED (AtomEmbeddingId),
        CONSTRAINT FK_AtomEmbeddings_Atoms FOREIGN KEY (AtomId) REFERENCES dbo.Atoms (AtomId) ON DELETE CASCADE,
        CONSTRAINT FK_AtomEmbeddings_Models FOREIGN KEY (ModelId) REFERENCES dbo.Models (ModelId),
        CONSTRAINT CK_AtomEmbeddings_Dimension CHECK (Dimension BETWEEN 1 AND {{ policy.MAX_DIMENSION }}),
        CONSTRAINT CK_AtomEmbeddings_VectorLength CHECK (DATALENGTH(EmbeddingVector) = Dimension * 4)
    );
    CREATE INDEX IX_AtomEmbeddings_Atom ON dbo.AtomEmbeddings (AtomId, EmbeddingType);
    CREATE INDEX IX_AtomEmbeddings_SpatialBucket ON dbo.AtomEmbeddings (SpatialBucketX, SpatialBucketY, SpatialBucketZ);
    CREATE INDEX IX_AtomEmbeddings_VectorBucket ON dbo.AtomEmbeddings (VectorBucket);
    -- the raw delta: what searches scan exactly until dbo.sp_BuildVectorIndex merges it
    CREATE INDEX IX_AtomEmbeddings_Unindexed ON dbo.AtomEmbeddings (EmbeddingType, AtomEmbeddingId) WHERE Indexed = 0;
END;
GO
-- SQL Server's spatial index is two-dimensional: it filters on X and Y; Z is kept in SpatialZ.
IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE name = N'IX_AtomEmbeddings_Spatial'
               AND object_id = OBJECT_ID(N'dbo.AtomEmbeddings'))
BEGIN
    CREATE SPATIAL INDEX IX_AtomEmbeddings_Spatial ON dbo.AtomEmbeddings (SpatialGeometry)
    USING GEOMETRY_GRID
    WITH (BOUNDING_BOX = (-2, -2, 2, 2), GRIDS = (LEVEL_1 = MEDIUM, LEVEL_2 = MEDIUM, LEVEL_3 = MEDIUM,
          LEVEL_4 = MEDIUM), CELLS_PER_OBJECT = 16);
END;
