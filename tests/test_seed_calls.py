"""The seed documents' own calls and queries, as a DBA pastes them, on PostgreSQL.

Each call is the seeds' (003 "Key procedures", 000 "Monitoring" and "Embedding statistics", 001 "Quick
health check") in PostgreSQL's spelling of the same call: named arguments (`=>` for `=`), `CALL` for
a procedure, `SELECT * FROM` for one that returns rows, and the engine's dialect for dates and TOP.
Names, arguments and values (1/0 for yes/no) are the seeds'. The SQL Server twins are the tSQLt
classes in tests/tsqlt/.
"""

from __future__ import annotations

import json
from decimal import Decimal

import numpy as np
import psycopg
import pytest

from conftest import query

PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000")


@pytest.fixture(scope="module")
def seeded(published):
    """The published copy with a little text, one ingestion job and one model, as a new user has."""
    with psycopg.connect(published, autocommit=True) as conn:
        for text in ("Kittens sleep in the afternoon sun.", "Quarterly revenue grew by four percent.",
                     "Quantum entanglement links the states of two particles.", "A cat naps on the warm windowsill."):
            conn.execute("CALL dbo.sp_IngestAtom(Content => %s, ContentType => 'text/plain', GenerateEmbedding => 1)",
                         (text.encode(),))
        conn.execute("INSERT INTO dbo.IngestionJobs (JobType, Status, Source, StartTime, EndTime, AtomsProcessed) "
                     "VALUES ('embeddings', 'Completed', 'seed-calls', now() - interval '5 seconds', now(), 4)")
        model = conn.execute(
            "INSERT INTO dbo.Models (ModelName, ModelFormat, ParameterCount, Config) "
            "VALUES ('bert-base-uncased', 'safetensors', 110000000, '{\"hidden_size\": 768}') RETURNING ModelId").fetchone()[0]
        conn.execute("INSERT INTO dbo.ModelLayers (ModelId, LayerIndex, LayerName, ParameterCount) "
                     "VALUES (%s, 0, 'embeddings', 1000), (%s, 1, 'encoder.0', 2000)", (model, model))
    return published, model


def test_dbo_is_on_the_database_search_path(seeded):
    url, _ = seeded
    assert query(url, "SHOW search_path") == [('dbo, "$user", public',)]


def test_ingest_atom_as_the_seeds_call_it(seeded):
    """003: EXEC dbo.sp_IngestAtom @Content = @binaryData, @ContentType = 'image/png', @Metadata = '{"source":
    "user_upload"}', @TenantId = 0, @GenerateEmbedding = 1, @ModelId = NULL, @AtomId = @AtomId OUTPUT;"""
    url, _ = seeded
    notices = []
    with psycopg.connect(url, autocommit=True) as conn:
        conn.add_notice_handler(lambda n: notices.append(n.message_primary))
        (atom,), = conn.execute("""CALL dbo.sp_IngestAtom(
            Content => %s, ContentType => 'image/png', Metadata => '{"source": "user_upload"}',
            TenantId => 0, GenerateEmbedding => 1, ModelId => NULL, AtomId => NULL)""", (PNG,)).fetchall()
    assert query(url, "SELECT Modality, ContentType, Metadata->>'source' FROM Atoms WHERE AtomId = %s", (atom,)) == [
        ("image", "image/png", "user_upload")]
    assert query(url, "SELECT count(*) FROM AtomEmbeddings WHERE AtomId = %s", (atom,)) == [(0,)]
    assert notices == ["sp_IngestAtom: image atoms get no embedding (the embedding models embed text); stored without one"]


