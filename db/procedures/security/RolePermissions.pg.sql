-- kind: grant
-- requires: role_admin, role_app, role_reader, role_system, dbo.TenantAccessPolicy, dbo.fn_TenantIsActive, dbo.sp_SetSessionTenant, dbo.fn_ResolveTenant, dbo.sp_IngestAtom, dbo.sp_IngestAtoms, dbo.sp_SemanticSearch, dbo.sp_GenerateText, dbo.sp_GenerateEmbedding, dbo.sp_StoreModel, dbo.sp_IngestModel, dbo.sp_UpdateTensor, dbo.sp_CreateWeightSnapshot, dbo.sp_RestoreWeightSnapshot, dbo.sp_RollbackWeightsToTimestamp, dbo.sp_VectorCosineSimilarity, dbo.sp_VectorDotProduct, dbo.sp_VectorL2Distance, dbo.sp_VectorNormalize, dbo.sp_VectorSoftmax, dbo.fn_DiscoverConcepts, dbo.sp_DiscoverConcepts, dbo.fn_CheckConceptDiscovery, dbo.fn_BindConcepts, provenance.Concepts, provenance.AtomConcepts, provenance.ConceptEvolution, dbo.fn_VectorToJson, dbo.fn_StoredModel, dbo.fn_StoredModelTensors, dbo.fn_TensorChunk, dbo.fn_PythonEnvironment, dbo.sp_BuildVectorIndex, dbo.sp_RecomputeAllSpatialProjections, dbo.vw_EmbeddingCountsByType, dbo.vw_SpatialProjectionCoverage, dbo.vw_BillingUsage, dbo.sp_ArchiveBillingUsage, dbo.AutonomousActions, dbo.AutonomousObservations, dbo.AutonomousSnapshots, dbo.AutonomousCycles, dbo.AutonomousImprovementHistory, dbo.AutonomousLoopMessages, dbo.AutonomousLoopDeadLetters, dbo.OODALoopMetrics, dbo.AutonomousLoopSettings, dbo.AutonomousActionCatalog, dbo.sp_RunAutonomousLoop, dbo.sp_ExecuteOnlineActions, dbo.sp_AutonomousImprovement, dbo.sp_ProcessLoopMessage, dbo.fn_ClaimLoopMessage, dbo.fn_NextOnlineAction, dbo.fn_OnlineActionSession, dbo.fn_OnlineRunner, dbo.sp_SendLoopMessage, dbo.sp_HealthCheck, dbo.sp_ArchiveInferenceRequests, dbo.sp_RebuildFragmentedIndexes, dbo.sp_ApproveAction, dbo.sp_RejectAction, dbo.fn_QueueIndexRebuilds, dbo.sp_StartAutonomousLoop, dbo.sp_StopAutonomousLoop, dbo.AnalyzeQueue, dbo.HypothesizeQueue, dbo.ActQueue, dbo.LearnQueue, graph.AtomGraphNodes, graph.AtomGraphEdges, dbo.sp_AtomLineage, dbo.sp_ModelDerivations, dbo.sp_AtomConceptMemberships, dbo.sp_SimilarAtoms, dbo.sp_SelfConsistencyReasoning, dbo.sp_ChainOfThoughtReasoning, dbo.sp_MultiPathReasoning, Reasoning.ReasoningChains, Reasoning.MultiPathReasoning, Reasoning.SelfConsistencyResults, Attention.AttentionGenerationLog, dbo.ReasoningChains, dbo.MultiPathReasoning, dbo.SelfConsistencyResults
-- What each role may do (README, "Security model"), granted from nothing on every publish, so a
-- privilege granted by hand to one of the roles does not survive it (and shows as drift before).
-- <database>_admin  every table, every routine (operations: sp_BuildVectorIndex, sp_IngestModel,
--                   sp_RecomputeAllSpatialProjections, the stored-model readers, the mappings)
-- <database>_app    EXECUTE on the tenant procedures, which run as their owner and work in the
--                   session's tenant (dbo.fn_ResolveTenant); no table privilege at all
-- <database>_reader SELECT on the tenant-owned tables and views, row-level security filtering them,
--                   and its tenant's usage (dbo.vw_BillingUsage only: not the rate plans of others)
-- <database>_system the autonomous loop's principal: EXECUTE on its dispatcher, phases, online-action
--                   runner, health check and the maintenance the catalog runs (the billing and
--                   request archives, index rebuilds); SELECT on its own tables; no tenant content
-- The loop's record (actions, observations, snapshots, cycles, history, queues, metrics) is
-- read-only for administrators too: the loop builds the statements it runs as the owner from those
-- rows, so only its procedures write them. Administrators decide with sp_ApproveAction and
-- sp_RejectAction, restart it with sp_SendLoopMessage, and change dbo.AutonomousLoopSettings and
-- the allowlist (dbo.AutonomousActionCatalog.IsAllowlisted).
-- PUBLIC loses CONNECT on the database and EXECUTE on every routine of dbo: PostgreSQL grants every
-- new function to PUBLIC (a schema's default privileges cannot take that back), so this object runs
-- after every publish that changes anything, and a function made by hand shows in drift.
DO $$
DECLARE
    db constant text := current_database();
    admin constant text := db || '_admin';
    app constant text := db || '_app';
    reader constant text := db || '_reader';
    system constant text := db || '_system';
    routine text;
BEGIN
    EXECUTE format('REVOKE ALL ON DATABASE %I FROM PUBLIC', db);
    EXECUTE format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO %I, %I, %I, %I', db, admin, app, reader, system);
    EXECUTE format('GRANT USAGE ON SCHEMA dbo TO %I, %I, %I, %I', admin, app, reader, system);
    REVOKE ALL ON ALL ROUTINES IN SCHEMA dbo FROM PUBLIC;
    EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA dbo FROM %I, %I, %I, %I', admin, app, reader, system);
    EXECUTE format('REVOKE ALL ON ALL SEQUENCES IN SCHEMA dbo FROM %I, %I, %I, %I', admin, app, reader, system);
    EXECUTE format('REVOKE ALL ON ALL ROUTINES IN SCHEMA dbo FROM %I, %I, %I, %I', admin, app, reader, system);
    -- the concepts (schema provenance): administrators' like every table, readers' to read
    EXECUTE format('REVOKE ALL ON SCHEMA provenance FROM PUBLIC, %I, %I, %I, %I', admin, app, reader, system);
    EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA provenance FROM %I, %I, %I, %I', admin, app, reader, system);
    EXECUTE format('REVOKE ALL ON ALL SEQUENCES IN SCHEMA provenance FROM %I, %I, %I, %I', admin, app, reader, system);
    EXECUTE format('GRANT USAGE ON SCHEMA provenance TO %I, %I', admin, reader);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA provenance TO %I', admin);
    EXECUTE format('GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA provenance TO %I', admin);
    EXECUTE format('GRANT SELECT ON provenance.Concepts, provenance.AtomConcepts, provenance.ConceptEvolution TO %I', reader);
    -- the provenance graph (schema graph): the same; only its writers, as the owner, write it
    EXECUTE format('REVOKE ALL ON SCHEMA graph FROM PUBLIC, %I, %I, %I, %I', admin, app, reader, system);
    EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA graph FROM %I, %I, %I, %I', admin, app, reader, system);
    EXECUTE format('REVOKE ALL ON ALL SEQUENCES IN SCHEMA graph FROM %I, %I, %I, %I', admin, app, reader, system);
    EXECUTE format('GRANT USAGE ON SCHEMA graph TO %I, %I', admin, reader);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA graph TO %I', admin);
    EXECUTE format('GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA graph TO %I', admin);
    EXECUTE format('GRANT SELECT ON graph.AtomGraphNodes, graph.AtomGraphEdges TO %I', reader);
    -- the reasoning record and the attention log (schemas reasoning, attention): the same
    EXECUTE format('REVOKE ALL ON SCHEMA reasoning, attention FROM PUBLIC, %I, %I, %I, %I', admin, app, reader, system);
    EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA reasoning, attention FROM %I, %I, %I, %I', admin, app, reader, system);
    EXECUTE format('REVOKE ALL ON ALL SEQUENCES IN SCHEMA reasoning, attention FROM %I, %I, %I, %I', admin, app, reader, system);
    EXECUTE format('GRANT USAGE ON SCHEMA reasoning, attention TO %I, %I', admin, reader);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA reasoning, attention TO %I', admin);
    EXECUTE format('GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA reasoning, attention TO %I', admin);
    EXECUTE format('GRANT SELECT ON reasoning.ReasoningChains, reasoning.MultiPathReasoning, reasoning.SelfConsistencyResults, '
                   'attention.AttentionGenerationLog TO %I', reader);

    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA dbo TO %I', admin);
    EXECUTE format('GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA dbo TO %I', admin);
    EXECUTE format('GRANT EXECUTE ON ALL ROUTINES IN SCHEMA dbo TO %I', admin);

    -- what row-level security evaluates as the querying role, and the session's tenant choice
    FOREACH routine IN ARRAY ARRAY['dbo.fn_TenantAccessPredicate(integer)', 'dbo.fn_SessionTenant()',
                                   'dbo.fn_IsTenantAdmin()', 'dbo.fn_TenantIsActive(integer)',
                                   'dbo.sp_SetSessionTenant(integer)'] LOOP
        EXECUTE format('GRANT EXECUTE ON ROUTINE %s TO %I, %I, %I', routine, app, reader, system);
    END LOOP;

    FOREACH routine IN ARRAY ARRAY[
        'dbo.sp_IngestAtom', 'dbo.sp_IngestAtoms', 'dbo.sp_SemanticSearch', 'dbo.sp_GenerateText',
        'dbo.sp_GenerateEmbedding', 'dbo.sp_StoreModel',
        'dbo.sp_UpdateTensor', 'dbo.sp_CreateWeightSnapshot', 'dbo.sp_RestoreWeightSnapshot',
        'dbo.sp_RollbackWeightsToTimestamp', 'dbo.sp_VectorCosineSimilarity', 'dbo.sp_VectorDotProduct',
        'dbo.sp_VectorL2Distance', 'dbo.sp_VectorNormalize', 'dbo.sp_VectorSoftmax',
        'dbo.fn_DiscoverConcepts', 'dbo.fn_BindConcepts',
        'dbo.sp_AtomLineage', 'dbo.sp_ModelDerivations', 'dbo.sp_AtomConceptMemberships', 'dbo.sp_SimilarAtoms',
        'dbo.sp_SelfConsistencyReasoning', 'dbo.sp_ChainOfThoughtReasoning', 'dbo.sp_MultiPathReasoning'] LOOP
        EXECUTE format('GRANT EXECUTE ON ROUTINE %s TO %I', routine, app);
    END LOOP;

    EXECUTE format('GRANT SELECT ON dbo.Atoms, dbo.AtomEmbeddings, dbo.Models, dbo.ModelLayers, dbo.ModelTensors, '
                   'dbo.InferenceRequests, dbo.IngestionJobs, dbo.GenerationStreams, dbo.WeightSnapshots, '
                   'dbo.vw_EmbeddingCountsByType, dbo.vw_SpatialProjectionCoverage, '
                   'dbo.vw_BillingUsage, dbo.ReasoningChains, dbo.MultiPathReasoning, dbo.SelfConsistencyResults TO %I', reader);
    EXECUTE format('REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON dbo.AutonomousActions, dbo.AutonomousObservations, '
                   'dbo.AutonomousSnapshots, dbo.AutonomousCycles, dbo.AutonomousImprovementHistory, '
                   'dbo.AutonomousLoopMessages, dbo.AutonomousLoopDeadLetters, dbo.OODALoopMetrics FROM %I', admin);

    FOREACH routine IN ARRAY ARRAY[
        'dbo.sp_ArchiveBillingUsage', 'dbo.sp_ArchiveInferenceRequests', 'dbo.sp_RebuildFragmentedIndexes', 'dbo.fn_QueueIndexRebuilds',
        'dbo.sp_RunAutonomousLoop', 'dbo.sp_ProcessLoopMessage', 'dbo.fn_ClaimLoopMessage',
        'dbo.sp_ExecuteOnlineActions', 'dbo.fn_NextOnlineAction', 'dbo.fn_OnlineActionSession', 'dbo.fn_OnlineRunner',
        'dbo.sp_AutonomousImprovement', 'dbo.sp_Analyze', 'dbo.sp_Hypothesize', 'dbo.sp_Act', 'dbo.sp_Learn',
        'dbo.sp_SendLoopMessage', 'dbo.sp_HealthCheck', 'dbo.sp_StartAutonomousLoop', 'dbo.sp_StopAutonomousLoop'] LOOP
        EXECUTE format('GRANT EXECUTE ON ROUTINE %s TO %I', routine, system);
    END LOOP;
    EXECUTE format('GRANT SELECT ON dbo.AutonomousActions, dbo.AutonomousObservations, dbo.AutonomousCycles, '
                   'dbo.AutonomousImprovementHistory, dbo.AutonomousLoopMessages, dbo.AutonomousLoopDeadLetters, '
                   'dbo.OODALoopMetrics, dbo.AutonomousLoopSettings, dbo.AutonomousActionCatalog, '
                   'dbo.AnalyzeQueue, dbo.HypothesizeQueue, dbo.ActQueue, dbo.LearnQueue TO %I', system);
END
$$;
