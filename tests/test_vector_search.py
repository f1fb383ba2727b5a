"""Semantic search through the vector index on PostgreSQL: recall on real text at the default
settings, new embeddings found at once, deleted ones never returned, several embedding types of
their own dimensions side by side, and wrong dimensions refused.

The real text is Debian's package descriptions (tools.corpus), embedded here by the code the
database runs (hartonomous_ext.embeddings); ground truth is the exact top 10 by cosine."""

from __future__ import annotations

import json

import numpy as np
import psycopg
import pytest

from conftest import query
from hartonomous_ext import embeddings
from tools.corpus import debian_descriptions

K = 10


def load(url: str, vectors: np.ndarray, embedding_type: str = "all-MiniLM-L6-v2", tenant: int = 0,
         first_id: int = 1, modality: str = "text") -> list[int]:
    """Atoms and embeddings by COPY, as a bulk load would: ids first_id, first_id + 1, ..."""
    ids = list(range(first_id, first_id + len(vectors)))
    with psycopg.connect(url, autocommit=True) as conn, conn.cursor() as cur:
        with cur.copy("COPY dbo.Atoms (AtomId, TenantId, ContentHash, ContentType, Modality, ContentSize) FROM STDIN") as cp:
            for i in ids:
                cp.write_row((i, tenant, i.to_bytes(32, "big"), "text/plain" if modality == "text" else "image/png",
                              modality, 1))
        with cur.copy("COPY dbo.AtomEmbeddings (AtomEmbeddingId, AtomId, EmbeddingType, Dimension, EmbeddingVector) "
                      "FROM STDIN") as cp:
            for i, vector in zip(ids, vectors):
                cp.write_row((i, i, embedding_type, len(vector), np.asarray(vector, "<f4").tobytes()))
    return ids


def search(url: str, vector: np.ndarray, **options) -> list[int]:
    named = "".join(f", {name} => %({name})s" for name in options)
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(f"SELECT AtomId FROM dbo.sp_SemanticSearch(query_vector => %(q)s{named})",
                            {"q": np.asarray(vector, "<f4").tobytes(), **options}).fetchall()
    return [r[0] for r in rows]


def last_mode(url: str) -> str:
    return query(url, "SELECT Parameters->>'mode' FROM dbo.InferenceRequests ORDER BY RequestId DESC LIMIT 1")[0][0]


def exact_top(vectors: np.ndarray, ids: list[int], vector: np.ndarray, k: int = K) -> list[int]:
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    order = np.argsort(-(unit @ (vector / np.linalg.norm(vector))), kind="stable")[:k]
    return [ids[i] for i in order]


@pytest.fixture(scope="module")
def real_text():
    """5,000 descriptions to search and 100 held-out queries, a fixed random sample."""
    texts = [text for text, _ in debian_descriptions()]
    pick = np.random.default_rng(14).choice(len(texts), 5100, replace=False)
    vectors = embeddings.embed([texts[i] for i in pick], batch_size=128)
    return vectors[:5000], vectors[5000:]


@pytest.fixture(scope="module")
def indexed(published, real_text):
    base, _ = real_text
    ids = load(published, base)
    with psycopg.connect(published, autocommit=True) as conn:
        conn.execute("CALL dbo.sp_BuildVectorIndex(Mode => 'graph')")
    return published, ids


def test_the_build_is_a_calibrated_graph_with_its_job_row(indexed):
    url, _ = indexed
    (kind, count, ef, recall), = query(url, "SELECT Kind, VectorCount, EfSearch, CalibratedRecall "
                                            "FROM dbo.VectorIndexSegments WHERE IsActive")
    assert (kind, count) == ("hnsw", 5000) and ef >= 16 and recall >= 0.97
    (status, done, params), = query(url, "SELECT Status, AtomsProcessed, Parameters FROM dbo.IngestionJobs "
                                         "WHERE JobType = 'vector-index' ORDER BY IngestionJobId DESC LIMIT 1")
    assert (status, done) == ("Completed", 1)
    assert params["segments"][0]["ef_search"] == ef and params["vectors"] == 5000
    assert query(url, "SELECT count(*) FROM dbo.AtomEmbeddings WHERE NOT Indexed") == [(0,)]


def test_real_text_recall_at_the_default_settings(indexed, real_text):
    url, ids = indexed
    base, queries = real_text
    hits = 0
    for vector in queries:
        found = search(url, vector)
        assert len(found) == K
        hits += len(set(found) & set(exact_top(base, ids, vector)))
    assert "index: hnsw of 5000" in last_mode(url)
    assert hits / (len(queries) * K) >= 0.95


def test_the_exact_path_is_exact(indexed, real_text):
    url, ids = indexed
    base, queries = real_text
    for vector in queries[:10]:
        assert search(url, vector, use_hybrid=0) == exact_top(base, ids, vector)
    assert last_mode(url).startswith("exact: 5000 indexed")


