"""The vector index behind semantic search: per tenant and embedding type, a set of segments the
database stores and each session loads once.

A segment is either a graph (faiss's HNSW over unit vectors, so inner product is cosine, built
from everything indexed so far and calibrated) or flat (a small matrix scanned exactly: the
embeddings merged since the graph was built). Embeddings not yet in any segment (the raw delta)
are scanned exactly by the caller. A search asks every segment for its best candidates and
merges them; the caller then drops candidates deleted since and reranks the rest on their stored
vectors, so deletes never appear and scores are exact.

The graph's one knob at query time, ef_search (how many candidates the walk keeps), is calibrated
when the graph is built: a sample of the embeddings is held out of the graph while it is built,
their exact top k among the others is compared with the graph's at growing ef_search, the
smallest that reaches policy.TARGET_RECALL is kept with the recall it measured, and then the
held-out embeddings are added. Held out, not merely left out of their own answer: a stored vector
asked of a graph that holds it starts from its own links, which are its nearest neighbours by
construction, and so overstates recall (at 1M synthetic vectors: 0.979 calibrated, 0.930 for
fresh queries). A graph too small to spare a sample uses leave-one-out.

Layout learnt from pgvector and FAISS: pgvector's HNSW keeps its graph in the table's pages and
reads them through shared buffers; here a segment is one value split into chunks (rows of
dbo.VectorIndexChunks) read once per session, and queries run in memory (what pgvector needs the
whole index in shared_buffers for). The cost is memory per session: about 4 x dimension bytes per
vector plus the graph's links (2 x M x 4 bytes).
"""

from __future__ import annotations

import json
import os
import struct
import time
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from hartonomous_ext import policy

FORMAT = 1
_HEADER = struct.Struct("<4sII")  # magic, format, length of the JSON header that follows
_MAGIC = b"HXVI"


class VectorIndexError(ValueError):
    """A segment that cannot be built, stored or read back."""


def _faiss():
    import faiss

    global _faiss_ready
    if not _faiss_ready:
        # one search is one query: OpenMP threads would only spin against the other sessions'
        # searches (a build asks for every core while it runs)
        faiss.omp_set_num_threads(1)
        _faiss_ready = True
    return faiss


_faiss_ready = False


_threads = None


def _one_blas_thread():
    """A search is one query in one session: numpy's BLAS threads would only fight the other
    sessions' searches (2 threads made a 10k-row scan five times slower on a busy 2-core machine)."""
    global _threads
    if _threads is None:
        from threadpoolctl import ThreadpoolController

        _threads = ThreadpoolController()
    return _threads.limit(limits=1, user_api="blas")


def unit_rows(matrix: np.ndarray) -> np.ndarray:
    """float32 rows scaled to unit length (a zero row stays zero: it matches nothing)."""
    matrix = np.ascontiguousarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms == 0, 1, norms)


def matrix_from_bytes(raw: bytes, dimension: int) -> np.ndarray:
    if dimension < 1 or len(raw) % (dimension * 4):
        raise VectorIndexError(f"{len(raw)} bytes are not whole {dimension}-dimensional float32 vectors")
    return np.frombuffer(raw, dtype="<f4").reshape(-1, dimension)


