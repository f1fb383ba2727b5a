"""Spatial projection and semantic search on a real PostgreSQL: landmarks fitted from the data,
batched recomputation with progress, hybrid and exact search, request records, tenants."""

from __future__ import annotations

import numpy as np
import psycopg
import pytest

from conftest import query

TOPICS = {
    "animals": ["A cat sleeps on the warm windowsill.", "The dog chased a ball across the park.",
                "Kittens love to play with string.", "Horses graze in the green meadow.",
                "A parrot can learn to repeat words.", "The puppy curled up next to the fire.",
                "Cows were mooing in the barn at dawn.", "An owl hunts mice at night."],
    "finance": ["Quarterly revenue rose by four percent.", "The central bank raised interest rates.",
                "Shareholders approved the annual dividend.", "Bond yields fell after the report.",
                "The company reported a net loss this year.", "Inflation eroded household savings.",
                "Investors sold shares amid market turmoil.", "The budget deficit widened sharply."],
    "databases": ["The query planner chose an index scan.", "A B-tree index speeds up range lookups.",
                  "Transactions guarantee atomicity and isolation.", "The table was vacuumed overnight.",
                  "Foreign keys keep references consistent.", "The stored procedure runs in the database.",
                  "Write-ahead logging makes commits durable.", "A join combines rows from two tables."],
}


@pytest.fixture(scope="module")
def corpus(pg_instance, tmp_path_factory):
    from deployer import cli

    url = pg_instance.create_database("search")
    assert cli.main(["publish", "--target", url, "--log-dir", str(tmp_path_factory.mktemp("logs"))]) == 0
    ids = {}
    with psycopg.connect(url, autocommit=True) as conn:
        for topic, texts in TOPICS.items():
            for text in texts:
                ids[text] = (topic, conn.execute("CALL dbo.sp_IngestAtom(%s, 'text/plain', NULL, 0, true)",
                                                 (text.encode(),)).fetchone()[0])
        conn.execute("CALL dbo.sp_IngestAtom(%s, 'text/plain', NULL, 7, true)", (b"Tenant seven's secret cat plan.",))
    return url, ids


def search(url, *args, **kwargs):
    names = ", ".join(f"{k} => %({k})s" for k in kwargs)
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(f"SELECT AtomId, Score, ContentType, Preview FROM dbo.sp_SemanticSearch({names})",
                            kwargs).fetchall()


def test_exact_search_finds_the_topic(corpus):
    url, ids = corpus
    rows = search(url, query_text="a sleepy kitten", top_k=5, use_hybrid=False)
    assert len(rows) == 5
    topics = [next(t for t, i in ids.values() if i == row[0]) for row in rows]
    assert topics[:3] == ["animals"] * 3
    assert rows[0][3] in TOPICS["animals"] and rows[0][2] == "text/plain"
    assert [r[1] for r in rows] == sorted((r[1] for r in rows), reverse=True)


def test_recompute_fits_landmarks_and_projects_in_batches(corpus):
    url, _ = corpus
    with psycopg.connect(url, autocommit=True) as conn:
        job = conn.execute("CALL dbo.sp_RecomputeAllSpatialProjections(5, 100)").fetchone()[0]
    total = query(url, "SELECT count(*) FROM dbo.AtomEmbeddings")[0][0]
    assert query(url, "SELECT Status, TotalItems, AtomsProcessed FROM dbo.IngestionJobs WHERE JobId = %s", (job,)) == [
        ("Completed", total, total)]
    assert query(url, "SELECT count(*) FROM dbo.AtomEmbeddings WHERE SpatialGeometry IS NULL "
                      "OR SpatialBucketX IS NULL") == [(0,)]
    (variance, sample, active), = query(url, "SELECT ExplainedVariance, SampleSize, IsActive FROM dbo.SpatialLandmarks "
                                              "WHERE IsActive")
    assert 0 < variance < 1 and sample == total and active
    # the stored point is the projection onto the stored axes
    mean, axes, x, y, z, vector = query(url, """
        SELECT l.MeanVector, l.Axes, e.SpatialX, e.SpatialY, e.SpatialZ, e.EmbeddingVector
        FROM dbo.AtomEmbeddings e CROSS JOIN dbo.SpatialLandmarks l WHERE l.IsActive LIMIT 1""")[0]
    basis = np.frombuffer(axes, "<f4").reshape(3, -1).astype(np.float64)
    expected = (np.frombuffer(vector, "<f4") - np.frombuffer(mean, "<f4")) @ basis.T
    assert np.allclose([x, y, z], expected, atol=1e-5)


