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
def corpus(published):
    url = published
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


def test_exact_search_in_batches_gives_the_same_answer(corpus):
    url, _ = corpus
    whole = search(url, query_text="bank interest", top_k=7, use_hybrid=False)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET hartonomous.search_scan_batch = 4")
        batched = conn.execute("SELECT AtomId, Score FROM dbo.sp_SemanticSearch(query_text => 'bank interest', "
                               "top_k => 7, use_hybrid => false)").fetchall()
        examined = conn.execute("SELECT CandidatesExamined FROM dbo.InferenceRequests ORDER BY RequestId DESC "
                                "LIMIT 1").fetchone()[0]
    assert [r[0] for r in batched] == [r[0] for r in whole]
    assert np.allclose([r[1] for r in batched], [r[1] for r in whole])
    assert examined == query(url, "SELECT count(*) FROM dbo.Atoms a JOIN dbo.AtomEmbeddings e USING (AtomId) "
                                  "WHERE a.TenantId = 0")[0][0]
    # bucket probes in groups (here one bucket a group) give the answer of one pass over all of them
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CALL dbo.sp_RecomputeAllSpatialProjections(100, 100, BucketCount => 6)")
        sql = ("SELECT AtomId, Score FROM dbo.sp_SemanticSearch(query_text => 'bank interest', top_k => 7, "
               "probes => 3)")
        whole = conn.execute(sql).fetchall()
        conn.execute("SET hartonomous.search_scan_batch = 1")
        grouped = conn.execute(sql).fetchall()
    assert [r[0] for r in grouped] == [r[0] for r in whole] and len(whole) == 7


def test_probing_most_buckets_is_an_exact_scan(corpus):
    url, _ = corpus
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CALL dbo.sp_RecomputeAllSpatialProjections(100, 100, BucketCount => 6)")
        modes = []
        for probes in (3, 4):  # half of 6 buckets, then more
            rows = conn.execute("SELECT AtomId FROM dbo.sp_SemanticSearch(query_text => 'bank interest', top_k => 7, "
                                "prefilter => 'buckets', probes => %s)", (probes,)).fetchall()
            modes.append(conn.execute("SELECT Parameters->>'mode' FROM dbo.InferenceRequests "
                                      "ORDER BY RequestId DESC LIMIT 1").fetchone()[0])
        exact = conn.execute("SELECT AtomId FROM dbo.sp_SemanticSearch(query_text => 'bank interest', top_k => 7, "
                             "use_hybrid => 0)").fetchall()
    assert modes == ["hybrid: 3 of 6 buckets", "exact (probes cover most buckets)"]
    assert rows == exact


def test_recompute_fits_landmarks_and_projects_in_batches(corpus):
    url, _ = corpus
    with psycopg.connect(url, autocommit=True) as conn:
        job = conn.execute("CALL dbo.sp_RecomputeAllSpatialProjections(5, 100)").fetchone()[0]
    total = query(url, "SELECT count(*) FROM dbo.AtomEmbeddings")[0][0]
    assert query(url, "SELECT Status, TotalItems, AtomsProcessed FROM dbo.IngestionJobs WHERE IngestionJobId = %s", (job,)) == [
        ("Completed", total, total)]
    assert query(url, "SELECT count(*) FROM dbo.AtomEmbeddings WHERE SpatialGeometry IS NULL "
                      "OR SpatialBucketX IS NULL OR VectorBucket IS NULL") == [(0,)]
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
    # vector buckets: sqrt(25) = 5 unit-length k-means centres; each embedding is in its nearest one's bucket
    (count, centroids), = query(url, "SELECT CentroidCount, Centroids FROM dbo.SpatialLandmarks WHERE IsActive")
    assert count == round(total ** 0.5)
    centres = np.frombuffer(centroids, "<f4").reshape(count, -1).astype(np.float64)
    assert np.allclose(np.linalg.norm(centres, axis=1), 1, atol=1e-5)
    rows = query(url, "SELECT EmbeddingVector, VectorBucket FROM dbo.AtomEmbeddings ORDER BY AtomEmbeddingId")
    vectors = np.vstack([np.frombuffer(v, "<f4") for v, _ in rows])
    assert [b for _, b in rows] == np.argmax(vectors @ centres.T, axis=1).tolist()
    assert len({b for _, b in rows}) > 1


