-- kind: function
-- requires: dbo.IngestionJobs, dbo.Atoms, dbo.AtomEmbeddings
-- How much a tenant's embeddings of one type changed since its last completed concept discovery
-- run (dbo.IngestionJobs, JobType 'concept-discovery', Source the type), as on PostgreSQL: the atoms
-- whose first embedding of the type came after the run started (Added: new atoms are bound to the
-- old concepts at ingest, never clustered) and the run's atoms deleted since (Removed: the run's
-- count less the atoms still there that it saw), their sum as a share of the run's atoms (Share).
-- Counts, not memberships: the run's outliers have none and would never let the share reach 0.
-- No row without a completed run. sp_Analyze's concept_drift and the recluster_concepts action's
-- metric (dbo.fn_AutonomousActionMetric) are this; Parameters is the run's row (what it was called
-- with). Rows of every tenant when called from the loop's phases (they run as the owner).
CREATE OR ALTER FUNCTION dbo.fn_ConceptDrift(@TenantId INT, @EmbeddingType NVARCHAR(64))
RETURNS TABLE
AS
RETURN
SELECT r.IngestionJobId AS DiscoveryRunId, r.AtomsProcessed AS RunAtoms, n.Atoms, n.Added, v.Removed,
       CAST(n.Added + v.Removed AS FLOAT) / NULLIF(r.AtomsProcessed, 0) AS Share, r.StartTime AS RunStartedAt,
       r.Parameters
FROM (SELECT TOP (1) j.IngestionJobId, j.AtomsProcessed, j.StartTime, j.Parameters
      FROM dbo.IngestionJobs AS j
      WHERE j.TenantId = @TenantId AND j.JobType = N'concept-discovery' AND j.Status = N'Completed'
        AND j.Source = @EmbeddingType
      ORDER BY j.IngestionJobId DESC) AS r
CROSS APPLY (SELECT COUNT_BIG(*) AS Atoms, COALESCE(SUM(f.IsAdded), 0) AS Added
             -- each atom's first embedding compared with the run's start here, outside the aggregate:
             -- an aggregate on the right side of an APPLY may not reference the left side (error 4101)
             FROM (SELECT CASE WHEN MIN(e.CreatedAt) >= r.StartTime THEN CAST(1 AS BIGINT) ELSE 0 END AS IsAdded
                   FROM dbo.AtomEmbeddings AS e
                   INNER JOIN dbo.Atoms AS a ON a.AtomId = e.AtomId
                   WHERE a.TenantId = @TenantId AND e.EmbeddingType = @EmbeddingType
                   GROUP BY e.AtomId) AS f) AS n
CROSS APPLY (SELECT CASE WHEN r.AtomsProcessed - (n.Atoms - n.Added) > 0
                         THEN r.AtomsProcessed - (n.Atoms - n.Added) ELSE 0 END AS Removed) AS v;