def test_semantic_search_as_the_seeds_call_it(seeded):
    """003: EXEC dbo.sp_SemanticSearch @query_embedding = '[0.123, 0.456, ...]', @query_dimension = 768,
    @top_k = 10, @category = 'text', @use_hybrid = 1; (the store holds 384-d embeddings)."""
    url, _ = seeded
    (vector,), = query(url, "SELECT dbo.fn_GenerateEmbedding('a sleepy kitten')")
    embedding = json.dumps(np.frombuffer(bytes(vector), "<f4").tolist())
    found = query(url, "SELECT * FROM dbo.sp_SemanticSearch(query_embedding => %s, query_dimension => 384, top_k => 10, "
                      "category => 'text', use_hybrid => 1)", (embedding,))
    assert [r[3] for r in found[:2]] == ["Kittens sleep in the afternoon sun.", "A cat naps on the warm windowsill."]
    # the same query as text, as bytes, and with 0 for use_hybrid ranks the same atoms with the same scores
    for spelling in ("query_text => 'a sleepy kitten', use_hybrid => 0", "query_vector => %s, use_hybrid => false"):
        again = query(url, f"SELECT * FROM dbo.sp_SemanticSearch({spelling}, top_k => 10, category => 'text')",
                     (bytes(vector),) if "%s" in spelling else None)
        assert [r[0] for r in again] == [r[0] for r in found]
        assert np.allclose([r[1] for r in again], [r[1] for r in found], atol=1e-6)
    (task, count, hybrid), = query(url, "SELECT TaskType, ResultCount, Parameters->>'use_hybrid' FROM InferenceRequests "
                                       "ORDER BY RequestId DESC LIMIT 1")
    assert (task, count, hybrid) == ("semantic-search", len(found), "false")
    with pytest.raises(psycopg.Error, match="query_embedding has 384 values, but the dimension given is 768"):
        query(url, "SELECT * FROM dbo.sp_SemanticSearch(query_embedding => %s, query_dimension => 768, top_k => 10, "
                  "category => 'text', use_hybrid => 1)", (embedding,))


def test_weight_operations_as_the_seeds_call_them(seeded):
    """003: sp_CreateWeightSnapshot @SnapshotName, @ModelId = NULL, @Description;
    sp_RollbackWeightsToTimestamp @TargetDateTime = '2025-11-08 10:00:00', @ModelId = NULL, @DryRun = 1;
    sp_RestoreWeightSnapshot @SnapshotName = 'BeforeExperiment', @DryRun = 0."""
    url, _ = seeded
    with psycopg.connect(url, autocommit=True) as conn:
        (snapshot,), = conn.execute("""CALL dbo.sp_CreateWeightSnapshot(
            SnapshotName => 'BeforeExperiment', ModelId => NULL,
            Description => 'Baseline weights before RL training')""").fetchall()
        # to 2025-11-08, before the tenant's one model was ingested: nothing to roll back
        assert conn.execute("""SELECT * FROM dbo.sp_RollbackWeightsToTimestamp(
            TargetDateTime => '2025-11-08 10:00:00', ModelId => NULL, DryRun => 1)""").fetchall() == []
        assert conn.execute("""SELECT * FROM dbo.sp_RestoreWeightSnapshot(
            SnapshotName => 'BeforeExperiment', DryRun => 0)""").fetchall() == []
    models = query(url, "SELECT count(*) FROM Models WHERE TenantId = 0")[0][0]
    assert query(url, "SELECT SnapshotName, ModelId, Description, ModelCount FROM WeightSnapshots WHERE SnapshotId = %s",
                (snapshot,)) == [("BeforeExperiment", None, "Baseline weights before RL training", models)]


