-- kind: policy
-- requires: dbo.Atoms, dbo.Models, dbo.InferenceRequests, dbo.IngestionJobs, dbo.GenerationStreams, dbo.VectorIndexSegments, dbo.WeightSnapshots, dbo.AtomEmbeddings, dbo.ModelLayers, dbo.ModelTensors, dbo.VectorIndexChunks, dbo.WeightSnapshotChunks, dbo.ModelTensorChunks, dbo.ModelTensorChunksHistory, dbo.BillingAccounts, dbo.BillingUsagePeriods, provenance.Concepts, provenance.AtomConcepts, provenance.ConceptEvolution, graph.AtomGraphNodes, graph.AtomGraphEdges, dbo.fn_TenantAccessPredicate, Reasoning.ReasoningChains, Reasoning.MultiPathReasoning, Reasoning.SelfConsistencyResults, Attention.AttentionGenerationLog
-- Row-level security on every tenant-owned table (seed 003's TenantSecurityPolicy; the table of
-- that name holds each tenant's limits). A table with a TenantId column shows and accepts the rows
-- dbo.fn_TenantAccessPredicate allows; a table owned through a parent (an atom's embeddings, a
-- model's tensors and their chunk maps, a segment's chunks, a snapshot's chunks) those whose
-- parent it allows. FORCE: the tables' owner is held to the policies too (superusers, and the
-- SECURITY DEFINER procedures they own, are not: the procedures resolve the tenant themselves).
-- The concepts (provenance.Concepts, ConceptEvolution) carry their tenant; an atom's concept
-- memberships (provenance.AtomConcepts) follow the atom's. The provenance graph's nodes and edges
-- (graph.AtomGraphNodes, graph.AtomGraphEdges), the reasoning record (Reasoning.*) and the attention
-- log (Attention.AttentionGenerationLog) carry their tenant.
-- dbo.TensorChunks is not here: its chunks are shared by content hash across tenants, so no
-- tenant role is granted it at all; procedures reach it and never say whether a chunk existed. Nor
-- is dbo.AtomPayloadStore, as on SQL Server (which refuses predicates on its FILESTREAM table): no
-- tenant role is granted it; procedures read a payload only through its atom. The billing ledgers
-- (dbo.BillingUsageLedger_InMemory, dbo.BillingUsageLedger) are administrators' only, as on SQL
-- Server (which takes only natively compiled predicates on memory-optimized tables).
ALTER TABLE dbo.Atoms ENABLE ROW LEVEL SECURITY;
ALTER TABLE dbo.Atoms FORCE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS tenant_access ON dbo.Atoms;
CREATE POLICY tenant_access ON dbo.Atoms
    USING (dbo.fn_TenantAccessPredicate(TenantId)) WITH CHECK (dbo.fn_TenantAccessPredicate(TenantId));
ALTER TABLE dbo.Models ENABLE ROW LEVEL SECURITY;
ALTER TABLE dbo.Models FORCE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS tenant_access ON dbo.Models;
CREATE POLICY tenant_access ON dbo.Models
    USING (dbo.fn_TenantAccessPredicate(TenantId)) WITH CHECK (dbo.fn_TenantAccessPredicate(TenantId));
ALTER TABLE dbo.InferenceRequests ENABLE ROW LEVEL SECURITY;
ALTER TABLE dbo.InferenceRequests FORCE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS tenant_access ON dbo.InferenceRequests;
CREATE POLICY tenant_access ON dbo.InferenceRequests
    USING (dbo.fn_TenantAccessPredicate(TenantId)) WITH CHECK (dbo.fn_TenantAccessPredicate(TenantId));
ALTER TABLE dbo.IngestionJobs ENABLE ROW LEVEL SECURITY;
ALTER TABLE dbo.IngestionJobs FORCE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS tenant_access ON dbo.IngestionJobs;
CREATE POLICY tenant_access ON dbo.IngestionJobs
    USING (dbo.fn_TenantAccessPredicate(TenantId)) WITH CHECK (dbo.fn_TenantAccessPredicate(TenantId));
ALTER TABLE dbo.GenerationStreams ENABLE ROW LEVEL SECURITY;
ALTER TABLE dbo.GenerationStreams FORCE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS tenant_access ON dbo.GenerationStreams;
CREATE POLICY tenant_access ON dbo.GenerationStreams
    USING (dbo.fn_TenantAccessPredicate(TenantId)) WITH CHECK (dbo.fn_TenantAccessPredicate(TenantId));
ALTER TABLE dbo.VectorIndexSegments ENABLE ROW LEVEL SECURITY;
ALTER TABLE dbo.VectorIndexSegments FORCE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS tenant_access ON dbo.VectorIndexSegments;
CREATE POLICY tenant_access ON dbo.VectorIndexSegments
    USING (dbo.fn_TenantAccessPredicate(TenantId)) WITH CHECK (dbo.fn_TenantAccessPredicate(TenantId));
ALTER TABLE dbo.WeightSnapshots ENABLE ROW LEVEL SECURITY;
ALTER TABLE dbo.WeightSnapshots FORCE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS tenant_access ON dbo.WeightSnapshots;
CREATE POLICY tenant_access ON dbo.WeightSnapshots
    USING (dbo.fn_TenantAccessPredicate(TenantId)) WITH CHECK (dbo.fn_TenantAccessPredicate(TenantId));
ALTER TABLE dbo.AtomEmbeddings ENABLE ROW LEVEL SECURITY;
ALTER TABLE dbo.AtomEmbeddings FORCE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS tenant_access ON dbo.AtomEmbeddings;
CREATE POLICY tenant_access ON dbo.AtomEmbeddings
    USING (EXISTS (SELECT FROM dbo.Atoms p WHERE p.AtomId = AtomEmbeddings.AtomId AND dbo.fn_TenantAccessPredicate(p.TenantId)))
    WITH CHECK (EXISTS (SELECT FROM dbo.Atoms p WHERE p.AtomId = AtomEmbeddings.AtomId AND dbo.fn_TenantAccessPredicate(p.TenantId)));
ALTER TABLE dbo.ModelLayers ENABLE ROW LEVEL SECURITY;
ALTER TABLE dbo.ModelLayers FORCE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS tenant_access ON dbo.ModelLayers;
CREATE POLICY tenant_access ON dbo.ModelLayers
    USING (EXISTS (SELECT FROM dbo.Models p WHERE p.ModelId = ModelLayers.ModelId AND dbo.fn_TenantAccessPredicate(p.TenantId)))
    WITH CHECK (EXISTS (SELECT FROM dbo.Models p WHERE p.ModelId = ModelLayers.ModelId AND dbo.fn_TenantAccessPredicate(p.TenantId)));
ALTER TABLE dbo.ModelTensors ENABLE ROW LEVEL SECURITY;
ALTER TABLE dbo.ModelTensors FORCE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS tenant_access ON dbo.ModelTensors;
CREATE POLICY tenant_access ON dbo.ModelTensors
    USING (EXISTS (SELECT FROM dbo.Models p WHERE p.ModelId = ModelTensors.ModelId AND dbo.fn_TenantAccessPredicate(p.TenantId)))
    WITH CHECK (EXISTS (SELECT FROM dbo.Models p WHERE p.ModelId = ModelTensors.ModelId AND dbo.fn_TenantAccessPredicate(p.TenantId)));
ALTER TABLE dbo.VectorIndexChunks ENABLE ROW LEVEL SECURITY;
ALTER TABLE dbo.VectorIndexChunks FORCE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS tenant_access ON dbo.VectorIndexChunks;
CREATE POLICY tenant_access ON dbo.VectorIndexChunks
    USING (EXISTS (SELECT FROM dbo.VectorIndexSegments p WHERE p.SegmentId = VectorIndexChunks.SegmentId AND dbo.fn_TenantAccessPredicate(p.TenantId)))
    WITH CHECK (EXISTS (SELECT FROM dbo.VectorIndexSegments p WHERE p.SegmentId = VectorIndexChunks.SegmentId AND dbo.fn_TenantAccessPredicate(p.TenantId)));
ALTER TABLE dbo.WeightSnapshotChunks ENABLE ROW LEVEL SECURITY;
ALTER TABLE dbo.WeightSnapshotChunks FORCE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS tenant_access ON dbo.WeightSnapshotChunks;
CREATE POLICY tenant_access ON dbo.WeightSnapshotChunks
    USING (EXISTS (SELECT FROM dbo.WeightSnapshots p WHERE p.SnapshotId = WeightSnapshotChunks.SnapshotId AND dbo.fn_TenantAccessPredicate(p.TenantId)))
    WITH CHECK (EXISTS (SELECT FROM dbo.WeightSnapshots p WHERE p.SnapshotId = WeightSnapshotChunks.SnapshotId AND dbo.fn_TenantAccessPredicate(p.TenantId)));
ALTER TABLE dbo.ModelTensorChunks ENABLE ROW LEVEL SECURITY;
ALTER TABLE dbo.ModelTensorChunks FORCE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS tenant_access ON dbo.ModelTensorChunks;
CREATE POLICY tenant_access ON dbo.ModelTensorChunks
    USING (EXISTS (SELECT FROM dbo.ModelTensors mt JOIN dbo.Models m ON m.ModelId = mt.ModelId
                   WHERE mt.TensorId = ModelTensorChunks.TensorId AND dbo.fn_TenantAccessPredicate(m.TenantId)))
    WITH CHECK (EXISTS (SELECT FROM dbo.ModelTensors mt JOIN dbo.Models m ON m.ModelId = mt.ModelId
                   WHERE mt.TensorId = ModelTensorChunks.TensorId AND dbo.fn_TenantAccessPredicate(m.TenantId)));
ALTER TABLE dbo.ModelTensorChunksHistory ENABLE ROW LEVEL SECURITY;
ALTER TABLE dbo.ModelTensorChunksHistory FORCE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS tenant_access ON dbo.ModelTensorChunksHistory;
CREATE POLICY tenant_access ON dbo.ModelTensorChunksHistory
    USING (EXISTS (SELECT FROM dbo.ModelTensors mt JOIN dbo.Models m ON m.ModelId = mt.ModelId
                   WHERE mt.TensorId = ModelTensorChunksHistory.TensorId AND dbo.fn_TenantAccessPredicate(m.TenantId)))
    WITH CHECK (EXISTS (SELECT FROM dbo.ModelTensors mt JOIN dbo.Models m ON m.ModelId = mt.ModelId
                   WHERE mt.TensorId = ModelTensorChunksHistory.TensorId AND dbo.fn_TenantAccessPredicate(m.TenantId)));
ALTER TABLE dbo.BillingAccounts ENABLE ROW LEVEL SECURITY;
ALTER TABLE dbo.BillingAccounts FORCE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS tenant_access ON dbo.BillingAccounts;
CREATE POLICY tenant_access ON dbo.BillingAccounts
    USING (dbo.fn_TenantAccessPredicate(TenantId)) WITH CHECK (dbo.fn_TenantAccessPredicate(TenantId));
ALTER TABLE dbo.BillingUsagePeriods ENABLE ROW LEVEL SECURITY;
ALTER TABLE dbo.BillingUsagePeriods FORCE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS tenant_access ON dbo.BillingUsagePeriods;
CREATE POLICY tenant_access ON dbo.BillingUsagePeriods
    USING (dbo.fn_TenantAccessPredicate(TenantId)) WITH CHECK (dbo.fn_TenantAccessPredicate(TenantId));
ALTER TABLE provenance.Concepts ENABLE ROW LEVEL SECURITY;
ALTER TABLE provenance.Concepts FORCE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS tenant_access ON provenance.Concepts;
CREATE POLICY tenant_access ON provenance.Concepts
    USING (dbo.fn_TenantAccessPredicate(TenantId)) WITH CHECK (dbo.fn_TenantAccessPredicate(TenantId));
ALTER TABLE provenance.ConceptEvolution ENABLE ROW LEVEL SECURITY;
ALTER TABLE provenance.ConceptEvolution FORCE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS tenant_access ON provenance.ConceptEvolution;
CREATE POLICY tenant_access ON provenance.ConceptEvolution
    USING (dbo.fn_TenantAccessPredicate(TenantId)) WITH CHECK (dbo.fn_TenantAccessPredicate(TenantId));
ALTER TABLE provenance.AtomConcepts ENABLE ROW LEVEL SECURITY;
ALTER TABLE provenance.AtomConcepts FORCE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS tenant_access ON provenance.AtomConcepts;
CREATE POLICY tenant_access ON provenance.AtomConcepts
    USING (EXISTS (SELECT FROM dbo.Atoms p WHERE p.AtomId = AtomConcepts.AtomId AND dbo.fn_TenantAccessPredicate(p.TenantId)))
    WITH CHECK (EXISTS (SELECT FROM dbo.Atoms p WHERE p.AtomId = AtomConcepts.AtomId AND dbo.fn_TenantAccessPredicate(p.TenantId)));
ALTER TABLE graph.AtomGraphNodes ENABLE ROW LEVEL SECURITY;
ALTER TABLE graph.AtomGraphNodes FORCE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS tenant_access ON graph.AtomGraphNodes;
CREATE POLICY tenant_access ON graph.AtomGraphNodes
    USING (dbo.fn_TenantAccessPredicate(TenantId)) WITH CHECK (dbo.fn_TenantAccessPredicate(TenantId));
ALTER TABLE graph.AtomGraphEdges ENABLE ROW LEVEL SECURITY;
ALTER TABLE graph.AtomGraphEdges FORCE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS tenant_access ON graph.AtomGraphEdges;
CREATE POLICY tenant_access ON graph.AtomGraphEdges
    USING (dbo.fn_TenantAccessPredicate(TenantId)) WITH CHECK (dbo.fn_TenantAccessPredicate(TenantId));
ALTER TABLE reasoning.ReasoningChains ENABLE ROW LEVEL SECURITY;
ALTER TABLE reasoning.ReasoningChains FORCE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS tenant_access ON reasoning.ReasoningChains;
CREATE POLICY tenant_access ON reasoning.ReasoningChains
    USING (dbo.fn_TenantAccessPredicate(TenantId)) WITH CHECK (dbo.fn_TenantAccessPredicate(TenantId));
ALTER TABLE reasoning.MultiPathReasoning ENABLE ROW LEVEL SECURITY;
ALTER TABLE reasoning.MultiPathReasoning FORCE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS tenant_access ON reasoning.MultiPathReasoning;
CREATE POLICY tenant_access ON reasoning.MultiPathReasoning
    USING (dbo.fn_TenantAccessPredicate(TenantId)) WITH CHECK (dbo.fn_TenantAccessPredicate(TenantId));
ALTER TABLE reasoning.SelfConsistencyResults ENABLE ROW LEVEL SECURITY;
ALTER TABLE reasoning.SelfConsistencyResults FORCE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS tenant_access ON reasoning.SelfConsistencyResults;
CREATE POLICY tenant_access ON reasoning.SelfConsistencyResults
    USING (dbo.fn_TenantAccessPredicate(TenantId)) WITH CHECK (dbo.fn_TenantAccessPredicate(TenantId));
ALTER TABLE attention.AttentionGenerationLog ENABLE ROW LEVEL SECURITY;
ALTER TABLE attention.AttentionGenerationLog FORCE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS tenant_access ON attention.AttentionGenerationLog;
CREATE POLICY tenant_access ON attention.AttentionGenerationLog
    USING (dbo.fn_TenantAccessPredicate(TenantId)) WITH CHECK (dbo.fn_TenantAccessPredicate(TenantId));
