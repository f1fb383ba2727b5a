-- kind: view
-- requires: dbo.AtomEmbeddings
-- Monitoring (seed 000's "Embedding count by type"): embeddings per type, their dimension, and how
-- many carry a 3-D point and a vector bucket. Every vector is stored at its own
-- dimension, so PaddedCount (the seeds' UsesMaxDimensionPadding, a constant 0 column) is always 0.
-- security_invoker: the querying role's row-level security applies (its tenant's embeddings only).
CREATE OR REPLACE VIEW dbo.vw_EmbeddingCountsByType WITH (security_invoker = true) AS
SELECT EmbeddingType,
       count(*) AS EmbeddingCount,
       avg(Dimension)::double precision AS AvgDimension,
       0::bigint AS PaddedCount,
       count(SpatialGeometry) AS WithSpatialProjection,
       count(VectorBucket) AS WithVectorBucket
FROM dbo.AtomEmbeddings
GROUP BY EmbeddingType;