def test_hybrid_search_uses_the_index_and_is_recorded(corpus):
    url, _ = corpus
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CALL dbo.sp_RecomputeAllSpatialProjections()")
    exact = search(url, query_text="interest rates and bonds", top_k=5, use_hybrid=False)
    wide = search(url, query_text="interest rates and bonds", top_k=5, use_hybrid=True)
    assert [r[0] for r in wide] == [r[0] for r in exact]  # every candidate examined: the same answer
    narrow = search(url, query_text="interest rates and bonds", top_k=3, use_hybrid=True, candidate_count=6)
    assert len(narrow) == 3
    last = query(url, "SELECT Parameters->>'mode', CandidatesExamined, ResultCount, DurationMs > 0 "
                      "FROM dbo.InferenceRequests WHERE RequestType = 'semantic-search' ORDER BY RequestId DESC LIMIT 1")
    assert last == [("hybrid", 6, 3, True)]
    plan = "\n".join(r[0] for r in query(url, """
        EXPLAIN SELECT e.AtomEmbeddingId FROM dbo.AtomEmbeddings e
        ORDER BY e.SpatialGeometry <<->> ST_MakePoint(0, 0, 0) LIMIT 6"""))
    assert "ix_atomembeddings_spatial" in plan.lower() or "Seq Scan" in plan  # tiny tables may not use it


def test_ingest_after_fitting_projects_the_new_embedding(corpus):
    url, _ = corpus
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CALL dbo.sp_RecomputeAllSpatialProjections()")
        atom = conn.execute("CALL dbo.sp_IngestAtom(%s, 'text/plain', NULL, 0, true)",
                            (b"A brand new sentence about owls.",)).fetchone()[0]
    assert query(url, "SELECT SpatialGeometry IS NOT NULL, SpatialBucketZ IS NOT NULL FROM dbo.AtomEmbeddings "
                      "WHERE AtomId = %s", (atom,)) == [(True, True)]


def test_tenants_see_only_their_atoms(corpus):
    url, _ = corpus
    secret = "Tenant seven's secret cat plan."
    for hybrid in (True, False):
        assert secret not in [r[3] for r in search(url, query_text="secret cat plan", top_k=50, use_hybrid=hybrid)]
        assert search(url, query_text="secret cat plan", top_k=1, use_hybrid=hybrid, TenantId=7)[0][3] == secret


def test_category_filters_by_modality(corpus):
    url, _ = corpus
    assert search(url, query_text="cats", top_k=5, category="image") == []


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"query_embedding": np.ones(128, "<f4").tobytes()}, "has 512 bytes (128 float32 values); the embeddings have 384"),
    ({"query_text": "x", "query_embedding": np.ones(384, "<f4").tobytes()}, "exactly one of query_embedding and query_text"),
    ({}, "exactly one of query_embedding and query_text"),
    ({"query_text": "cats", "top_k": 0}, "top_k must be between 1 and 1000"),
    ({"query_text": "   "}, "text 0 is empty"),
])
def test_bad_queries_get_clear_errors(corpus, kwargs, message):
    url, _ = corpus
    with pytest.raises(psycopg.Error) as caught:
        search(url, **kwargs)
    assert message in str(caught.value)


def test_recompute_needs_embeddings(pg_instance, tmp_path):
    from deployer import cli

    url = pg_instance.create_database("empty_search")
    assert cli.main(["publish", "--target", url, "--log-dir", str(tmp_path)]) == 0
    with pytest.raises(psycopg.Error, match="fitting needs at least 4"):
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CALL dbo.sp_RecomputeAllSpatialProjections()")
