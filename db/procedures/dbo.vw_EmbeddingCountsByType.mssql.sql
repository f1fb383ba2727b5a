-- kind: view
-- requires: dbo.AtomEmbeddings
-- Monitoring (seed 000's "Embedding count by type"): embeddings per type, their dimension, and how
-- many carry a 3-D point and a vector bucket. Every vector is stored at its own
-- dimension, so PaddedCount (the seeds' UsesMaxDimensionPadding, a constant 0 column) is always 0.
CREATE OR ALTER VIEW dbo.vw_EmbeddingCountsByType AS
SELECT EmbeddingType,
       COUNT_BIG(*) AS EmbeddingCount,
       AVG(CAST(Dimension AS FLOAT)) AS AvgDimension,
       CAST(0 AS BIGINT) AS PaddedCount,
       SUM(CASE WHEN SpatialGeometry IS NOT NULL THEN CAST(1 AS BIGINT) ELSE 0 END) AS WithSpatialProjection,
       COUNT_BIG(VectorBucket) AS WithVectorBucket
FROM dbo.AtomEmbeddings
GROUP BY EmbeddingType;
