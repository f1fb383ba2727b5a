-- kind: grant
-- requires: role_admin, role_app, role_reader, role_system, dbo.TenantAccessPolicy, dbo.sp_SetSessionTenant, dbo.fn_ResolveTenant, dbo.sp_IngestAtom, dbo.sp_IngestAtoms, dbo.sp_SemanticSearch, dbo.sp_GenerateText, dbo.sp_GenerateEmbedding, dbo.sp_StoreModel, dbo.sp_IngestModel, dbo.sp_UpdateTensor, dbo.sp_CreateWeightSnapshot, dbo.sp_RestoreWeightSnapshot, dbo.sp_RollbackWeightsToTimestamp, dbo.sp_AtomLineage, dbo.sp_ModelDerivations, dbo.sp_AtomConceptMemberships, dbo.sp_SimilarAtoms, graph.AtomGraphNodes, graph.AtomGraphEdges, dbo.sp_VectorCosineSimilarity, dbo.sp_VectorDotProduct, dbo.sp_VectorL2Distance, dbo.sp_VectorNormalize, dbo.sp_VectorSoftmax, dbo.fn_StoredModel, dbo.fn_StoredModelTensors, dbo.fn_TensorChunk, dbo.sp_PythonEnvironment, dbo.sp_BuildVectorIndex, dbo.sp_RecomputeAllSpatialProjections, dbo.vw_EmbeddingCountsByType, dbo.vw_SpatialProjectionCoverage, dbo.vw_BillingUsage, dbo.sp_ArchiveBillingUsage, dbo.sp_Analyze, dbo.sp_Hypothesize, dbo.sp_Act, dbo.sp_Learn, dbo.sp_AutonomousImprovement, dbo.sp_HealthCheck, dbo.sp_RebuildFragmentedIndexes, dbo.sp_ArchiveInferenceRequests, dbo.sp_StartAutonomousLoop, dbo.sp_StopAutonomousLoop, dbo.sp_ProcessLoopMessages, dbo.sp_ExecuteOnlineActions, dbo.sp_SendLoopMessage, dbo.AutonomousActions, dbo.AutonomousObservations, dbo.AutonomousCycles, dbo.AutonomousImprovementHistory, dbo.AutonomousLoopAttempts, dbo.AutonomousLoopDeadLetters, dbo.OODALoopMetrics, dbo.AutonomousLoopSettings, dbo.AutonomousActionCatalog, dbo.AnalyzeQueue, dbo.HypothesizeQueue, dbo.ActQueue, dbo.LearnQueue, dbo.AutonomousSnapshots, dbo.sp_SelfConsistencyReasoning, dbo.sp_ChainOfThoughtReasoning, dbo.sp_MultiPathReasoning, Reasoning.ReasoningChains, Reasoning.MultiPathReasoning, Reasoning.SelfConsistencyResults, Attention.AttentionGenerationLog, dbo.ReasoningChains, dbo.MultiPathReasoning, dbo.SelfConsistencyResults
-- What each role may do (README, "Security model"), granted from nothing on every publish, so a
-- permission granted by hand to one of the roles does not survive it (and shows as drift before).
-- <database>_admin  every table and routine of dbo (operations: sp_BuildVectorIndex, sp_IngestModel,
--                   sp_RecomputeAllSpatialProjections, the stored-model readers, the mappings)
-- <database>_app    EXECUTE on the tenant procedures: ownership chaining reaches the tables, and
--                   dbo.TenantAccessPolicy still filters them to the session's tenant; EXECUTE ANY
--                   EXTERNAL SCRIPT, which sp_execute_external_script checks against the caller
-- <database>_reader SELECT on the tenant-owned tables and views, the security policy filtering them,
--                   and its tenant's usage (dbo.vw_BillingUsage only: not the rate plans of others)
-- <database>_system the autonomous loop's principal: EXECUTE on its phases, activation loop, start and
--                   stop, health check, and the maintenance the catalog runs (the billing and request
--                   archives, index rebuilds); never approvals (a human's) nor purges; SELECT on its own
--                   tables and queues (the runbook counts the queues); no tenant content
-- The loop's record (actions, observations, snapshots, cycles, history, attempts, dead letters,
-- metrics) is read-only for administrators too (DENY beats their schema-wide grant): the loop builds
-- the statements it runs as the owner from those rows, so only its procedures, which reach them by
-- ownership chaining, write them. Administrators decide with sp_ApproveAction and sp_RejectAction,
-- restart it with sp_SendLoopMessage, and change dbo.AutonomousLoopSettings and the allowlist.
-- The roles hold no other permission: everything granted or denied to them on the database, its
-- objects (columns too) and schemas is revoked first.
DECLARE @Revoke NVARCHAR(MAX);
SELECT @Revoke = STRING_AGG(CAST(CONCAT(N'REVOKE ', p.permission_name,
           CASE p.class WHEN 1 THEN CONCAT(N' ON ', QUOTENAME(OBJECT_SCHEMA_NAME(p.major_id)), N'.', QUOTENAME(OBJECT_NAME(p.major_id)),
                                           CASE WHEN p.minor_id <> 0 THEN CONCAT(N' (', QUOTENAME(COL_NAME(p.major_id, p.minor_id)), N')') END)
                        WHEN 3 THEN CONCAT(N' ON SCHEMA::', QUOTENAME(SCHEMA_NAME(p.major_id))) ELSE N'' END,
           N' FROM ', QUOTENAME(r.name), N' CASCADE;') AS NVARCHAR(MAX)), NCHAR(10))