def test_hybrid_search_uses_the_index_and_is_recorded(corpus):
    url, _ = corpus
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CALL dbo.sp_RecomputeAllSpatialProjections()")
    text = "interest rates and bonds"
    exact = search(url, query_text=text, top_k=5, use_hybrid=False)
    buckets = query(url, "SELECT CentroidCount FROM dbo.SpatialLandmarks WHERE IsActive")[0][0]
    last_request = ("SELECT Parameters->>'mode', CandidatesExamined, ResultCount, DurationMs > 0 "
                    "FROM dbo.InferenceRequests WHERE TaskType = 'semantic-search' ORDER BY RequestId DESC LIMIT 1")
    total = query(url, "SELECT count(*) FROM dbo.Atoms a JOIN dbo.AtomEmbeddings e USING (AtomId) WHERE a.TenantId = 0")[0][0]
    # every bucket probed, or enough spatial candidates: every embedding examined, the exact answer
    for kwargs in ({"prefilter": "buckets", "probes": buckets}, {"prefilter": "spatial", "candidate_count": 1000}):
        wide = search(url, query_text=text, top_k=5, use_hybrid=True, **kwargs)
        assert [r[0] for r in wide] == [r[0] for r in exact]
        assert query(url, last_request)[0][1] == total
    # one bucket: the best three of the members of the bucket whose centre is nearest the query
    (centroids, q), = query(url, "SELECT Centroids, dbo.fn_GenerateEmbedding(%s) FROM dbo.SpatialLandmarks "
                                 "WHERE IsActive", (text,))
    nearest = int(np.argmax(np.frombuffer(centroids, "<f4").reshape(buckets, -1) @ np.frombuffer(q, "<f4")))
    members = query(url, "SELECT e.AtomId, e.EmbeddingVector FROM dbo.AtomEmbeddings e JOIN dbo.Atoms a USING (AtomId) "
                         "WHERE e.VectorBucket = %s AND a.TenantId = 0", (nearest,))
    scores = {atom: float(np.frombuffer(v, "<f4") @ np.frombuffer(q, "<f4")) for atom, v in members}
    top = min(3, len(members))
    one = search(url, query_text=text, top_k=top, use_hybrid=True, prefilter="buckets", probes=1)
    assert [r[0] for r in one] == sorted(scores, key=lambda a: -scores[a])[:top]
    assert query(url, last_request) == [(f"hybrid: 1 of {buckets} buckets", len(members), top, True)]
    assert len(members) < total
    narrow = search(url, query_text=text, top_k=3, use_hybrid=True, prefilter="spatial", candidate_count=6)
    assert len(narrow) == 3
    assert query(url, last_request) == [("hybrid: spatial", 6, 3, True)]
    # both pre-filters can go through their index (the tiny table would otherwise be scanned)
    with psycopg.connect(url) as conn:
        conn.execute("SET enable_seqscan = off")
        plans = ["\n".join(r[0] for r in conn.execute(sql)) for sql in (
            "EXPLAIN SELECT e.AtomEmbeddingId FROM dbo.AtomEmbeddings e "
            "ORDER BY e.SpatialGeometry <<->> ST_MakePoint(0, 0, 0) LIMIT 6",
            "EXPLAIN SELECT e.AtomEmbeddingId FROM dbo.AtomEmbeddings e WHERE e.VectorBucket = ANY ('{1,2}')")]
    assert "ix_atomembeddings_spatial" in plans[0].lower()
    assert "ix_atomembeddings_vectorbucket" in plans[1].lower()


def test_ingest_after_fitting_projects_the_new_embedding(corpus):
    url, _ = corpus
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CALL dbo.sp_RecomputeAllSpatialProjections()")
        atom = conn.execute("CALL dbo.sp_IngestAtom(%s, 'text/plain', NULL, 0, true)",
                            (b"A brand new sentence about owls.",)).fetchone()[0]
    assert query(url, "SELECT SpatialGeometry IS NOT NULL, SpatialBucketZ IS NOT NULL, VectorBucket IS NOT NULL "
                      "FROM dbo.AtomEmbeddings WHERE AtomId = %s", (atom,)) == [(True, True, True)]


def test_tenants_see_only_their_atoms(corpus):
    url, _ = corpus
    secret = "Tenant seven's secret cat plan."
    for hybrid in (True, False):
        assert secret not in [r[3] for r in search(url, query_text="secret cat plan", top_k=50, use_hybrid=hybrid)]
        assert search(url, query_text="secret cat plan", top_k=1, use_hybrid=hybrid, TenantId=7, probes=1000)[0][3] == secret


