"""hartonomous_ext.vector_index without a database: segments built, stored, read back and searched.

The data are clustered unit vectors (points near a few hundred centres, in a 64-d space): enough
structure for a graph to matter, and an exact answer numpy can check."""

from __future__ import annotations

import numpy as np
import pytest

from hartonomous_ext import policy, vector_index


def clustered(n: int, dimension: int = 64, centres: int = 200, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    middle = rng.normal(size=(centres, dimension))
    return (middle[rng.integers(0, centres, n)] + rng.normal(scale=0.6, size=(n, dimension))).astype(np.float32)


def exact_ids(vectors: np.ndarray, ids: np.ndarray, query: np.ndarray, k: int) -> list[int]:
    unit = vector_index.unit_rows(vectors)
    return ids[np.argsort(-(unit @ query), kind="stable")[:k]].tolist()


@pytest.fixture(scope="module")
def graph_and_data():
    data = clustered(6100)
    vectors, held_out = data[:6000], vector_index.unit_rows(data[6000:])
    ids = np.arange(1000, 7000, dtype=np.int64)
    return vector_index.build_graph(ids, vectors, seed=1), vectors, ids, held_out


def test_a_graph_is_calibrated_to_the_target_recall_and_keeps_it_on_new_queries(graph_and_data):
    graph, vectors, ids, queries = graph_and_data
    assert graph.kind == "hnsw" and graph.count == 6000
    assert graph.ef_search in policy.EF_SEARCH_STEPS
    assert graph.info["calibrated_recall"] >= policy.TARGET_RECALL
    hits = sum(len(set(graph.search(q, 10)[0].tolist()) & set(exact_ids(vectors, ids, q, 10))) for q in queries)
    assert hits / 1000 >= 0.95


def test_calibration_holds_its_queries_out_of_the_graph_it_measures(graph_and_data):
    # a stored vector asked of a graph that holds it starts from its own links and overstates recall:
    # the sample is held out while the graph is built, measured, then added
    graph, _, ids, _ = graph_and_data
    assert graph.info["calibration"] == "held out" and graph.info["calibration_queries"] == policy.CALIBRATION_QUERIES
    assert sorted(graph.ids.tolist()) == ids.tolist() and graph.graph.ntotal == 6000
    small = vector_index.build_graph(np.arange(300), clustered(300, seed=3))
    assert small.info["calibration"] == "leave one out" and small.count == 300


def test_a_stored_graph_reads_back_and_answers_the_same(graph_and_data):
    graph, vectors, ids, queries = graph_and_data
    blob = vector_index.serialize(graph)
    again = vector_index.deserialize(b"".join(vector_index.chunks(blob, size=100_000)))
    assert (again.kind, again.count, again.dimension, again.ef_search) == ("hnsw", 6000, 64, graph.ef_search)
    query = queries[0]
    first, again_found = graph.search(query, 10), again.search(query, 10)
    assert first[0].tolist() == again_found[0].tolist()
    # the graph's storage is the exact scan's matrix: no second copy of the vectors
    # (its rows in the graph's order: the calibration sample was added last)
    assert np.allclose(again.matrix(), vector_index.unit_rows(vectors)[again.ids - 1000], atol=1e-6)
    assert again.search(query, 10, exact=True)[0].tolist() == exact_ids(vectors, ids, query, 10)


def test_a_flat_segment_is_exact_and_reads_back():
    vectors = clustered(500, seed=4)
    ids = np.arange(500, dtype=np.int64) * 3
    flat = vector_index.deserialize(vector_index.serialize(vector_index.build_flat(ids, vectors)))
    query = vector_index.unit_rows(clustered(1, seed=5))[0]
    found, scores, compared = flat.search(query, 7)
    assert found.tolist() == exact_ids(vectors, ids, query, 7) and compared == 500
    assert np.all(np.diff(scores) <= 0)


def test_segments_and_the_delta_merge_into_one_answer_without_duplicates():
    vectors = clustered(900, seed=8)
    ids = np.arange(900, dtype=np.int64)
    first = vector_index.build_flat(ids[:400], vectors[:400])
    second = vector_index.build_flat(ids[300:700], vectors[300:700])  # 300..399 in both
    delta = (ids[650:], vector_index.unit_rows(vectors[650:]))  # 650..699 again
    query = vector_index.unit_rows(clustered(1, seed=9))[0]
    found, scores, compared = vector_index.search([first, second], query, 20, extra=delta)
    assert found.tolist() == exact_ids(vectors, ids, query, 20)
    assert len(set(found.tolist())) == 20 and compared == 400 + 400 + 250


def test_bad_stored_bytes_and_bad_queries_are_refused():
    with pytest.raises(vector_index.VectorIndexError, match="truncated"):
        vector_index.deserialize(b"HX")
    with pytest.raises(vector_index.VectorIndexError, match="not a stored segment"):
        vector_index.deserialize(b"NOPE" + bytes(64))
    flat = vector_index.serialize(vector_index.build_flat(np.arange(3), clustered(3)))
    with pytest.raises(vector_index.VectorIndexError, match="does not match its header"):
        vector_index.deserialize(flat[:-4])
    with pytest.raises(vector_index.VectorIndexError, match="zero vector"):
        vector_index.unit_query(bytes(16), 4)
    with pytest.raises(vector_index.VectorIndexError, match="not whole 4-dimensional"):
        vector_index.matrix_from_bytes(bytes(18), 4)


def test_the_cache_drops_segments_no_longer_live_and_keeps_to_its_budget():
    loads = []

    def load(segment_id):
        loads.append(segment_id)
        return vector_index.build_flat(np.arange(100), clustered(100, seed=segment_id))

    one_segment = load(0).nbytes()
    loads.clear()
    cache = vector_index.SegmentCache(budget_bytes=3 * one_segment)
    cache.segments((0, "t", 64), [1, 2], load)
    cache.segments((0, "t", 64), [2, 3], load)  # 1 retired: dropped, 2 kept
    assert loads == [1, 2, 3]
    assert sorted(cache.sets[(0, "t", 64)]) == [2, 3]
    cache.segments((1, "t", 64), [4, 5], load)  # over budget: the least recently used key goes
    assert list(cache.sets) == [(1, "t", 64)]
    assert cache.nbytes() <= 3 * one_segment


def test_a_type_is_resolved_by_dimension_or_refused_clearly():
    types = {"minilm": {384}, "bert": {768}}
    assert vector_index.resolve_type(types, None, 768, 0) == "bert"
    assert vector_index.resolve_type(types, "minilm", 384, 0) == "minilm"
    assert vector_index.resolve_type({}, None, 384, 0) is None  # nothing stored: nothing found
    with pytest.raises(vector_index.SearchError, match=r"tenant 0 has no embedding type MINILM \(its types: bert"):
        vector_index.resolve_type(types, "MINILM", 384, 0)
    assert vector_index.resolve_type({}, "minilm", 384, 0) == "minilm"  # nothing stored yet: nothing found
    with pytest.raises(vector_index.SearchError, match=r"no embedding type of tenant 3 has 500 dimensions "
                                                       r"\(its types: bert \(768\), minilm \(384\)\)"):
        vector_index.resolve_type(types, None, 500, 3)
    with pytest.raises(vector_index.SearchError, match="embedding type bert has 768 dimensions; the query has 384"):
        vector_index.resolve_type(types, "bert", 384, 0)
    with pytest.raises(vector_index.SearchError, match=r"2 embedding types of tenant 0 have 384 dimensions \(a, minilm\)"):
        vector_index.resolve_type({**types, "a": {384}}, None, 384, 0)


def test_a_search_through_a_memory_reader_drops_deleted_ids_and_other_categories(graph_and_data):
    graph, vectors, ids, queries = graph_and_data
    stored = {7: vector_index.serialize(graph)}
    delta_vectors = clustered(30, seed=21)
    delta_ids = list(range(50_000, 50_030))
    live = set(ids.tolist()) | set(delta_ids)
    query = queries[3]
    exact = exact_ids(np.vstack([vectors, delta_vectors]), np.concatenate([ids, delta_ids]), query, 10)
    deleted = set(exact[:3])
    reader = vector_index.MemoryIndexReader([(7, "t", 64)], {("t", 64): 30}, stored,
                                            (delta_ids, np.asarray(delta_vectors, "<f4").tobytes()), live - deleted)
    cache = vector_index.SegmentCache(1 << 30)
    found = vector_index.search_index(reader, cache, 0, None, query.astype("<f4").tobytes(), 10, exact=True)
    expected = [i for i in exact_ids(np.vstack([vectors, delta_vectors]), np.concatenate([ids, delta_ids]), query, 13)
                if i not in deleted]
    assert [i for i, _ in found.rows] == expected[:10]
    assert found.searched == "t" and found.mode == "exact: 6000 indexed + 30 delta"
    approximate = vector_index.search_index(reader, cache, 0, "t", query.astype("<f4").tobytes(), 10)
    assert approximate.mode.startswith("index: hnsw of 6000") and not deleted & {i for i, _ in approximate.rows}
    scores = [s for _, s in approximate.rows]
    assert scores == sorted(scores, reverse=True) and len(scores) == 10
    with pytest.raises(vector_index.SearchError, match="top_k must be between 1 and 1000"):
        vector_index.search_index(reader, cache, 0, None, query.astype("<f4").tobytes(), 0)


def test_the_recall_of_an_exact_index_is_measured_as_one(graph_and_data):
    _, vectors, ids, _ = graph_and_data
    flats = [vector_index.build_flat(ids[:4000], vectors[:4000]), vector_index.build_flat(ids[4000:], vectors[4000:])]
    measured = vector_index.measure_recall(flats, sample_size=20, k=10, seed=3)
    assert (measured.recall, measured.queries, measured.k, measured.embeddings) == (1.0, 20, 10, 6000)
    # the same seed picks the same embeddings whatever order the segments hold them in
    assert vector_index.recall_sample(ids[::-1], 20, 3).tolist() == vector_index.recall_sample(ids, 20, 3).tolist()


def test_a_weak_graph_measures_the_recall_a_brute_force_count_finds(graph_and_data):
    _, vectors, ids, _ = graph_and_data
    # a graph built with few links and searched at the smallest ef_search: it misses many neighbours
    weak = vector_index.build_graph(ids, vectors, m=4, ef_construction=8, seed=1)
    weak.ef_search = policy.HNSW_MIN_EF
    flat = vector_index.build_flat(np.arange(90_000, 90_100), clustered(100, seed=30))
    measured = vector_index.measure_recall([weak, flat], sample_size=20, k=10, seed=5)
    # brute force: each sampled embedding's exact 10 nearest others among all 6,100, against what the
    # graph (asked for search_index's candidates) and the flat segment give, merged by score
    every_id = np.concatenate([ids, flat.ids])
    every = vector_index.unit_rows(np.vstack([vectors, clustered(100, seed=30)]))
    picked = vector_index.recall_sample(every_id, 20, 5)
    hits = 0
    for own in picked.tolist():
        query = every[np.flatnonzero(every_id == own)[0]]
        exact = [i for i in every_id[np.argsort(-(every @ query), kind="stable")].tolist() if i != own][:10]
        asked = vector_index.search_candidates(10) + 1
        found = [weak.search(query, asked), flat.search(query, asked)]
        merged = sorted(zip(np.concatenate([f[1] for f in found]).tolist(), np.concatenate([f[0] for f in found]).tolist()),
                        reverse=True)
        answer = [i for _, i in merged if i != own][:10]
        hits += len(set(answer) & set(exact))
    assert measured.queries == 20 and measured.embeddings == 6100
    assert measured.recall == round(hits / 200, 4)
    assert measured.recall < policy.TARGET_RECALL - policy.LOOP_RECALL_TOLERANCE
    # the same graph at the ef_search its calibration chose is back at the target
    weak.ef_search = weak.info["ef_search"]
    assert vector_index.measure_recall([weak, flat], sample_size=20, k=10, seed=5).recall > measured.recall


class CountingReader(vector_index.MemoryIndexReader):
    """A memory reader that counts what a search reads from its engine."""

    def __init__(self, *args):
        super().__init__(*args)
        self.calls = {"state": 0, "delta": 0, "segment": 0, "live": 0}

    def state(self):
        self.calls["state"] += 1
        return super().state()

    def delta(self, embedding_type, dimension):
        self.calls["delta"] += 1
        return super().delta(embedding_type, dimension)

    def segment(self, segment_id):
        self.calls["segment"] += 1
        return super().segment(segment_id)

    def live(self, ids, embedding_type, dimension):
        self.calls["live"] += 1
        return super().live(ids, embedding_type, dimension)


def test_a_batch_search_answers_each_query_as_its_own_search_and_reads_once(graph_and_data):
    graph, vectors, ids, queries = graph_and_data
    delta_vectors = clustered(40, seed=22)
    delta_ids = list(range(60_000, 60_040))
    every = np.vstack([vectors, delta_vectors])
    every_id = np.concatenate([ids, delta_ids])
    batch = [q.astype("<f4").tobytes() for q in queries[:25]] + [delta_vectors[3].astype("<f4").tobytes()]
    # deleted: the best three of the first query (its answer must reach past them) and most of the
    # neighbours of the second (fewer than top_k left among the first candidates: a wider round)
    deleted = set(exact_ids(every, every_id, queries[0], 3))
    deleted |= set(exact_ids(every, every_id, queries[1], 150)[:140])
    live = (set(ids.tolist()) | set(delta_ids)) - deleted

    def reader():
        return CountingReader([(7, "t", 64)], {("t", 64): 40}, {7: vector_index.serialize(graph)},
                              (delta_ids, np.asarray(delta_vectors, "<f4").tobytes()), live)

    for exact in (False, True):
        cache = vector_index.SegmentCache(1 << 30)
        one_by_one = [vector_index.search_index(reader(), cache, 0, "t", q, 10, exact) for q in batch]
        batched_reader = reader()
        batched = vector_index.search_many(batched_reader, vector_index.SegmentCache(1 << 30), 0, "t", batch, 10, exact)
        assert [r.rows for r in batched] == [r.rows for r in one_by_one]
        assert [(r.searched, r.examined, r.mode) for r in batched] == [(r.searched, r.examined, r.mode) for r in one_by_one]
        # the segment and the delta read once for the batch, the candidates checked together
        assert batched_reader.calls["state"] == 1 and batched_reader.calls["delta"] == 1
        assert batched_reader.calls["segment"] == 1
        assert batched_reader.calls["live"] <= 4
        assert not deleted & {i for r in batched for i, _ in r.rows}
        assert all(len(r.rows) == 10 for r in batched)
    # the second query needed the wider round: its answer is still exact past the deleted ones
    expected = [i for i in exact_ids(every, every_id, queries[1], 200) if i not in deleted][:10]
    assert [i for i, _ in batched[1].rows] == expected
    assert batched[25].rows[0] == (60_003, pytest.approx(1.0, abs=1e-5))  # a delta vector finds itself


def test_a_batch_search_of_several_dimensions_resolves_each_and_refuses_a_bad_query_by_position():
    small, large = clustered(50, dimension=8, seed=40), clustered(60, dimension=16, seed=41)
    stored = {1: vector_index.serialize(vector_index.build_flat(np.arange(50), small)),
              2: vector_index.serialize(vector_index.build_flat(np.arange(100, 160), large))}
    reader = vector_index.MemoryIndexReader([(1, "eight", 8), (2, "sixteen", 16)], {}, stored, ([], b""),
                                            set(range(50)) | set(range(100, 160)))
    cache = vector_index.SegmentCache(1 << 30)
    batch = [large[5].astype("<f4").tobytes(), small[7].astype("<f4").tobytes(), large[9].astype("<f4").tobytes()]
    found = vector_index.search_many(reader, cache, 0, None, batch, 3)
    assert [r.searched for r in found] == ["sixteen", "eight", "sixteen"]
    assert [r.rows[0][0] for r in found] == [105, 7, 109]
    assert [r.rows for r in found] == [vector_index.search_index(reader, cache, 0, None, q, 3).rows for q in batch]
    assert vector_index.search_many(reader, cache, 0, None, [], 3) == []
    with pytest.raises(vector_index.SearchError, match="query 2: the query is a zero vector"):
        vector_index.search_many(reader, cache, 0, None, [batch[0], bytes(32)], 3)
    with pytest.raises(vector_index.SearchError, match="query 3: the query must be float32 values as bytes"):
        vector_index.search_many(reader, cache, 0, None, [batch[0], batch[1], None], 3)
    with pytest.raises(vector_index.SearchError, match="embedding type eight has 8 dimensions; the query has 16"):
        vector_index.search_many(reader, cache, 0, "eight", batch, 3)
    # one query alone keeps the single search's words
    with pytest.raises(vector_index.SearchError, match="^the query is a zero vector"):
        vector_index.search_many(reader, cache, 0, None, [bytes(32)], 3)
