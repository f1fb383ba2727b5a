-- kind: policy
-- requires: dbo.Atoms, dbo.Models, dbo.InferenceRequests, dbo.IngestionJobs, dbo.GenerationStreams, dbo.VectorIndexSegments, dbo.WeightSnapshots, dbo.AtomEmbeddings, dbo.ModelLayers, dbo.ModelTensors, dbo.ModelTensorChunks, dbo.VectorIndexChunks, dbo.WeightSnapshotChunks, dbo.BillingAccounts, dbo.BillingUsagePeriods, provenance.Concepts, provenance.AtomConcepts, provenance.ConceptEvolution, graph.AtomGraphNodes, graph.AtomGraphEdges, dbo.fn_TenantAccessPredicate, dbo.fn_AtomAccessPredicate, dbo.fn_ModelAccessPredicate, dbo.fn_SegmentAccessPredicate, dbo.fn_SnapshotAccessPredicate, dbo.fn_TensorAccessPredicate, Reasoning.ReasoningChains, Reasoning.MultiPathReasoning, Reasoning.SelfConsistencyResults, Attention.AttentionGenerationLog
-- Row-level security on every tenant-owned table (seed 003's "CREATE SECURITY POLICY ... ADD FILTER
-- PREDICATE dbo.fn_TenantAccessPredicate(TenantId)"; named TenantAccessPolicy because
-- dbo.TenantSecurityPolicy is the seeds' table of each tenant's limits). Filter predicates hide other
-- tenants' rows from every SELECT, UPDATE and DELETE, in procedures too (ownership chaining does not
-- lift them); block predicates refuse a row written into another tenant. A table owned through a
-- parent (an atom's embeddings, a model's tensors and chunk maps, a segment's or a snapshot's
-- chunks, an atom's concept memberships) follows its parent's tenant. The provenance graph's node and
-- edge tables carry their tenant. The history of dbo.ModelTensorChunks takes a filter only
-- (the server writes it; block predicates are not allowed there).
-- dbo.TensorChunks is not here: its chunks are shared by content hash across tenants, so no tenant
-- role is granted it at all; procedures reach it and never say whether a chunk existed. Nor is
-- dbo.AtomPayloadStore: SQL Server refuses security predicates on a table with FILESTREAM data
-- (error 33501), so no tenant role is granted it either, on both engines; procedures read a
-- payload only through its atom, which the policy filters. Nor are the billing ledgers: the
-- memory-optimized dbo.BillingUsageLedger_InMemory takes only natively compiled predicates, so both
-- ledgers are administrators' only (on both engines); tenants read dbo.vw_BillingUsage.
IF OBJECT_ID(N'dbo.TenantAccessPolicy', N'SP') IS NOT NULL
    DROP SECURITY POLICY dbo.TenantAccessPolicy;
GO
CREATE SECURITY POLICY dbo.TenantAccessPolicy
    ADD FILTER PREDICATE dbo.fn_TenantAccessPredicate(TenantId) ON dbo.Atoms,
    ADD BLOCK PREDICATE dbo.fn_TenantAccessPredicate(TenantId) ON dbo.Atoms AFTER INSERT,
    ADD BLOCK PREDICATE dbo.fn_TenantAccessPredicate(TenantId) ON dbo.Atoms AFTER UPDATE,
    ADD FILTER PREDICATE dbo.fn_TenantAccessPredicate(TenantId) ON dbo.Models,
    ADD BLOCK PREDICATE dbo.fn_TenantAccessPredicate(TenantId) ON dbo.Models AFTER INSERT,
    ADD BLOCK PREDICATE dbo.fn_TenantAccessPredicate(TenantId) ON dbo.Models AFTER UPDATE,
    ADD FILTER PREDICATE dbo.fn_TenantAccessPredicate(TenantId) ON dbo.InferenceRequests,
    ADD BLOCK PREDICATE dbo.fn_TenantAccessPredicate(TenantId) ON dbo.InferenceRequests AFTER INSERT,
    ADD BLOCK PREDICATE dbo.fn_TenantAccessPredicate(TenantId) ON dbo.InferenceRequests AFTER UPDATE,
    ADD FILTER PREDICATE dbo.fn_TenantAccessPredicate(TenantId) ON dbo.IngestionJobs,
    ADD BLOCK PREDICATE dbo.fn_TenantAccessPredicate(TenantId) ON dbo.IngestionJobs AFTER INSERT,
    ADD BLOCK PREDICATE dbo.fn_TenantAccessPredicate(TenantId) ON dbo.IngestionJobs AFTER UPDATE,
    ADD FILTER PREDICATE dbo.fn_TenantAccessPredicate(TenantId) ON dbo.GenerationStreams,
    ADD BLOCK PREDICATE dbo.fn_TenantAccessPredicate(TenantId) ON dbo.GenerationStreams AFTER INSERT,
    ADD BLOCK PREDICATE dbo.fn_TenantAccessPredicate(TenantId) ON dbo.GenerationStreams AFTER UPDATE,
    ADD FILTER PREDICATE dbo.fn_TenantAccessPredicate(TenantId) ON dbo.VectorIndexSegments,
    ADD BLOCK PREDICATE dbo.fn_TenantAccessPredicate(TenantId) ON dbo.VectorIndexSegments AFTER INSERT,
    ADD BLOCK PREDICATE dbo.fn_TenantAccessPredicate(TenantId) ON dbo.VectorIndexSegments AFTER UPDATE,
    ADD FILTER PREDICATE dbo.fn_TenantAccessPredicate(TenantId) ON dbo.WeightSnapshots,
    ADD BLOCK PREDICATE dbo.fn_TenantAccessPredicate(TenantId) ON dbo.WeightSnapshots AFTER INSERT,
    ADD BLOCK PREDICATE dbo.fn_TenantAccessPredicate(TenantId) ON dbo.WeightSnapshots AFTER UPDATE,
    ADD FILTER PREDICATE dbo.fn_AtomAccessPredicate(AtomId) ON dbo.AtomEmbeddings,
    ADD BLOCK PREDICATE dbo.fn_AtomAccessPredicate(AtomId) ON dbo.AtomEmbeddings AFTER INSERT,
    ADD BLOCK PREDICATE dbo.fn_AtomAccessPredicate(AtomId) ON dbo.AtomEmbeddings AFTER UPDATE,
    ADD FILTER PREDICATE dbo.fn_ModelAccessPredicate(ModelId) ON dbo.ModelLayers,
    ADD BLOCK PREDICATE dbo.fn_ModelAccessPredicate(ModelId) ON dbo.ModelLayers AFTER INSERT,
    ADD BLOCK PREDICATE dbo.fn_ModelAccessPredicate(ModelId) ON dbo.ModelLayers AFTER UPDATE,
    ADD FILTER PREDICATE dbo.fn_ModelAccessPredicate(ModelId) ON dbo.ModelTensors,
    ADD BLOCK PREDICATE dbo.fn_ModelAccessPredicate(ModelId) ON dbo.ModelTensors AFTER INSERT,
    ADD BLOCK PREDICATE dbo.fn_ModelAccessPredicate(ModelId) ON dbo.ModelTensors AFTER UPDATE,
    ADD FILTER PREDICATE dbo.fn_TensorAccessPredicate(TensorId) ON dbo.ModelTensorChunks,
    ADD BLOCK PREDICATE dbo.fn_TensorAccessPredicate(TensorId) ON dbo.ModelTensorChunks AFTER INSERT,
    ADD BLOCK PREDICATE dbo.fn_TensorAccessPredicate(TensorId) ON dbo.ModelTensorChunks AFTER UPDATE,
    ADD FILTER PREDICATE dbo.fn_SegmentAccessPredicate(SegmentId) ON dbo.VectorIndexChunks,
    ADD BLOCK PREDICATE dbo.fn_SegmentAccessPredicate(SegmentId) ON dbo.VectorIndexChunks AFTER INSERT,
    ADD BLOCK PREDICATE dbo.fn_SegmentAccessPredicate(SegmentId) ON dbo.VectorIndexChunks AFTER UPDATE,
    ADD FILTER PREDICATE dbo.fn_SnapshotAccessPredicate(SnapshotId) ON dbo.WeightSnapshotChunks,
    ADD BLOCK PREDICATE dbo.fn_SnapshotAccessPredicate(SnapshotId) ON dbo.WeightSnapshotChunks AFTER INSERT,
    ADD BLOCK PREDICATE dbo.fn_SnapshotAccessPredicate(SnapshotId) ON dbo.WeightSnapshotChunks AFTER UPDATE,
    ADD FILTER PREDICATE dbo.fn_TenantAccessPredicate(TenantId) ON dbo.BillingAccounts,
    ADD BLOCK PREDICATE dbo.fn_TenantAccessPredicate(TenantId) ON dbo.BillingAccounts AFTER INSERT,
    ADD BLOCK PREDICATE dbo.fn_TenantAccessPredicate(TenantId) ON dbo.BillingAccounts AFTER UPDATE,
    ADD FILTER PREDICATE dbo.fn_TenantAccessPredicate(TenantId) ON dbo.BillingUsagePeriods,
    ADD BLOCK PREDICATE dbo.fn_TenantAccessPredicate(TenantId) ON dbo.BillingUsagePeriods AFTER INSERT,
    ADD BLOCK PREDICATE dbo.fn_TenantAccessPredicate(TenantId) ON dbo.BillingUsagePeriods AFTER UPDATE,
    ADD FILTER PREDICATE dbo.fn_TensorAccessPredicate(TensorId) ON dbo.ModelTensorChunksHistory,
    ADD FILTER PREDICATE dbo.fn_TenantAccessPredicate(TenantId) ON provenance.Concepts,
    ADD BLOCK PREDICATE dbo.fn_TenantAccessPredicate(TenantId) ON provenance.Concepts AFTER INSERT,
    ADD BLOCK PREDICATE dbo.fn_TenantAccessPredicate(TenantId) ON provenance.Concepts AFTER UPDATE,
    ADD FILTER PREDICATE dbo.fn_TenantAccessPredicate(TenantId) ON provenance.ConceptEvolution,
    ADD BLOCK PREDICATE dbo.fn_TenantAccessPredicate(TenantId) ON provenance.ConceptEvolution AFTER INSERT,
    ADD BLOCK PREDICATE dbo.fn_TenantAccessPredicate(TenantId) ON provenance.ConceptEvolution AFTER UPDATE,
    ADD FILTER PREDICATE dbo.fn_AtomAccessPredicate(AtomId) ON provenance.AtomConcepts,
    ADD BLOCK PREDICATE dbo.fn_AtomAccessPredicate(AtomId) ON provenance.AtomConcepts AFTER INSERT,
    ADD BLOCK PREDICATE dbo.fn_AtomAccessPredicate(AtomId) ON provenance.AtomConcepts AFTER UPDATE,
    ADD FILTER PREDICATE dbo.fn_TenantAccessPredicate(TenantId) ON graph.AtomGraphNodes,
    ADD BLOCK PREDICATE dbo.fn_TenantAccessPredicate(TenantId) ON graph.AtomGraphNodes AFTER INSERT,
    ADD BLOCK PREDICATE dbo.fn_TenantAccessPredicate(TenantId) ON graph.AtomGraphNodes AFTER UPDATE,
    ADD FILTER PREDICATE dbo.fn_TenantAccessPredicate(TenantId) ON graph.AtomGraphEdges,
    ADD BLOCK PREDICATE dbo.fn_TenantAccessPredicate(TenantId) ON graph.AtomGraphEdges AFTER INSERT,
    ADD BLOCK PREDICATE dbo.fn_TenantAccessPredicate(TenantId) ON graph.AtomGraphEdges AFTER UPDATE,
    ADD FILTER PREDICATE dbo.fn_TenantAccessPredicate(TenantId) ON Reasoning.ReasoningChains,
    ADD BLOCK PREDICATE dbo.fn_TenantAccessPredicate(TenantId) ON Reasoning.ReasoningChains AFTER INSERT,
    ADD BLOCK PREDICATE dbo.fn_TenantAccessPredicate(TenantId) ON Reasoning.ReasoningChains AFTER UPDATE,
    ADD FILTER PREDICATE dbo.fn_TenantAccessPredicate(TenantId) ON Reasoning.MultiPathReasoning,
    ADD BLOCK PREDICATE dbo.fn_TenantAccessPredicate(TenantId) ON Reasoning.MultiPathReasoning AFTER INSERT,
    ADD BLOCK PREDICATE dbo.fn_TenantAccessPredicate(TenantId) ON Reasoning.MultiPathReasoning AFTER UPDATE,
    ADD FILTER PREDICATE dbo.fn_TenantAccessPredicate(TenantId) ON Reasoning.SelfConsistencyResults,
    ADD BLOCK PREDICATE dbo.fn_TenantAccessPredicate(TenantId) ON Reasoning.SelfConsistencyResults AFTER INSERT,
    ADD BLOCK PREDICATE dbo.fn_TenantAccessPredicate(TenantId) ON Reasoning.SelfConsistencyResults AFTER UPDATE,
    ADD FILTER PREDICATE dbo.fn_TenantAccessPredicate(TenantId) ON Attention.AttentionGenerationLog,
    ADD BLOCK PREDICATE dbo.fn_TenantAccessPredicate(TenantId) ON Attention.AttentionGenerationLog AFTER INSERT,
    ADD BLOCK PREDICATE dbo.fn_TenantAccessPredicate(TenantId) ON Attention.AttentionGenerationLog AFTER UPDATE
WITH (STATE = ON, SCHEMABINDING = ON);