def test_the_monitoring_queries_run_as_written(seeded):
    """000 "Monitoring Ingestion Progress" and "Verifying Ingestion", in PostgreSQL's dialect (LIMIT for
    TOP, date arithmetic for DATEDIFF/DATEADD); the column names are the seeds'."""
    url, model = seeded
    jobs = query(url, """
        SELECT
            IngestionJobId,
            JobType,
            Status,
            StartTime,
            EndTime,
            extract(epoch FROM coalesce(EndTime, now()) - StartTime)::integer AS DurationSec,
            AtomsProcessed,
            ErrorMessage
        FROM IngestionJobs
        ORDER BY StartTime DESC
        LIMIT 10""")
    assert [(j[1], j[2], j[5], j[6]) for j in jobs if j[1] == "embeddings"] == [("embeddings", "Completed", 5, 4)]
    assert query(url, "SELECT ModelId, ModelName, ParameterCount, IngestionDate IS NOT NULL FROM Models "
                     "WHERE ModelName = 'bert-base-uncased'") == [(model, "bert-base-uncased", 110000000, True)]
    assert query(url, "SELECT ModelId, COUNT(*) AS LayerCount FROM ModelLayers WHERE ModelId = %s GROUP BY ModelId",
                (model,)) == [(model, 2)]
    # "Check for partial ingestion": a model with no layers, ingested in the last hour
    assert query(url, """
        SELECT m.ModelId, m.ModelName, COUNT(ml.LayerId) AS LayersIngested, m.Config
        FROM Models m
        LEFT JOIN ModelLayers ml ON m.ModelId = ml.ModelId
        WHERE m.IngestionDate > now() - interval '1 hour'
        GROUP BY m.ModelId, m.ModelName, m.Config
        HAVING COUNT(ml.LayerId) = 0""") == []
    # 000 "Compare with SQL Server": the latest inference; the module's search above recorded one
    query(url, "SELECT * FROM dbo.sp_SemanticSearch(query_text => 'kittens', top_k => 1)")
    assert query(url, "SELECT MAX(StartTime) > now() - interval '1 hour' AS LatestInference FROM InferenceRequests") == [
        (True,)]


def test_the_embedding_statistics_run_verbatim(seeded):
    """000 "Embedding Statistics": both queries exactly as the seeds print them."""
    url, _ = seeded
    by_type = query(url, """
SELECT
    EmbeddingType,
    COUNT(*) AS EmbeddingCount,
    AVG(Dimension) AS AvgDimension,
    SUM(CASE WHEN UsesMaxDimensionPadding = 1 THEN 1 ELSE 0 END) AS PaddedCount
FROM AtomEmbeddings
GROUP BY EmbeddingType;""")
    total = query(url, "SELECT count(*) FROM AtomEmbeddings")[0][0]
    assert [(t, c, float(d), p) for t, c, d, p in by_type] == [("all-MiniLM-L6-v2", total, 384.0, 0)]
    coverage = query(url, """
SELECT
    COUNT(*) AS TotalEmbeddings,
    SUM(CASE WHEN SpatialGeometry IS NOT NULL THEN 1 ELSE 0 END) AS WithSpatialProjection,
    CAST(100.0 * SUM(CASE WHEN SpatialGeometry IS NOT NULL THEN 1 ELSE 0 END) / COUNT(*) AS DECIMAL(5,2)) AS CoveragePercent
FROM AtomEmbeddings;""")
    assert coverage[0][0] == total and 0 <= coverage[0][2] <= 100


def test_the_health_checks_that_exist_run_as_written(seeded):
    """001 "Quick Health Check", items 4 (worker activity) and 5 (reasoning frameworks: dbo.ReasoningChains,
    the view over Reasoning.ReasoningChains) in PostgreSQL's date dialect. Item 2 reads
    dbo.OODALoopMetrics (tests/test_autonomous_loop.py); items 1 and 3 read SQL Server's catalog
    (sys.databases, sys.indexes)."""
    url, _ = seeded
    assert query(url, """
SELECT
    'Workers' AS Component,
    CASE WHEN COUNT(*) > 0 THEN 'Healthy' ELSE 'WARNING' END AS Status
FROM dbo.Atoms
WHERE CreatedAt >= now() - interval '15 minutes';""") == [("Workers", "Healthy")]
    assert query(url, """
SELECT
    'Reasoning Frameworks' AS Component,
    CASE WHEN COUNT(*) >= 0 THEN 'Healthy' ELSE 'N/A' END AS Status
FROM dbo.ReasoningChains
WHERE CreatedAt >= now() - interval '1 hour';""") == [("Reasoning Frameworks", "Healthy")]


