-- kind: view
-- requires: dbo.AtomEmbeddings
-- Monitoring (seed 000's "Spatial projection coverage"): how many embeddings have their 3-D point,
-- as a count and a percentage (NULL when there are no embeddings).
-- security_invoker: the querying role's row-level security applies (its tenant's embeddings only).
CREATE OR REPLACE VIEW dbo.vw_SpatialProjectionCoverage WITH (security_invoker = true) AS
SELECT count(*) AS TotalEmbeddings,
       count(SpatialGeometry) AS WithSpatialProjection,
       round(100.0 * count(SpatialGeometry) / nullif(count(*), 0), 2)::numeric(5, 2) AS CoveragePercent
FROM dbo.AtomEmbeddings;
