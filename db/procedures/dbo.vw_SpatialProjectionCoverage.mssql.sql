-- kind: view
-- requires: dbo.AtomEmbeddings
-- Monitoring (seed 000's "Spatial projection coverage"): how many embeddings have their 3-D point,
-- as a count and a percentage (NULL when there are no embeddings).
CREATE OR ALTER VIEW dbo.vw_SpatialProjectionCoverage AS
SELECT COUNT_BIG(*) AS TotalEmbeddings,
       SUM(CASE WHEN SpatialGeometry IS NOT NULL THEN CAST(1 AS BIGINT) ELSE 0 END) AS WithSpatialProjection,
       CAST(100.0 * SUM(CASE WHEN SpatialGeometry IS NOT NULL THEN CAST(1 AS BIGINT) ELSE 0 END) / NULLIF(COUNT_BIG(*), 0) AS DECIMAL(5, 2)) AS CoveragePercent
FROM dbo.AtomEmbeddings;