def test_the_reasoning_metrics_run_as_written(seeded):
    """001 "Reasoning Framework Success" in PostgreSQL's date dialect (now() - interval for DATEADD and
    GETUTCDATE); the table names are the runbook's (views over the Reasoning schema), and the
    averages are those of the recorded rows (tests/test_reasoning.py runs the procedures that write
    them and checks the values; tests/test_mssql_live.py runs the query verbatim on SQL Server)."""
    url, _ = seeded
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("INSERT INTO reasoning.ReasoningChains (TenantId, ProblemId, InitialPrompt, ModelIds, MaxSteps, "
                     "Temperature, MaxTokens, TotalSteps, CoherenceScore, StepCoherence, ChainData, DurationMs, CreatedAt) "
                     "VALUES (0, gen_random_uuid(), 'q', '[1]', 3, 0.7, 8, 2, 0.6, '[0.6]', '[]', 1, now()), "
                     "(0, gen_random_uuid(), 'q', '[1]', 3, 0.7, 8, 2, 0.2, '[0.2]', '[]', 1, now() - interval '2 days')")
        conn.execute("INSERT INTO reasoning.MultiPathReasoning (TenantId, ProblemId, BasePrompt, ModelIds, NumPaths, MaxDepth, "
                     "Temperature, MaxTokens, ReasoningTree, DurationMs) VALUES (0, gen_random_uuid(), 'q', '[1]', 3, 2, 0.7, 8, "
                     "'[]', 1), (0, gen_random_uuid(), 'q', '[1]', 4, 2, 0.7, 8, '[]', 1)")
        conn.execute("INSERT INTO reasoning.SelfConsistencyResults (TenantId, ProblemId, Prompt, ModelIds, NumSamples, "
                     "Temperature, MaxTokens, ConsensusVotes, AgreementRatio, DistinctAnswers, SampleData, DurationMs) "
                     "VALUES (0, gen_random_uuid(), 'q', '[1]', 5, 0.8, 8, 4, 0.8, 2, '[]', 1)")
    metrics = query(url, """
SELECT
    'Chain of Thought' AS Framework,
    AVG(CoherenceScore) AS AvgScore
FROM dbo.ReasoningChains
WHERE CreatedAt >= now() - interval '24 hours'
UNION ALL
SELECT
    'Tree of Thought',
    AVG(CAST(NumPaths AS FLOAT))
FROM dbo.MultiPathReasoning
WHERE CreatedAt >= now() - interval '24 hours'
UNION ALL
SELECT
    'Reflexion',
    AVG(AgreementRatio)
FROM dbo.SelfConsistencyResults
WHERE CreatedAt >= now() - interval '24 hours';""")
    assert metrics == [("Chain of Thought", pytest.approx(0.6)), ("Tree of Thought", pytest.approx(3.5)),
                       ("Reflexion", pytest.approx(0.8))]


def test_the_billing_ledger_insert_runs_as_written(seeded):
    """003 "In-Memory OLTP for Billing": the INSERT into dbo.BillingUsageLedger_InMemory, its
    parameters given as values (tests/test_mssql_live.py runs it on SQL Server)."""
    url, _ = seeded
    before = query(url, "SELECT count(*) FROM dbo.BillingUsageLedger_InMemory")[0][0]
    query(url, """
        INSERT INTO dbo.BillingUsageLedger_InMemory (
            TenantId, PrincipalId, Operation, Units, BaseRate, TotalCost
        )
        VALUES (
            0, 'seed-calls', 'search', 1, 0.002, 0.002
        );""")
    assert query(url, "SELECT count(*) FROM dbo.BillingUsageLedger_InMemory")[0][0] == before + 1
    assert query(url, "SELECT Units, TotalCost, RecordedAt > now() - interval '1 minute' FROM dbo.BillingUsageLedger_InMemory "
                      "WHERE PrincipalId = 'seed-calls'") == [(1, Decimal("0.002"), True)]