FROM sys.database_permissions AS p
INNER JOIN sys.database_principals AS r ON r.principal_id = p.grantee_principal_id
WHERE r.name IN ({{ (database_name ~ '_admin') | tsql_string }}, {{ (database_name ~ '_app') | tsql_string }}, {{ (database_name ~ '_reader') | tsql_string }}, {{ (database_name ~ '_system') | tsql_string }})
  AND p.class IN (0, 1, 3) AND p.permission_name <> N'CONNECT';
IF @Revoke IS NOT NULL
    EXEC sys.sp_executesql @Revoke;
GO
GRANT SELECT, INSERT, UPDATE, DELETE, EXECUTE ON SCHEMA::dbo TO {{ (database_name ~ '_admin') | tsql_identifier }};
GRANT EXECUTE ANY EXTERNAL SCRIPT TO {{ (database_name ~ '_admin') | tsql_identifier }}, {{ (database_name ~ '_app') | tsql_identifier }};
GRANT SELECT ON dbo.fn_SessionTenant TO {{ (database_name ~ '_app') | tsql_identifier }}, {{ (database_name ~ '_reader') | tsql_identifier }}, {{ (database_name ~ '_system') | tsql_identifier }};
GRANT EXECUTE ON dbo.sp_SetSessionTenant TO {{ (database_name ~ '_app') | tsql_identifier }}, {{ (database_name ~ '_reader') | tsql_identifier }};
GRANT EXECUTE ON dbo.sp_IngestAtom TO {{ (database_name ~ '_app') | tsql_identifier }};
GRANT EXECUTE ON dbo.sp_IngestAtoms TO {{ (database_name ~ '_app') | tsql_identifier }};
GRANT EXECUTE ON dbo.sp_SemanticSearch TO {{ (database_name ~ '_app') | tsql_identifier }};
GRANT EXECUTE ON dbo.sp_GenerateText TO {{ (database_name ~ '_app') | tsql_identifier }};
GRANT EXECUTE ON dbo.sp_GenerateEmbedding TO {{ (database_name ~ '_app') | tsql_identifier }};
GRANT EXECUTE ON dbo.sp_StoreModel TO {{ (database_name ~ '_app') | tsql_identifier }};
GRANT EXECUTE ON dbo.sp_UpdateTensor TO {{ (database_name ~ '_app') | tsql_identifier }};
GRANT EXECUTE ON dbo.sp_CreateWeightSnapshot TO {{ (database_name ~ '_app') | tsql_identifier }};
GRANT EXECUTE ON dbo.sp_RestoreWeightSnapshot TO {{ (database_name ~ '_app') | tsql_identifier }};
GRANT EXECUTE ON dbo.sp_RollbackWeightsToTimestamp TO {{ (database_name ~ '_app') | tsql_identifier }};
GRANT EXECUTE ON dbo.sp_VectorCosineSimilarity TO {{ (database_name ~ '_app') | tsql_identifier }};
GRANT EXECUTE ON dbo.sp_VectorDotProduct TO {{ (database_name ~ '_app') | tsql_identifier }};
GRANT EXECUTE ON dbo.sp_VectorL2Distance TO {{ (database_name ~ '_app') | tsql_identifier }};
GRANT EXECUTE ON dbo.sp_VectorNormalize TO {{ (database_name ~ '_app') | tsql_identifier }};
GRANT EXECUTE ON dbo.sp_VectorSoftmax TO {{ (database_name ~ '_app') | tsql_identifier }};
GRANT EXECUTE ON dbo.sp_PythonEnvironment TO {{ (database_name ~ '_app') | tsql_identifier }};
GRANT SELECT ON dbo.Atoms TO {{ (database_name ~ '_reader') | tsql_identifier }};
GRANT SELECT ON dbo.AtomEmbeddings TO {{ (database_name ~ '_reader') | tsql_identifier }};
GRANT SELECT ON dbo.Models TO {{ (database_name ~ '_reader') | tsql_identifier }};
GRANT SELECT ON dbo.ModelLayers TO {{ (database_name ~ '_reader') | tsql_identifier }};
GRANT SELECT ON dbo.ModelTensors TO {{ (database_name ~ '_reader') | tsql_identifier }};
GRANT SELECT ON dbo.InferenceRequests TO {{ (database_name ~ '_reader') | tsql_identifier }};
GRANT SELECT ON dbo.IngestionJobs TO {{ (database_name ~ '_reader') | tsql_identifier }};
GRANT SELECT ON dbo.GenerationStreams TO {{ (database_name ~ '_reader') | tsql_identifier }};
GRANT SELECT ON dbo.WeightSnapshots TO {{ (database_name ~ '_reader') | tsql_identifier }};
GRANT SELECT ON dbo.vw_EmbeddingCountsByType TO {{ (database_name ~ '_reader') | tsql_identifier }};
GRANT SELECT ON dbo.vw_SpatialProjectionCoverage TO {{ (database_name ~ '_reader') | tsql_identifier }};
GRANT SELECT ON dbo.vw_BillingUsage TO {{ (database_name ~ '_reader') | tsql_identifier }};
GRANT EXECUTE ON dbo.sp_ArchiveBillingUsage TO {{ (database_name ~ '_system') | tsql_identifier }};
GRANT EXECUTE ON dbo.sp_Analyze TO {{ (database_name ~ '_system') | tsql_identifier }};
GRANT EXECUTE ON dbo.sp_Hypothesize TO {{ (database_name ~ '_system') | tsql_identifier }};
GRANT EXECUTE ON dbo.sp_Act TO {{ (database_name ~ '_system') | tsql_identifier }};
GRANT EXECUTE ON dbo.sp_Learn TO {{ (database_name ~ '_system') | tsql_identifier }};
GRANT EXECUTE ON dbo.sp_AutonomousImprovement TO {{ (database_name ~ '_system') | tsql_identifier }};
GRANT EXECUTE ON dbo.sp_HealthCheck TO {{ (database_name ~ '_system') | tsql_identifier }};
GRANT EXECUTE ON dbo.sp_RebuildFragmentedIndexes TO {{ (database_name ~ '_system') | tsql_identifier }};
GRANT EXECUTE ON dbo.sp_ArchiveInferenceRequests TO {{ (database_name ~ '_system') | tsql_identifier }};
GRANT EXECUTE ON dbo.sp_StartAutonomousLoop TO {{ (database_name ~ '_system') | tsql_identifier }};
GRANT EXECUTE ON dbo.sp_StopAutonomousLoop TO {{ (database_name ~ '_system') | tsql_identifier }};
GRANT EXECUTE ON dbo.sp_ProcessLoopMessages TO {{ (database_name ~ '_system') | tsql_identifier }};
GRANT EXECUTE ON dbo.sp_ExecuteOnlineActions TO {{ (database_name ~ '_system') | tsql_identifier }};
GRANT EXECUTE ON dbo.sp_SendLoopMessage TO {{ (database_name ~ '_system') | tsql_identifier }};
GRANT SELECT ON dbo.AutonomousActions TO {{ (database_name ~ '_system') | tsql_identifier }};
GRANT SELECT ON dbo.AutonomousObservations TO {{ (database_name ~ '_system') | tsql_identifier }};
GRANT SELECT ON dbo.AutonomousCycles TO {{ (database_name ~ '_system') | tsql_identifier }};
GRANT SELECT ON dbo.AutonomousImprovementHistory TO {{ (database_name ~ '_system') | tsql_identifier }};
GRANT SELECT ON dbo.AutonomousLoopAttempts TO {{ (database_name ~ '_system') | tsql_identifier }};
GRANT SELECT ON dbo.AutonomousLoopDeadLetters TO {{ (database_name ~ '_system') | tsql_identifier }};
GRANT SELECT ON dbo.OODALoopMetrics TO {{ (database_name ~ '_system') | tsql_identifier }};
GRANT SELECT ON dbo.AutonomousLoopSettings TO {{ (database_name ~ '_system') | tsql_identifier }};
GRANT SELECT ON dbo.AutonomousActionCatalog TO {{ (database_name ~ '_system') | tsql_identifier }};
GRANT SELECT ON dbo.AnalyzeQueue TO {{ (database_name ~ '_system') | tsql_identifier }};
GRANT SELECT ON dbo.HypothesizeQueue TO {{ (database_name ~ '_system') | tsql_identifier }};
GRANT SELECT ON dbo.ActQueue TO {{ (database_name ~ '_system') | tsql_identifier }};
GRANT SELECT ON dbo.LearnQueue TO {{ (database_name ~ '_system') | tsql_identifier }};
DENY INSERT, UPDATE, DELETE ON dbo.AutonomousActions TO {{ (database_name ~ '_admin') | tsql_identifier }};
DENY INSERT, UPDATE, DELETE ON dbo.AutonomousObservations TO {{ (database_name ~ '_admin') | tsql_identifier }};
DENY INSERT, UPDATE, DELETE ON dbo.AutonomousSnapshots TO {{ (database_name ~ '_admin') | tsql_identifier }};
DENY INSERT, UPDATE, DELETE ON dbo.AutonomousCycles TO {{ (database_name ~ '_admin') | tsql_identifier }};
DENY INSERT, UPDATE, DELETE ON dbo.AutonomousImprovementHistory TO {{ (database_name ~ '_admin') | tsql_identifier }};
DENY INSERT, UPDATE, DELETE ON dbo.AutonomousLoopAttempts TO {{ (database_name ~ '_admin') | tsql_identifier }};
DENY INSERT, UPDATE, DELETE ON dbo.AutonomousLoopDeadLetters TO {{ (database_name ~ '_admin') | tsql_identifier }};
DENY INSERT, UPDATE, DELETE ON dbo.OODALoopMetrics TO {{ (database_name ~ '_admin') | tsql_identifier }};
GRANT SELECT, INSERT, UPDATE, DELETE ON SCHEMA::provenance TO {{ (database_name ~ '_admin') | tsql_identifier }};
GRANT EXECUTE ON dbo.fn_DiscoverConcepts TO {{ (database_name ~ '_app') | tsql_identifier }};
GRANT EXECUTE ON dbo.fn_BindConcepts TO {{ (database_name ~ '_app') | tsql_identifier }};
GRANT SELECT ON provenance.Concepts TO {{ (database_name ~ '_reader') | tsql_identifier }};
GRANT SELECT ON provenance.AtomConcepts TO {{ (database_name ~ '_reader') | tsql_identifier }};
GRANT SELECT ON provenance.ConceptEvolution TO {{ (database_name ~ '_reader') | tsql_identifier }};
GRANT SELECT, INSERT, UPDATE, DELETE ON SCHEMA::graph TO {{ (database_name ~ '_admin') | tsql_identifier }};
GRANT EXECUTE ON dbo.sp_AtomLineage TO {{ (database_name ~ '_app') | tsql_identifier }};
GRANT EXECUTE ON dbo.sp_ModelDerivations TO {{ (database_name ~ '_app') | tsql_identifier }};
GRANT EXECUTE ON dbo.sp_AtomConceptMemberships TO {{ (database_name ~ '_app') | tsql_identifier }};
GRANT EXECUTE ON dbo.sp_SimilarAtoms TO {{ (database_name ~ '_app') | tsql_identifier }};
GRANT SELECT ON graph.AtomGraphNodes TO {{ (database_name ~ '_reader') | tsql_identifier }};
GRANT SELECT ON graph.AtomGraphEdges TO {{ (database_name ~ '_reader') | tsql_identifier }};
GRANT SELECT, INSERT, UPDATE, DELETE ON SCHEMA::Reasoning TO {{ (database_name ~ '_admin') | tsql_identifier }};
GRANT SELECT, INSERT, UPDATE, DELETE ON SCHEMA::Attention TO {{ (database_name ~ '_admin') | tsql_identifier }};
GRANT EXECUTE ON dbo.sp_SelfConsistencyReasoning TO {{ (database_name ~ '_app') | tsql_identifier }};
GRANT EXECUTE ON dbo.sp_ChainOfThoughtReasoning TO {{ (database_name ~ '_app') | tsql_identifier }};
GRANT EXECUTE ON dbo.sp_MultiPathReasoning TO {{ (database_name ~ '_app') | tsql_identifier }};
GRANT SELECT ON Reasoning.ReasoningChains TO {{ (database_name ~ '_reader') | tsql_identifier }};
GRANT SELECT ON Reasoning.MultiPathReasoning TO {{ (database_name ~ '_reader') | tsql_identifier }};
GRANT SELECT ON Reasoning.SelfConsistencyResults TO {{ (database_name ~ '_reader') | tsql_identifier }};
GRANT SELECT ON Attention.AttentionGenerationLog TO {{ (database_name ~ '_reader') | tsql_identifier }};
GRANT SELECT ON dbo.ReasoningChains TO {{ (database_name ~ '_reader') | tsql_identifier }};
GRANT SELECT ON dbo.MultiPathReasoning TO {{ (database_name ~ '_reader') | tsql_identifier }};
GRANT SELECT ON dbo.SelfConsistencyResults TO {{ (database_name ~ '_reader') | tsql_identifier }};