@dataclass
class Segment:
    """One stored segment in memory: ids[i] is the AtomEmbeddingId of row i."""

    kind: str  # 'hnsw' or 'flat'
    dimension: int
    ids: np.ndarray  # int64
    vectors: np.ndarray | None = None  # unit rows (flat segments)
    graph: object | None = None  # faiss.IndexHNSWFlat (hnsw segments)
    ef_search: int | None = None
    info: dict = field(default_factory=dict)

    @property
    def count(self) -> int:
        return int(self.ids.size)

    def nbytes(self) -> int:
        size = self.ids.nbytes
        if self.vectors is not None:
            size += self.vectors.nbytes
        if self.graph is not None:
            m = self.info.get("m", policy.HNSW_M)
            size += self.count * (self.dimension * 4 + 2 * m * 4)
        return size

    def matrix(self) -> np.ndarray:
        """The segment's unit vectors (for an exact scan), without copying a graph's storage."""
        if self.vectors is not None:
            return self.vectors
        faiss = _faiss()
        storage = faiss.downcast_index(self.graph.storage)
        return faiss.rev_swig_ptr(storage.get_xb(), self.count * self.dimension).reshape(self.count, self.dimension)

    def search(self, query: np.ndarray, k: int, exact: bool = False) -> tuple[np.ndarray, np.ndarray, int]:
        """(ids, cosine scores, vectors compared) of the segment's k best for a unit query, best first."""
        k = min(k, self.count)
        if k < 1:
            return np.empty(0, np.int64), np.empty(0, np.float32), 0
        if self.graph is not None and not exact:
            faiss = _faiss()
            params = faiss.SearchParametersHNSW()
            params.efSearch = max(int(self.ef_search or policy.HNSW_MIN_EF), k)
            faiss.cvar.hnsw_stats.reset()
            scores, rows = self.graph.search(query.reshape(1, -1), k, params=params)
            compared = int(faiss.cvar.hnsw_stats.ndis)
            rows, scores = rows[0], scores[0]
            keep = rows >= 0
            return self.ids[rows[keep]], scores[keep], compared
        ids, scores = top_k_rows(self.matrix(), self.ids, query, k)
        return ids, scores, self.count