def test_a_new_embedding_is_found_at_once_and_a_deleted_one_never(indexed, real_text):
    url, ids = indexed
    base, queries = real_text
    new_id = load(url, queries[:1], first_id=900001)[0]
    assert search(url, queries[0])[0] == new_id
    assert "+ 1 delta" in last_mode(url)
    assert search(url, queries[0], use_hybrid=0)[0] == new_id
    gone = exact_top(base, ids, queries[1], 1)[0]
    assert search(url, queries[1])[0] == gone
    query(url, "DELETE FROM dbo.Atoms WHERE AtomId = %s", (gone,))
    assert gone not in search(url, queries[1]) and gone not in search(url, queries[1], use_hybrid=0)
    assert len(search(url, queries[1])) == K
    # merged into a flat segment: still found, still exact about deletes
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CALL dbo.sp_BuildVectorIndex(Mode => 'merge')")
    assert query(url, "SELECT Kind, VectorCount FROM dbo.VectorIndexSegments WHERE IsActive ORDER BY SegmentId") == [
        ("hnsw", 5000), ("flat", 1)]
    assert search(url, queries[0])[0] == new_id and "+ 1 flat + 0 delta" in last_mode(url)
    assert gone not in search(url, queries[1])


def test_types_of_other_dimensions_are_searched_beside_and_wrong_dimensions_refused(fresh_published):
    url = fresh_published
    rng = np.random.default_rng(3)
    small = rng.normal(size=(300, 384)).astype("<f4")
    large = rng.normal(size=(300, 768)).astype("<f4")
    small_ids = load(url, small)
    large_ids = load(url, large, embedding_type="test-768", first_id=1001)
    found = search(url, large[7])
    assert found[0] == large_ids[7] and set(found) <= set(large_ids)
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute("SELECT AtomId FROM dbo.sp_SemanticSearch(query_embedding => %s, query_dimension => 768)",
                            (json.dumps(large[9].tolist()),)).fetchall()
        assert rows[0][0] == large_ids[9]
        conn.execute("CALL dbo.sp_BuildVectorIndex()")
    assert search(url, small[5])[0] == small_ids[5]
    assert search(url, large[5])[0] == large_ids[5]
    assert sorted(query(url, "SELECT EmbeddingType, Dimension, Kind FROM dbo.VectorIndexSegments WHERE IsActive")) == [
        ("all-MiniLM-L6-v2", 384, "flat"), ("test-768", 768, "flat")]
    with pytest.raises(psycopg.errors.InvalidParameterValue,
                       match=r"no embedding type of tenant 0 has 500 dimensions \(its types: all-MiniLM-L6-v2 \(384\), "
                             r"test-768 \(768\)\)"):
        search(url, rng.normal(size=500))
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="embedding type test-768 has 768 dimensions; the query has 384"):
        search(url, small[0], EmbeddingType="test-768")
    # a second 384-dimension type: the type must be named
    load(url, rng.normal(size=(5, 384)), embedding_type="other-384", first_id=5001)
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="2 embedding types of tenant 0 have 384 dimensions"):
        search(url, small[0])
    assert search(url, small[5], EmbeddingType="all-MiniLM-L6-v2")[0] == small_ids[5]


def test_tenants_and_categories_are_kept_apart(fresh_published):
    url = fresh_published
    rng = np.random.default_rng(5)
    mine = rng.normal(size=(200, 384)).astype("<f4")
    theirs = mine + rng.normal(scale=0.01, size=mine.shape).astype("<f4")  # near copies, another tenant
    mine_ids = load(url, mine)
    theirs_ids = load(url, theirs, tenant=7, first_id=2001)
    images = load(url, mine[:50] * 1.0001, first_id=3001, modality="image")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CALL dbo.sp_BuildVectorIndex(Mode => 'graph')")
    for hybrid in (1, 0):
        found = search(url, mine[3], use_hybrid=hybrid, top_k=30)
        assert not set(found) & set(theirs_ids)
        assert search(url, mine[3], TenantId=7, use_hybrid=hybrid)[0] == theirs_ids[3]
        text_only = search(url, mine[3], category="text", use_hybrid=hybrid, top_k=20)
        assert text_only[0] == mine_ids[3] and not set(text_only) & set(images)
        assert search(url, mine[3], category="image", use_hybrid=hybrid)[0] == images[3]


def test_bad_requests_are_refused_and_change_nothing(fresh_published):
    url = fresh_published
    load(url, np.random.default_rng(1).normal(size=(50, 384)))
    with psycopg.connect(url, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.InvalidParameterValue, match="Mode must be 'auto', 'merge', 'rebuild' or 'graph'"):
            conn.execute("CALL dbo.sp_BuildVectorIndex(Mode => 'everything')")
        with pytest.raises(psycopg.errors.InvalidParameterValue, match="the query must have 1 to 1998 float32 values"):
            conn.execute("SELECT * FROM dbo.sp_SemanticSearch(query_vector => %s)", (bytes(1999 * 4),))
        with pytest.raises(psycopg.errors.InvalidParameterValue, match="zero vector"):
            conn.execute("SELECT * FROM dbo.sp_SemanticSearch(query_vector => %s)", (bytes(384 * 4),))
        with pytest.raises(psycopg.errors.InvalidParameterValue, match="prefilter must be 'index', 'buckets' or 'spatial'"):
            conn.execute("SELECT * FROM dbo.sp_SemanticSearch(query_vector => %s, prefilter => 'graph')", (bytes(16),))
    assert query(url, "SELECT count(*) FROM dbo.VectorIndexSegments") == [(0,)]
    assert query(url, "SELECT count(*) FROM dbo.IngestionJobs WHERE JobType = 'vector-index'") == [(0,)]