def test_category_filters_by_modality(corpus):
    url, _ = corpus
    assert search(url, query_text="cats", top_k=5, category="image") == []


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"query_vector": np.ones(128, "<f4").tobytes()}, "no embedding type of tenant 0 has 128 dimensions (its types: all-MiniLM-L6-v2 (384))"),
    ({"query_vector": np.ones(384, "<f4").tobytes(), "query_dimension": 768}, "has 384 dimensions, not the 768 of query_dimension"),
    ({"query_text": "x", "query_vector": np.ones(384, "<f4").tobytes()}, "exactly one of query_embedding, query_vector and query_text"),
    ({}, "exactly one of query_embedding, query_vector and query_text"),
    ({"query_embedding": "[0.1, 0.2, 0.3]", "query_dimension": 768}, "query_embedding has 3 values, but the dimension given is 768"),
    ({"query_embedding": "[0.1, 0.2, 0.3]"}, "no embedding type of tenant 0 has 3 dimensions"),
    ({"query_embedding": "[0.1, 0.2, 0.3]", "prefilter": "buckets"},
     "prefilter buckets searches the 384-dimension embeddings the landmarks were fitted on; the query has 3 dimensions"),
    ({"query_embedding": "[0.123, 0.456, ...]"}, "query_embedding is not a JSON array of numbers"),
    ({"query_embedding": '["a"]'}, "query_embedding holds a value that is not a number"),
    ({"query_text": "cats", "use_hybrid": "maybe"}, "use_hybrid: 'maybe' is not 1/0 or true/false"),
    ({"query_text": "cats", "top_k": 0}, "top_k must be between 1 and 1000"),
    ({"query_text": "   "}, "sp_SemanticSearch: query_text is empty"),  # before any Python runs
    ({"query_text": " \t\r\n"}, "sp_SemanticSearch: query_text is empty"),
    ({"query_text": "cats", "prefilter": "random"}, "prefilter must be 'index', 'buckets' or 'spatial', not random"),
    ({"query_text": "cats", "probes": 0}, "probes and candidate_count must be at least 1"),
    ({"query_text": "cats", "candidate_count": 200001}, "candidate_count must be at most 200000"),
])
def test_bad_queries_get_clear_errors(corpus, kwargs, message):
    url, _ = corpus
    with pytest.raises(psycopg.Error) as caught:
        search(url, **kwargs)
    assert message in str(caught.value)


def test_recompute_needs_embeddings(fresh_published):
    url = fresh_published
    with pytest.raises(psycopg.Error, match="fitting needs at least 4"):
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CALL dbo.sp_RecomputeAllSpatialProjections()")


def test_monitoring_views_count_embeddings_and_coverage(corpus):
    url, _ = corpus
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CALL dbo.sp_RecomputeAllSpatialProjections()")
        # an embedding without its 3-D point (as after a bulk load, before the next recompute)
        conn.execute("UPDATE dbo.AtomEmbeddings SET SpatialGeometry = NULL, VectorBucket = NULL "
                     "WHERE AtomEmbeddingId = (SELECT min(AtomEmbeddingId) FROM dbo.AtomEmbeddings)")
    total = query(url, "SELECT count(*) FROM dbo.AtomEmbeddings")[0][0]
    assert query(url, "SELECT * FROM dbo.vw_EmbeddingCountsByType") == [
        ("all-MiniLM-L6-v2", total, 384.0, 0, total - 1, total - 1)]
    (count, projected, percent), = query(url, "SELECT * FROM dbo.vw_SpatialProjectionCoverage")
    assert (count, projected) == (total, total - 1)
    assert float(percent) == round(100 * (total - 1) / total, 2)


def test_a_failed_recompute_leaves_its_job_failed_with_the_reason(fresh_published):
    """A Python error in the fit (here: one vector of another dimension) ends the job Failed with
    the error, instead of leaving it Running forever; the caller still gets the error."""
    url = fresh_published
    rng = np.random.default_rng(7)
    with psycopg.connect(url, autocommit=True) as conn:
        for i in range(6):
            atom = conn.execute("CALL dbo.sp_IngestAtom(%s, 'text/plain')", (f"mixed dimensions {i}".encode(),)).fetchone()[0]
            dimension = 3 if i == 5 else 8
            conn.execute("INSERT INTO dbo.AtomEmbeddings (AtomId, EmbeddingType, Dimension, EmbeddingVector) "
                         "VALUES (%s, 'mixed', %s, %s)",
                         (atom, dimension, rng.standard_normal(dimension).astype("<f4").tobytes()))
        with pytest.raises(psycopg.Error, match=r"sp_RecomputeAllSpatialProjections: .*dimensions"):
            conn.execute("CALL dbo.sp_RecomputeAllSpatialProjections(EmbeddingType => 'mixed', BucketCount => 1)")
    (status, error, completed), = query(url, "SELECT Status, ErrorMessage, EndTime IS NOT NULL FROM dbo.IngestionJobs "
                                             "WHERE JobType = 'spatial-projection' ORDER BY IngestionJobId DESC LIMIT 1")
    assert status == "Failed" and "dimensions" in error and completed