def top_k_rows(matrix: np.ndarray, ids: np.ndarray, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact: the k rows of `matrix` (unit rows) with the highest inner product with `query`."""
    k = min(k, len(ids))
    if k < 1:
        return np.empty(0, np.int64), np.empty(0, np.float32)
    scores = matrix @ query
    best = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
    best = best[np.argsort(-scores[best], kind="stable")]
    return ids[best], scores[best]


def build_flat(ids: np.ndarray, vectors: np.ndarray) -> Segment:
    vectors = unit_rows(vectors)
    return Segment("flat", vectors.shape[1], np.asarray(ids, np.int64), vectors=vectors,
                   info={"count": int(len(ids))})


def build_graph(ids: np.ndarray, vectors: np.ndarray, m: int = policy.HNSW_M,
                ef_construction: int = policy.HNSW_EF_CONSTRUCTION,
                target_recall: float = policy.TARGET_RECALL, seed: int = 0) -> Segment:
    """An HNSW segment over the vectors, with ef_search calibrated (see the module's docstring)."""
    faiss = _faiss()
    vectors = unit_rows(vectors)
    ids = np.asarray(ids, np.int64)
    count, dimension = vectors.shape
    if count < 1:
        raise VectorIndexError("a graph needs at least one vector")
    held = min(policy.CALIBRATION_QUERIES, count // 10)
    if held >= MIN_HELD_OUT:
        # the sample goes last: the graph's rows are its vectors in the order they were added
        picks = np.random.default_rng(seed).choice(count, size=held, replace=False)
        order = np.concatenate([np.setdiff1d(np.arange(count), picks), picks])
        vectors, ids = vectors[order], ids[order]
    graph = faiss.IndexHNSWFlat(dimension, m, faiss.METRIC_INNER_PRODUCT)
    graph.hnsw.efConstruction = ef_construction
    segment = Segment("hnsw", dimension, ids, graph=graph, info={"count": count, "m": m, "ef_construction": ef_construction})
    faiss.omp_set_num_threads(os.cpu_count() or 1)
    try:
        if held >= MIN_HELD_OUT:
            graph.add(vectors[:count - held])
            ef, recall, queries = calibrate_held_out(graph, vectors[:count - held], vectors[count - held:], target_recall)
            graph.add(vectors[count - held:])
        else:
            graph.add(vectors)
            ef, recall, queries = calibrate(segment, vectors, target_recall, seed=seed)
    finally:
        faiss.omp_set_num_threads(1)
    segment.ef_search = ef
    segment.info.update(ef_search=ef, calibrated_recall=recall, calibration_queries=queries,
                        calibration="held out" if held >= MIN_HELD_OUT else "leave one out",
                        target_recall=target_recall)
    return segment


BUILD_MODES = ("auto", "merge", "rebuild", "graph")


def build_action(mode: str, segments: list[tuple[str, int]], delta_count: int) -> str:
    """What one build step does for a type with these active segments (kind, vectors) and this
    many unindexed embeddings: 'none', 'merge' (the delta becomes a flat segment), 'rebuild' (all
    of it one segment: a graph from policy.GRAPH_MIN_VECTORS on, flat below) or 'graph' (all of
    it one graph). Mode 'auto' merges, and rebuilds once the flat segments outgrow
    policy.FLAT_MERGE_SHARE of the graph (without a graph: reach GRAPH_MIN_VECTORS, or number
    more than eight)."""
    if mode not in BUILD_MODES:
        raise VectorIndexError(f"Mode must be 'auto', 'merge', 'rebuild' or 'graph', not {mode!r}")
    if mode == "auto":
        graph_count = sum(count for kind, count in segments if kind == "hnsw")
        flats = [count for kind, count in segments if kind == "flat"]
        pending = sum(flats) + delta_count
        if graph_count:
            grow = pending > max(policy.FLAT_MERGE_SHARE * graph_count, 1000)
        else:
            grow = pending >= policy.GRAPH_MIN_VECTORS or len(flats) + (1 if delta_count else 0) > 8
        mode = "rebuild" if grow else "merge"
    if mode == "merge" and not delta_count:
        return "none"
    return mode


def build_segment(action: str, ids: np.ndarray, vectors: np.ndarray) -> Segment:
    """The segment a build step's action makes of these embeddings (see build_action)."""
    if action == "graph" or (action == "rebuild" and len(ids) >= policy.GRAPH_MIN_VECTORS):
        return build_graph(ids, vectors)
    return build_flat(ids, vectors)


MIN_HELD_OUT = 50  # fewer held-out queries than this measure recall too coarsely: leave-one-out instead


def _exact_top(base: np.ndarray, queries: np.ndarray, k: int, exclude: np.ndarray | None = None) -> np.ndarray:
    """Rows of `base` with the k highest inner products for each query, by blocks of 64 queries;
    `exclude[i]` (a row of base) is kept out of query i's answer."""
    truth = np.empty((len(queries), k), np.int64)
    for start in range(0, len(queries), 64):
        block = base @ queries[start:start + 64].T
        if exclude is not None:
            block[exclude[start:start + 64], np.arange(block.shape[1])] = -np.inf
        truth[start:start + 64] = np.argpartition(-block, k, axis=0)[:k].T
    return truth


def _smallest_ef(search, truth: np.ndarray, target_recall: float, k: int, exclude: np.ndarray | None = None):
    """The first ef_search of policy.EF_SEARCH_STEPS whose recall@k reaches the target (the last
    one if none does), with that recall. `search(ef)` gives each query's graph rows (k + 1 of them
    when `exclude` names a row each query must leave out)."""
    ef, recall = policy.EF_SEARCH_STEPS[-1], 0.0
    for ef in policy.EF_SEARCH_STEPS:
        hits = 0
        for i, row in enumerate(search(ef)):
            found = [r for r in row if r >= 0 and (exclude is None or r != exclude[i])][:k]
            hits += len(set(found) & set(truth[i].tolist()))
        recall = hits / (len(truth) * k)
        if recall >= target_recall:
            break
    return ef, round(recall, 4)


def calibrate_held_out(graph, base: np.ndarray, queries: np.ndarray, target_recall: float,
                       k: int = 10) -> tuple[int, float, int]:
    """(ef_search, recall@k it measured, queries used) for `graph` (over the rows of `base`) on
    queries it does not hold."""
    faiss = _faiss()
    k = min(k, len(base))
    truth = _exact_top(base, queries, k)

    def search(ef):
        params = faiss.SearchParametersHNSW()
        params.efSearch = max(ef, k)
        return graph.search(queries, k, params=params)[1]

    ef, recall = _smallest_ef(search, truth, target_recall, k)
    return ef, recall, len(queries)


def calibrate(segment: Segment, vectors: np.ndarray, target_recall: float, k: int = 10,
              sample: int = policy.CALIBRATION_QUERIES, seed: int = 0) -> tuple[int, float, int]:
    """Leave-one-out, for graphs too small to hold a sample out: (ef_search, recall@k, queries)
    on `sample` stored vectors, each left out of both its exact and its graph answer."""
    faiss = _faiss()
    count = len(vectors)
    if count <= k + 1:
        return policy.HNSW_MIN_EF, 1.0, 0
    picks = np.random.default_rng(seed).choice(count, size=min(sample, count), replace=False)
    queries = vectors[picks]
    truth = _exact_top(vectors, queries, k, exclude=picks)

    def search(ef):
        params = faiss.SearchParametersHNSW()
        params.efSearch = max(ef, k + 1)
        return segment.graph.search(queries, k + 1, params=params)[1]

    ef, recall = _smallest_ef(search, truth, target_recall, k, exclude=picks)
    return ef, recall, len(picks)


# ---- stored form: header + ids + payload, split into chunks by the caller -----------------------

def serialize(segment: Segment) -> bytes:
    header = dict(segment.info, format=FORMAT, kind=segment.kind, dimension=segment.dimension, count=segment.count,
                  ef_search=segment.ef_search)
    encoded = json.dumps(header, sort_keys=True).encode()
    if segment.kind == "hnsw":
        payload = _faiss().serialize_index(segment.graph).tobytes()
    else:
        payload = np.ascontiguousarray(segment.vectors, "<f4").tobytes()
    return b"".join([_HEADER.pack(_MAGIC, FORMAT, len(encoded)), encoded,
                     np.ascontiguousarray(segment.ids, "<i8").tobytes(), payload])


def deserialize(blob: bytes | memoryview) -> Segment:
    view = memoryview(blob)
    if len(view) < _HEADER.size:
        raise VectorIndexError("a stored segment is truncated")
    magic, version, length = _HEADER.unpack(view[:_HEADER.size])
    if magic != _MAGIC or version != FORMAT:
        raise VectorIndexError(f"not a stored segment of format {FORMAT}")
    offset = _HEADER.size
    header = json.loads(bytes(view[offset:offset + length]))
    offset += length
    count, dimension = header["count"], header["dimension"]
    ids = np.frombuffer(view[offset:offset + 8 * count], "<i8").copy()
    offset += 8 * count
    payload = view[offset:]
    if header["kind"] == "hnsw":
        graph = _faiss().deserialize_index(np.frombuffer(payload, np.uint8))
        if graph.ntotal != count or graph.d != dimension:
            raise VectorIndexError("a stored graph does not match its header")
        return Segment("hnsw", dimension, ids, graph=graph, ef_search=header.get("ef_search"), info=header)
    if len(payload) != count * dimension * 4:
        raise VectorIndexError("a stored flat segment does not match its header")
    vectors = np.frombuffer(payload, "<f4").reshape(count, dimension).copy()
    return Segment("flat", dimension, ids, vectors=vectors, info=header)


def chunks(blob: bytes, size: int = policy.INDEX_CHUNK_BYTES):
    view = memoryview(blob)
    for start in range(0, len(view), size):
        yield bytes(view[start:start + size])


# ---- searching a set of segments ----------------------------------------------------------------

def search(segments: list[Segment], query: np.ndarray, k: int, exact: bool = False,
           extra: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray, int]:
    """The k best (ids, scores, vectors compared) over every segment, plus `extra` (ids, unit
    vectors: the raw delta) scanned exactly. `query` must be a unit float32 vector."""
    found_ids, found_scores, compared = [], [], 0
    for segment in segments:
        ids, scores, n = segment.search(query, k, exact=exact)
        found_ids.append(ids)
        found_scores.append(scores)
        compared += n
    if extra is not None and len(extra[0]):
        ids, scores = top_k_rows(extra[1], extra[0], query, k)
        found_ids.append(ids)
        found_scores.append(scores)
        compared += len(extra[0])
    if not found_ids:
        return np.empty(0, np.int64), np.empty(0, np.float32), compared
    ids, scores = np.concatenate(found_ids), np.concatenate(found_scores)
    order = np.argsort(-scores, kind="stable")
    ids, scores = ids[order], scores[order]
    # an embedding merged while the caller read its segments and delta may come twice: keep its best
    _, first = np.unique(ids, return_index=True)
    keep = np.sort(first)[:k]
    return ids[keep], scores[keep], compared


def unit_query(raw: bytes, dimension: int) -> np.ndarray:
    query = matrix_from_bytes(raw, dimension)[0]
    norm = float(np.linalg.norm(query))
    if not np.isfinite(norm) or norm == 0:
        raise VectorIndexError("the query is a zero vector or not finite")
    return (query / norm).astype(np.float32)


class SegmentCache:
    """The loaded segments of one session, per (tenant, embedding type), within a byte budget. A
    segment's stored form never changes (its id is its version): when a key's live segments change,
    the ones no longer live are dropped; past the budget, the least recently used key goes."""

    def __init__(self, budget_bytes: int):
        self.budget = budget_bytes
        self.sets: dict[tuple, dict[int, Segment]] = {}

    def segments(self, key: tuple, live: list[int], load) -> list[Segment]:
        """The segments of `live` (ids) for key, loading with load(segment_id) what is missing."""
        current = self.sets.pop(key, {})
        try:
            loaded = {segment_id: current.get(segment_id) or load(segment_id) for segment_id in live}
        except BaseException:
            self.sets[key] = current  # what was loaded stays loaded
            raise
        self.sets[key] = loaded  # most recent last
        while len(self.sets) > 1 and self.nbytes() > self.budget:
            self.sets.pop(next(iter(self.sets)))
        return [loaded[segment_id] for segment_id in live]

    def nbytes(self) -> int:
        return sum(s.nbytes() for segments in self.sets.values() for s in segments.values())


# ---- one search, whatever the engine: the engine reads, this decides -----------------------------

def search_candidates(top_k: int) -> int:
    """Candidates a search of top_k asks each segment for (search_index; measure_recall asks the same)."""
    return max(top_k * policy.OVERFETCH, 40)


class SearchError(ValueError):
    """A search the caller asked wrongly (dimension, type): a clear message, SQLSTATE 22023."""


class IndexReader(Protocol):
    """What a search reads from its engine, for one tenant (and category, when given)."""

    def state(self) -> tuple[list[tuple[int, str, int]], dict[tuple[str, int], int]]:
        """The active segments (id, embedding type, dimension) and the raw delta's size per
        (embedding type, dimension), read together (one snapshot)."""

    def delta(self, embedding_type: str, dimension: int) -> tuple[list[int], bytes]:
        """The raw delta of one type: ids and their float32 vectors concatenated."""

    def segment_ids(self, embedding_type: str, dimension: int) -> list[int]:
        """The active segments of one type, read again (after the delta)."""

    def segment(self, segment_id: int) -> bytes | None:
        """A segment's stored bytes; None when it was retired since it was listed."""

    def live(self, ids: list[int], embedding_type: str, dimension: int) -> set[int]:
        """Of these ids, those whose embeddings still exist, of the tenant and category: the check
        that drops deleted embeddings (a segment keeps them until it is rebuilt)."""


def resolve_type(types: dict[str, set[int]], requested: str | None, dimension: int, tenant: int) -> str | None:
    """The embedding type a query of `dimension` searches: `requested` (one of the tenant's types,
    of that dimension), else the tenant's one type of that dimension; None when the tenant has
    nothing stored at all (an empty result, not an error)."""
    described = ", ".join(f"{t} ({'/'.join(str(d) for d in sorted(ds))})" for t, ds in sorted(types.items())) or "none"
    if requested is not None:
        if types and requested not in types:  # spelled exactly: a name differing in case is another type
            raise SearchError(f"tenant {tenant} has no embedding type {requested} (its types: {described})")
        if requested in types and dimension not in types[requested]:
            raise SearchError(f"embedding type {requested} has {'/'.join(str(d) for d in sorted(types[requested]))} "
                              f"dimensions; the query has {dimension}")
        return requested
    matching = sorted(t for t, dims in types.items() if dimension in dims)
    if len(matching) > 1:
        raise SearchError(f"{len(matching)} embedding types of tenant {tenant} have {dimension} dimensions "
                          f"({', '.join(matching)}): give EmbeddingType")
    if not matching and (types or dimension != policy.EMBEDDING_DIMENSION):
        raise SearchError(f"no embedding type of tenant {tenant} has {dimension} dimensions (its types: {described})")
    return matching[0] if matching else None


@dataclass
class SearchResult:
    rows: list[tuple[int, float]]  # (AtomEmbeddingId, cosine), best first
    searched: str | None
    examined: int
    mode: str


def search_index(reader: IndexReader, cache: SegmentCache, tenant: int, requested_type: str | None, query: bytes,
                 top_k: int, exact: bool = False) -> SearchResult:
    """The top_k embeddings nearest the query by cosine (see the module's docstring): search_many
    of one query."""
    return search_many(reader, cache, tenant, requested_type, [query], top_k, exact)[0]


def _unit_queries(queries: list[bytes]) -> list[np.ndarray]:
    units = []
    for position, query in enumerate(queries):
        where = f"query {position + 1}: " if len(queries) > 1 else ""
        if query is None or len(query) == 0 or len(query) % 4:
            raise SearchError(f"{where}the query must be float32 values as bytes")
        try:
            units.append(unit_query(query, len(query) // 4))
        except VectorIndexError as exc:
            raise SearchError(f"{where}{exc}") from None
    return units


def _load(reader: IndexReader, cache: SegmentCache, tenant: int, searched: str, dimension: int, active, pending):
    """The segments and the raw delta (ids, unit rows; None when empty) of one type and dimension,
    read once: (segments, delta ids, extra)."""
    live_ids = [s for s, t, d in active if t == searched and d == dimension]
    for attempt in range(3):
        try:
            delta_ids, delta_vectors = ([], b"")
            if pending.get((searched, dimension)):
                delta_ids, delta_vectors = reader.delta(searched, dimension)
                # a merge may have moved delta rows into a new segment since state(): list them again
                live_ids = reader.segment_ids(searched, dimension)

            def load(segment_id):
                stored = reader.segment(segment_id)
                if stored is None:
                    raise LookupError(segment_id)
                try:
                    return deserialize(stored)
                except Exception as exc:  # read while a rebuild retired it: part of its chunks
                    raise LookupError(segment_id) from exc

            segments = cache.segments((tenant, searched, dimension), live_ids, load)
            break
        except LookupError:
            if attempt == 2:
                raise SearchError("the vector index changed during the search; try again") from None
            active, pending = reader.state()
            live_ids = [s for s, t, d in active if t == searched and d == dimension]
    extra = None
    if delta_ids:
        extra = (np.asarray(delta_ids, np.int64), unit_rows(matrix_from_bytes(delta_vectors, dimension)))
    return segments, delta_ids, extra


def search_many(reader: IndexReader, cache: SegmentCache, tenant: int, requested_type: str | None,
                queries: list[bytes], top_k: int, exact: bool = False) -> list[SearchResult]:
    """search_index for each of many queries, one SearchResult per query in order, each the one a
    search of that query alone gives: the state, the segments and the raw delta are read once per
    (type, dimension) the queries search, not once per query, and the candidates of all the queries
    are checked against the engine (reader.live) together."""
    if top_k is None or not 1 <= top_k <= policy.MAX_TOP_K:
        raise SearchError(f"top_k must be between 1 and {policy.MAX_TOP_K}")
    if queries is None:
        raise SearchError("the queries must be a list of float32 vectors as bytes")
    units = _unit_queries(list(queries))
    if not units:
        return []
    active, pending = reader.state()
    types: dict[str, set[int]] = {}
    for _, embedding_type, dims in active:
        types.setdefault(embedding_type, set()).add(dims)
    for embedding_type, dims in pending:
        types.setdefault(embedding_type, set()).add(dims)
    by_dimension: dict[int, list[int]] = {}
    for position, unit in enumerate(units):
        by_dimension.setdefault(unit.size, []).append(position)
    results: list[SearchResult | None] = [None] * len(units)
    for dimension, members in by_dimension.items():
        searched = resolve_type(types, requested_type, dimension, tenant)
        if searched is None:
            for position in members:
                results[position] = SearchResult([], None, 0, "index: nothing stored")
            continue
        segments, delta_ids, extra = _load(reader, cache, tenant, searched, dimension, active, pending)
        for position, result in zip(members, _rank(reader, segments, delta_ids, extra, [units[i] for i in members],
                                                   top_k, exact, searched, dimension)):
            results[position] = result
    return results


def _rank(reader: IndexReader, segments: list[Segment], delta_ids: list[int], extra, units: list[np.ndarray],
          top_k: int, exact: bool, searched: str, dimension: int) -> list[SearchResult]:
    """Each unit query's top_k over the loaded segments and delta, its candidates checked with
    reader.live (one call for all the queries of a round)."""
    total = sum(s.count for s in segments) + len(delta_ids)
    # per query: candidates asked for, whether the scan is exact, and the answer once settled
    k = [search_candidates(top_k)] * len(units)
    scan_exact = [exact] * len(units)
    settled: list[tuple | None] = [None] * len(units)
    waiting = list(range(len(units)))
    while waiting:
        found = {}
        with _one_blas_thread():
            for q in waiting:
                found[q] = search(segments, units[q], k[q], exact=scan_exact[q], extra=extra)
        # the best top_k first: when they all still exist (the usual case) that is the answer
        asked = {i for q in waiting for i in found[q][0][:top_k].tolist()}
        live = reader.live(sorted(asked), searched, dimension) if asked else set()
        short = [q for q in waiting
                 if sum(i in live for i in found[q][0][:top_k].tolist()) < min(top_k, len(found[q][0]))]
        more = {i for q in short for i in found[q][0].tolist()} - asked
        if more:
            live = set(live) | reader.live(sorted(more), searched, dimension)
        again = []
        for q in waiting:
            ids, scores, examined = found[q]
            keep = [i for i, one in enumerate(ids.tolist()) if one in live]
            # deleted since indexed, or of another category: dropped; enough left, or nothing more to find
            if len(keep) >= min(top_k, total) or k[q] >= total:
                settled[q] = (ids, scores, examined, keep)
            else:
                k[q] = min(k[q] * 8, total)
                scan_exact[q] = scan_exact[q] or k[q] > 1000  # past a thousand candidates a graph walk costs more than a scan
                again.append(q)
        waiting = again
    graphs = [s for s in segments if s.kind == "hnsw"]
    flat = sum(s.count for s in segments if s.kind == "flat")
    results = []
    for q, (ids, scores, examined, keep) in enumerate(settled):
        if scan_exact[q] or not graphs:
            mode = f"exact: {sum(s.count for s in segments)} indexed + {len(delta_ids)} delta"
        else:
            mode = (f"index: hnsw of {graphs[0].count} (ef_search {graphs[0].ef_search}) + {flat} flat "
                    f"+ {len(delta_ids)} delta")
        # the scores are exact: a graph compares the query with each candidate's stored vector too
        rows = [(int(ids[i]), float(scores[i])) for i in keep[:top_k]]
        results.append(SearchResult(rows, searched, examined, mode))
    return results


class MemoryIndexReader:
    """An IndexReader over data its engine handed over whole: how SQL Server runs a search, since
    a script there cannot query back (sp_execute_external_script's input data set and parameters).
    `segments`: (id, type, dimension) of the tenant's active segments; `pending`: the raw delta's
    size per (type, dimension); `stored`: the bytes of the segments handed over; `delta`: (ids,
    vectors) of the searched type's raw delta; `live`: every embedding id of the type, tenant
    and category."""

    def __init__(self, segments, pending, stored, delta, live):
        self._segments, self._pending, self._stored = list(segments), dict(pending), dict(stored)
        self._delta, self._live = delta, set(live)

    def state(self):
        return self._segments, self._pending

    def delta(self, embedding_type, dimension):
        return self._delta

    def segment_ids(self, embedding_type, dimension):
        return [s for s, t, d in self._segments if t == embedding_type and d == dimension]

    def segment(self, segment_id):
        return self._stored.get(segment_id)

    def live(self, ids, embedding_type, dimension):
        return self._live.intersection(ids)


# ---- the search recall of the index path, measured (the autonomous loop's search_recall) ---------

@dataclass
class RecallMeasure:
    recall: float  # recall@k of the index path against exact, over the sample
    queries: int  # stored embeddings used as queries
    k: int
    embeddings: int  # vectors in the segments measured
    seconds: float


def recall_sample(ids: np.ndarray, size: int, seed: int) -> np.ndarray:
    """`size` of these ids (or all of them when fewer), picked at random by `seed` among the ids in
    order: the same seed picks the same embeddings whatever order the segments hold them in."""
    ordered = np.unique(np.asarray(ids, np.int64))
    if size >= len(ordered):
        return ordered
    return np.sort(np.random.default_rng(seed).choice(ordered, size=size, replace=False))


def measure_recall(segments: list[Segment], sample_size: int = policy.LOOP_RECALL_SAMPLE, k: int = 10,
                   seed: int = 0) -> RecallMeasure:
    """Recall@k of the index path (search: each graph at its calibrated ef_search asked for the
    candidates search_index asks, flat segments exactly) against the exact top k over the same
    segments, for a sample of the segments' own embeddings used as queries (recall_sample).
    Each query is left out of both answers: a stored vector is its own nearest neighbour, and
    counting it would only say the graph finds itself. The raw delta is not measured: it is
    scanned exactly on both paths. Cost: the sample's graph walks plus one exact scan of the
    segments' vectors (_exact_top, as calibration uses: sample x embeddings x dimension
    multiply-adds), and a copy of them."""
    started = time.perf_counter()
    segments = [s for s in segments if s.count]
    total = sum(s.count for s in segments)
    if k < 1:
        raise VectorIndexError(f"k must be at least 1, not {k}")
    if not segments or total < 2:
        return RecallMeasure(1.0, 0, k, total, time.perf_counter() - started)
    dimensions = {s.dimension for s in segments}
    if len(dimensions) > 1:
        raise VectorIndexError(f"segments of several dimensions ({sorted(dimensions)}) cannot be measured together")
    # each id's stored vector once (an id in two segments is a merge in flight: its first copy)
    seen: set[int] = set()
    id_parts, vector_parts = [], []
    for segment in segments:
        first = np.array([i not in seen and not seen.add(i) for i in segment.ids.tolist()], bool)
        id_parts.append(segment.ids[first])
        vector_parts.append(segment.matrix()[first])
    ids = np.concatenate(id_parts)
    base = np.concatenate(vector_parts).astype(np.float32)
    picked = recall_sample(ids, sample_size, seed)
    position = {i: n for n, i in enumerate(ids.tolist())}
    rows = np.array([position[i] for i in picked.tolist()], np.int64)
    queries = base[rows]
    k = min(k, len(ids) - 1)
    with _one_blas_thread():
        truth = ids[_exact_top(base, queries, k, exclude=rows)]  # each query left out of its own answer
        hits = 0
        for query, own, expected in zip(queries, picked.tolist(), truth):
            found, _, _ = search(segments, query, search_candidates(k) + 1)
            answer = [i for i in found.tolist() if i != own][:k]
            hits += len(set(answer) & set(expected.tolist()))
    return RecallMeasure(round(hits / (len(picked) * k), 4), len(picked), k, total, time.perf_counter() - started)
