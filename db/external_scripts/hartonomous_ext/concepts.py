"""Concept discovery over a tenant's embeddings: density clusters, c-TF-IDF labels, multi-label
memberships, evolution across runs, and binding one new atom to the concepts found.

The method is BERTopic's, without UMAP (not in the database's Python, and nothing is downloaded):

1. reduce: PCA of the unit vectors to CONCEPT_REDUCED_DIMENSIONS (numpy's SVD on a sample), rows
   normalized again, so cosine stays the geometry. Density estimates are steadier in fewer
   dimensions, and every later step is cheaper (bench/results/concepts.md measures with and without).
2. neighbours: each point's CONCEPT_NEIGHBOURS nearest neighbours (exact inner product, faiss when
   it is there, numpy otherwise), the only all-pairs work, O(n^2 d) in blocks.
3. hierarchy: HDBSCAN* on that k-nearest-neighbour graph: core distance = distance to the
   min_samples-th neighbour, mutual reachability on the graph's edges, its minimum spanning forest
   (scipy), the forest's parts joined by edges longer than any other; the tree goes to
   scikit-learn's HDBSCAN as a sparse precomputed distance matrix, which condenses it and selects
   the clusters (excess of mass). Exact HDBSCAN builds its tree from all n^2 distances (Prim's),
   minutes at 100k rows on two cores; the graph's tree differs from it only in edges longer than
   a point's k-th neighbour, far above the density levels where clusters are chosen.
4. concepts: the density step says how many concepts there are and where; HDBSCAN leaves most
   atoms of this kind of data as noise (about 80% of the Debian descriptions), so CONCEPT_REFINE_ITERATIONS
   rounds of spherical k-means start from the clusters' centroids (normalized means of their full
   vectors) and let each concept take the atoms nearest it (refine). A concept's coherence is the
   mean cosine of its atoms to its centroid (for unit vectors, the length of their mean vector: 1
   when all are one point, near 0 when scattered). Concepts below the coherence threshold are
   dropped, and the largest max_concepts kept. HDBSCAN's leaves (not excess of mass, which on
   this data picks one or two giant clusters at 10k atoms) with min_cluster_size growing with the
   data (default_min_cluster_size): bench/results/concepts.md.
5. memberships: an atom belongs to every concept whose centroid it is at least
   CONCEPT_MEMBERSHIP_SIMILARITY close to, at most CONCEPT_MAX_PER_ATOM of them, the nearest being
   its primary concept. This is the rule bind() applies to a new atom, so an atom bound on arrival
   and the same atom in the next discovery run land in the same concepts. An atom close to no
   centroid is an outlier (BERTopic's topic -1).
6. labels: c-TF-IDF over the primary members' texts (ctfidf_labels).
7. evolution: against the previous run's concepts (ids, centroids, primary members), by the
   atoms they share (evolve).

Everything here is numpy in, numpy out; no database. Both engines' procedures read the tenant's
embeddings and texts, call discover() or bind(), and write the result into their tables.
"""

from __future__ import annotations

import os
import re
import time
from typing import Callable, Hashable, Sequence

import numpy as np

from hartonomous_ext.policy import (
    CONCEPT_ATOMS_PER_MIN_CLUSTER,
    CONCEPT_EVOLUTION_SHARE,
    CONCEPT_GROWTH,
    CONCEPT_KEYWORDS,
    CONCEPT_MATCH_SIMILARITY,
    CONCEPT_MAX_PER_ATOM,
    CONCEPT_MEMBERSHIP_SIMILARITY,
    CONCEPT_MIN_CLUSTER_SIZE,
    CONCEPT_MIN_SAMPLES,
    CONCEPT_NEIGHBOURS,
    CONCEPT_PCA_SAMPLE,
    CONCEPT_REDUCED_DIMENSIONS,
    CONCEPT_REFINE_ITERATIONS,
    CONCEPT_SELECTION,
)

STAGES = ("validate", "reduce", "neighbours", "hierarchy", "concepts", "memberships", "labels", "evolution")
CLUSTERERS = ("hdbscan", "hdbscan-exact", "dbscan")
LABEL_WORDS = 3  # a concept's label is its three most distinctive words
_WORD = re.compile(r"(?u)\b[^\W\d_][\w+#.-]*[\w+#]\b|\b[^\W\d_]\b")

Progress = Callable[[str, float], None]


# --- validation ---------------------------------------------------------------------------------

def as_matrix(vectors, name: str = "vectors", dimension: int | None = None) -> np.ndarray:
    """A float32 (n, d) matrix of unit rows from an array or a list of float32-byte vectors.
    Raises ValueError for no rows, ragged or wrong dimensions, NaN or infinite values, zero rows."""
    if vectors is None:
        raise ValueError(f"{name}: none given")
    if isinstance(vectors, np.ndarray):
        matrix = vectors
    else:
        rows = list(vectors)
        if not rows:
            raise ValueError(f"{name}: empty, there is nothing to cluster or compare")
        if isinstance(rows[0], (bytes, bytearray, memoryview)):
            from hartonomous_ext.vectors import from_bytes

            rows = [from_bytes(r, f"{name}[{i}]") for i, r in enumerate(rows)]
        sizes = {np.asarray(r).size for r in rows}
        if len(sizes) > 1:
            raise ValueError(f"{name}: the rows have different dimensions ({sorted(sizes)})")
        matrix = np.vstack([np.asarray(r, dtype=np.float64).reshape(1, -1) for r in rows])
    if matrix.ndim == 1:
        matrix = matrix.reshape(1, -1)
    if matrix.ndim != 2:
        raise ValueError(f"{name}: expected a 2-d array (rows of vectors), got {matrix.ndim} dimensions")
    if matrix.shape[0] == 0 or matrix.shape[1] == 0:
        raise ValueError(f"{name}: empty, there is nothing to cluster or compare")
    if dimension is not None and matrix.shape[1] != dimension:
        raise ValueError(f"{name}: {matrix.shape[1]} dimensions, expected {dimension}")
    try:
        matrix = np.asarray(matrix, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: not numbers ({exc})") from None
    finite = np.isfinite(matrix).all(axis=1)
    if not finite.all():
        raise ValueError(f"{name}: row {int(np.argmin(finite))} contains NaN or infinite values")
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    if (norms == 0).any():
        raise ValueError(f"{name}: row {int(np.argmin(norms.ravel()))} is all zeros and has no direction")
    return matrix / norms


def _report(progress: Progress | None, stage: str, done: float) -> None:
    if progress is not None:
        progress(stage, done)


# --- clustering ---------------------------------------------------------------------------------

def reduce(matrix: np.ndarray, dimensions: int, sample: int = CONCEPT_PCA_SAMPLE, seed: int = 0) -> np.ndarray:
    """PCA of unit rows to `dimensions` (fitted on at most `sample` rows), rows normalized again.
    0, or at least the input's dimensions, returns the input unchanged."""
    n, d = matrix.shape
    if dimensions <= 0 or dimensions >= d or n <= dimensions:
        return matrix
    rows = matrix if n <= sample else matrix[np.random.default_rng(seed).choice(n, sample, replace=False)]
    mean = rows.mean(axis=0)
    _, _, vt = np.linalg.svd(rows - mean, full_matrices=False)
    reduced = (matrix - mean) @ vt[:dimensions].T
    norms = np.linalg.norm(reduced, axis=1, keepdims=True)
    return (reduced / np.where(norms == 0, 1, norms)).astype(np.float32)


def nearest_neighbours(matrix: np.ndarray, k: int, block: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """(similarities, indices) of each unit row's k nearest other rows by inner product, nearest
    first: faiss's exact flat index when faiss is installed, numpy blocks otherwise."""
    n = matrix.shape[0]
    k = min(k, n - 1)
    x = np.ascontiguousarray(matrix, dtype=np.float32)
    try:
        import faiss
    except ImportError:
        faiss = None
    if faiss is not None:
        threads = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(os.cpu_count() or 1)  # a build: every core, then back (vector_index asks for one)
        try:
            index = faiss.IndexFlatIP(x.shape[1])
            index.add(x)
            sims, ids = index.search(x, k + 1)
        finally:
            faiss.omp_set_num_threads(threads)
    else:
        sims = np.empty((n, k + 1), dtype=np.float32)
        ids = np.empty((n, k + 1), dtype=np.int64)
        for start in range(0, n, block):
            scores = x[start:start + block] @ x.T
            part = np.argpartition(-scores, k, axis=1)[:, :k + 1]
            part_scores = np.take_along_axis(scores, part, axis=1)
            order = np.argsort(-part_scores, axis=1, kind="stable")
            ids[start:start + block] = np.take_along_axis(part, order, axis=1)
            sims[start:start + block] = np.take_along_axis(part_scores, order, axis=1)
    # drop each row itself (duplicates may put it second: remove it wherever it is, else the last)
    own = ids == np.arange(n)[:, None]
    drop = np.where(own.any(axis=1), np.argmax(own, axis=1), k)
    keep = np.ones_like(own)
    keep[np.arange(n), drop] = False
    return sims[keep].reshape(n, k), ids[keep].reshape(n, k)


def knn_hdbscan(matrix: np.ndarray, min_cluster_size: int, min_samples: int = CONCEPT_MIN_SAMPLES,
                neighbours: int = CONCEPT_NEIGHBOURS, selection: str = "eom", max_cluster_size: int | None = None,
                progress: Progress | None = None) -> np.ndarray:
    """HDBSCAN* cluster labels (-1 for noise) of unit rows, from their k-nearest-neighbour graph
    (see the module's step 3). Cosine distance, 1 - similarity."""
    from scipy.sparse import coo_matrix, csgraph
    from sklearn.cluster import HDBSCAN

    n = matrix.shape[0]
    if n < 2:
        return np.full(n, -1, dtype=np.int64)
    k = min(max(neighbours, min_samples), n - 1)
    sims, ids = nearest_neighbours(matrix, k)
    _report(progress, "neighbours", 1.0)
    distance = np.clip(1.0 - sims.astype(np.float64), 1e-9, 2.0)
    core = distance[:, min(min_samples, k) - 1]
    rows = np.repeat(np.arange(n), k)
    reach = np.maximum(np.maximum(core[rows], core[ids.ravel()]), distance.ravel())
    graph = coo_matrix((reach, (rows, ids.ravel())), shape=(n, n)).tocsr()
    graph = graph.maximum(graph.T)  # symmetric: an edge either end found (its weight is the same both ways)
    tree = csgraph.minimum_spanning_tree(graph).tocoo()
    parts, part_of = csgraph.connected_components(tree, directed=False)
    a, b, w = list(tree.row), list(tree.col), list(tree.data)
    if parts > 1:  # a forest: chain its parts with edges longer than any in it (they join last)
        longest = float(max(w, default=1.0)) * 2 + 1.0
        first = np.full(parts, -1)
        first[part_of[::-1]] = np.arange(n)[::-1]
        for p in range(1, parts):
            a.append(first[p - 1])
            b.append(first[p])
            w.append(longest)
    spanning = coo_matrix((np.concatenate([w, w]), (np.concatenate([a, b]), np.concatenate([b, a]))), shape=(n, n))
    _report(progress, "hierarchy", 0.5)
    # min_samples=1: the core distance sklearn derives is each node's shortest tree edge, which
    # leaves every tree edge (already a mutual reachability distance) as it is
    model = HDBSCAN(min_cluster_size=min_cluster_size, min_samples=1, metric="precomputed",
                    cluster_selection_method=selection, max_cluster_size=max_cluster_size, copy=True)
    return model.fit_predict(spanning.tocsr()).astype(np.int64)


def cluster(matrix: np.ndarray, min_cluster_size: int, clusterer: str = "hdbscan",
            dimensions: int = CONCEPT_REDUCED_DIMENSIONS, min_samples: int = CONCEPT_MIN_SAMPLES,
            selection: str = "eom", eps: float = 0.25, progress: Progress | None = None) -> np.ndarray:
    """Cluster labels (-1 noise) of unit rows. clusterer "hdbscan" is the default (knn_hdbscan);
    "hdbscan-exact" is scikit-learn's HDBSCAN on all pairs, "dbscan" scikit-learn's DBSCAN with
    cosine radius eps: both are kept for bench/concepts.py to measure against."""
    if clusterer not in CLUSTERERS:
        raise ValueError(f"clusterer must be one of {', '.join(CLUSTERERS)}, got {clusterer!r}")
    space = reduce(matrix, dimensions)
    _report(progress, "reduce", 1.0)
    if clusterer == "hdbscan":
        return knn_hdbscan(space, min_cluster_size, min_samples, selection=selection, progress=progress)
    if clusterer == "hdbscan-exact":
        from sklearn.cluster import HDBSCAN

        return HDBSCAN(min_cluster_size=min_cluster_size, min_samples=min_samples,
                       cluster_selection_method=selection).fit_predict(space).astype(np.int64)
    from sklearn.cluster import DBSCAN

    return DBSCAN(eps=eps, min_samples=min_samples, metric="cosine", algorithm="brute").fit_predict(space).astype(np.int64)


def refine(matrix: np.ndarray, labels: np.ndarray, iterations: int, block: int = 16384) -> tuple[np.ndarray, np.ndarray]:
    """Spherical k-means from the density clusters: start from their centroids (normalized means
    of their members), then `iterations` rounds of (every row to its nearest centroid, each centroid
    to the normalized mean of its rows). The density step chooses how many concepts there are and
    where; this lets each concept take the atoms between the dense cores, which HDBSCAN leaves as
    noise. Returns (centroids (m, d) float32, the row's centroid for every row). Centroids that lose
    every row are dropped."""
    from scipy.sparse import csr_matrix

    names = np.unique(labels[labels >= 0])
    n = matrix.shape[0]
    if names.size == 0:
        return np.zeros((0, matrix.shape[1]), np.float32), np.full(n, -1, dtype=np.int64)
    chosen = np.flatnonzero(labels >= 0)
    assign = np.full(n, -1, dtype=np.int64)
    assign[chosen] = np.searchsorted(names, labels[chosen])
    for round_ in range(iterations + 1):
        rows = np.flatnonzero(assign >= 0)
        sums = csr_matrix((np.ones(rows.size, np.float32), (assign[rows], rows)), shape=(int(assign.max()) + 1, n)) @ matrix
        norms = np.linalg.norm(sums, axis=1)
        live = norms > 0
        centroids = (sums[live] / norms[live, None]).astype(np.float32)
        assign[rows] = (np.cumsum(live) - 1)[assign[rows]]  # numbered as the centroids kept
        if round_ == iterations:
            break
        nearest = np.empty(n, dtype=np.int64)
        for start in range(0, n, block):
            nearest[start:start + block] = np.argmax(matrix[start:start + block] @ centroids.T, axis=1)
        if np.array_equal(nearest, assign):
            break
        assign = nearest
    return centroids, assign


# --- labels -------------------------------------------------------------------------------------

def ctfidf_labels(texts: Sequence[str], classes: Sequence[int], top: int = CONCEPT_KEYWORDS,
                  stop_words="english") -> dict[int, list[tuple[str, float]]]:
    """The most distinctive words of each class (c-TF-IDF, as BERTopic computes it): the texts of
    a class are one document; a word's weight in class c is tf(x, c) * log(1 + A / f(x)), where
    tf is the word's count in c divided by all word counts in c, f(x) the word's count in all
    classes and A the mean number of words per class. Common words across classes score low,
    words frequent in one class and rare elsewhere high. Classes below 0 (outliers) are left out.
    Returns {class: [(word, weight), ...]} best first, `top` words at most."""
    from scipy.sparse import csr_matrix
    from sklearn.feature_extraction.text import CountVectorizer

    classes = np.asarray(classes)
    if len(texts) != len(classes):
        raise ValueError(f"{len(texts)} texts but {len(classes)} class labels")
    chosen = np.flatnonzero(classes >= 0)
    names = np.unique(classes[chosen])
    if names.size == 0:
        return {}
    vectorizer = CountVectorizer(token_pattern=None, tokenizer=_WORD.findall, lowercase=True,
                                 stop_words=stop_words)
    try:
        counts = vectorizer.fit_transform([texts[i] or "" for i in chosen])
    except ValueError:  # no words at all (empty vocabulary)
        return {int(c): [] for c in names}
    position = np.searchsorted(names, classes[chosen])
    join = csr_matrix((np.ones(chosen.size), (position, np.arange(chosen.size))), shape=(names.size, chosen.size))
    per_class = (join @ counts).tocsr().astype(np.float64)  # classes x words
    totals = np.asarray(per_class.sum(axis=1)).ravel()
    frequency = np.asarray(per_class.sum(axis=0)).ravel()
    average = totals.mean()
    idf = np.log(1.0 + average / np.maximum(frequency, 1))
    tf = per_class.multiply(1.0 / np.maximum(totals, 1)[:, None]).tocsr()
    weights = tf.multiply(idf[None, :]).tocsr()
    words = vectorizer.get_feature_names_out()
    result = {}
    for row, name in enumerate(names):
        start, end = weights.indptr[row], weights.indptr[row + 1]
        cols, vals = weights.indices[start:end], weights.data[start:end]
        order = np.lexsort((words[cols], -vals))[:top]  # ties: alphabetical, so a label is reproducible
        result[int(name)] = [(str(words[cols[i]]), float(vals[i])) for i in order]
    return result


# --- memberships and binding --------------------------------------------------------------------

def memberships(matrix: np.ndarray, centroids: np.ndarray, threshold: float = CONCEPT_MEMBERSHIP_SIMILARITY,
                max_per_atom: int = CONCEPT_MAX_PER_ATOM, block: int = 65536) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(atom, concept, similarity) arrays: each unit row joins every centroid at least `threshold`
    close (cosine), at most max_per_atom of them, nearest first (the first of an atom is its primary)."""
    atoms, concepts, sims = [], [], []
    if centroids.shape[0] == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0, dtype=np.float32)
    keep = min(max_per_atom, centroids.shape[0])
    for start in range(0, matrix.shape[0], block):
        scores = matrix[start:start + block] @ centroids.T
        best = np.argsort(-scores, axis=1, kind="stable")[:, :keep]
        best_scores = np.take_along_axis(scores, best, axis=1)
        rows, ranks = np.nonzero(best_scores >= threshold)
        atoms.append(rows + start)
        concepts.append(best[rows, ranks])
        sims.append(best_scores[rows, ranks])
    return np.concatenate(atoms).astype(np.int64), np.concatenate(concepts).astype(np.int64), \
        np.concatenate(sims).astype(np.float32)


def bind_batch(vectors, centroids, threshold: float = CONCEPT_MEMBERSHIP_SIMILARITY,
               max_concepts: int = CONCEPT_MAX_PER_ATOM) -> list[list[tuple[int, float]]]:
    """The concepts each of a batch of new atoms joins, in one pass: for every vector, in order,
    [(concept index, cosine similarity)], nearest first, those at least `threshold` close, at most
    max_concepts (memberships(), the rule discover() applies). `vectors` is an (n, d) array or a
    list of float32-byte vectors (no vectors: []); `centroids` an (m, d) array, a list of vectors,
    or m*d float32 bytes."""
    if max_concepts < 1:
        raise ValueError(f"max_concepts must be at least 1, got {max_concepts}")
    if not -1.0 <= threshold <= 1.0:
        raise ValueError(f"threshold is a cosine similarity between -1 and 1, got {threshold}")
    if vectors is None:
        raise ValueError("vectors: none given")
    if (vectors.size if isinstance(vectors, np.ndarray) else len(vectors)) == 0:
        return []
    v = as_matrix(vectors, "vectors")
    if isinstance(centroids, (bytes, bytearray, memoryview)):
        from hartonomous_ext.vectors import from_bytes

        flat = from_bytes(centroids, "centroids") if len(centroids) else np.zeros(0)
        if flat.size % v.shape[1]:
            raise ValueError(f"centroids: {flat.size} values are not a whole number of {v.shape[1]}-d centroids")
        centroids = flat.reshape(-1, v.shape[1])
    chosen: list[list[tuple[int, float]]] = [[] for _ in range(v.shape[0])]
    if (centroids.size if isinstance(centroids, np.ndarray) else len(centroids)) == 0:
        return chosen
    c = as_matrix(centroids, "centroids", dimension=v.shape[1])
    atoms, concept_ids, sims = memberships(v, c, threshold, max_concepts)
    for atom, concept, sim in zip(atoms.tolist(), concept_ids.tolist(), sims.tolist()):
        chosen[atom].append((concept, sim))  # memberships() gives each row's nearest first
    return chosen


def bind(vector, centroids, threshold: float = CONCEPT_MEMBERSHIP_SIMILARITY,
         max_concepts: int = CONCEPT_MAX_PER_ATOM) -> list[tuple[int, float]]:
    """The concepts one new atom joins: bind_batch() for a batch of one. `vector` is a float32-byte
    vector or an array."""
    v = as_matrix([vector] if isinstance(vector, (bytes, bytearray, memoryview)) else np.asarray(vector, dtype=np.float64),
                  "vector")
    if v.shape[0] != 1:
        raise ValueError(f"vector: expected one vector, got {v.shape[0]} rows")
    return bind_batch(v, centroids, threshold, max_concepts)[0]


# --- evolution ----------------------------------------------------------------------------------

def _check_previous(previous: dict, dimension: int) -> None:
    ids, members, centroids = previous.get("ids"), previous.get("members"), previous.get("centroids")
    if ids is None or members is None:
        raise ValueError('previous: needs "ids" and "members" (and "centroids") of the last run\'s concepts')
    if len(members) != len(ids):
        raise ValueError(f"previous: {len(ids)} ids but {len(members)} member sets")
    if centroids is not None and len(ids):
        matrix = as_matrix(centroids, "previous centroids", dimension=dimension)
        if matrix.shape[0] != len(ids):
            raise ValueError(f"previous: {len(ids)} ids but {matrix.shape[0]} centroids")


def evolve(previous: dict, members: list[np.ndarray], atom_ids: np.ndarray, centroids: np.ndarray,
           share: float = CONCEPT_EVOLUTION_SHARE, growth: float = CONCEPT_GROWTH,
           match_similarity: float = CONCEPT_MATCH_SIMILARITY) -> tuple[list, list[dict]]:
    """Match this run's concepts to the previous run's. `previous` holds "ids" (the previous
    concepts' stable ids), "centroids" ((m, d)) and "members" (for each, the atom ids of its primary
    members); `members` are this run's primary members (indexes into atom_ids).

    The atoms both runs hold are the common ground. Old concept i and new concept j are linked when
    at least `share` of i's common atoms went to j, or at least `share` of j's common atoms came
    from i (a small concept absorbed whole into a large one is linked both ways) while at least
    `share` of j's atoms are common ones (a concept of mostly new atoms is born, whatever few old
    atoms it took). An old concept
    whose atoms are all gone is linked by its centroid instead: to the nearest new centroid at least
    match_similarity close. Then, for each new concept: no link -> born; two or more old concepts ->
    merged; its one old concept linked to two or more new ones -> split; otherwise grown, shrunk or
    stable, by the change of its size against `growth`. Old concepts with no link are gone.
    Identities: links in order of shared atoms, an old id continued by at most one new concept (the
    one that took most of it), a new concept continuing at most one old id (the one it took most
    from). Returns (continues: the old id or None per new concept, events)."""
    _check_previous(previous, centroids.shape[1])
    old_ids = list(previous["ids"])
    old_members = list(previous["members"])
    new_count = len(members)
    if not old_ids:
        return [None] * new_count, [{"event": "born", "concept": j, "previous": []} for j in range(new_count)]
    position = {key: i for i, key in enumerate(atom_ids.tolist())}
    old_sets = [np.array(sorted(position[a] for a in set(np.asarray(m).tolist()) if a in position), dtype=np.int64)
                for m in old_members]
    owner = np.full(len(atom_ids), -1, dtype=np.int64)
    for j, m in enumerate(members):
        owner[m] = j
    flow = np.zeros((len(old_ids), new_count), dtype=np.int64)
    for i, atoms in enumerate(old_sets):
        got = owner[atoms]
        got = got[got >= 0]
        if got.size:
            flow[i] += np.bincount(got, minlength=new_count)
    old_common = np.array([s.size for s in old_sets], dtype=np.float64)
    common_mask = np.zeros(len(atom_ids), dtype=bool)
    for s in old_sets:
        common_mask[s] = True
    new_common = np.array([common_mask[m].sum() for m in members], dtype=np.float64)
    out_share = flow / np.maximum(old_common, 1)[:, None]
    in_share = flow / np.maximum(new_common, 1)[None, :]
    # a concept made mostly of atoms the previous run did not hold is new: the few old atoms it took
    # (outliers or strays of older concepts) do not make it their continuation or merge
    new_sizes = np.array([len(m) for m in members], dtype=np.float64)
    in_share[:, new_common < share * np.maximum(new_sizes, 1)] = 0.0
    link = (flow > 0) & ((out_share >= share) | (in_share >= share))
    old_centroids = previous.get("centroids")
    if old_centroids is not None and new_count and len(old_ids):
        old_c = as_matrix(old_centroids, "previous centroids", dimension=centroids.shape[1])
        sims = old_c @ centroids.T
        for i in np.flatnonzero(old_common == 0):
            j = int(np.argmax(sims[i]))
            if sims[i, j] >= match_similarity:
                link[i, j] = True
                flow[i, j] = max(flow[i, j], 1)
    continues: list = [None] * new_count
    taken_old, taken_new = set(), set()
    strength = np.where(link, flow, -1)
    for flat in np.argsort(-strength, axis=None, kind="stable"):
        i, j = divmod(int(flat), new_count)
        if strength[i, j] < 0:
            break
        if i not in taken_old and j not in taken_new:
            continues[j] = old_ids[i]
            taken_old.add(i)
            taken_new.add(j)
    events = []
    old_size = np.array([len(m) for m in old_members], dtype=np.float64)
    for j in range(new_count):
        sources = [int(i) for i in np.flatnonzero(link[:, j])]
        sources.sort(key=lambda i: -flow[i, j])
        if not sources:
            kind = "born"
        elif len(sources) > 1:
            kind = "merged"
        elif link[sources[0]].sum() > 1:
            kind = "split"
        else:
            ratio = len(members[j]) / max(old_size[sources[0]], 1)
            kind = "grown" if ratio >= 1 + growth else "shrunk" if ratio <= 1 - growth else "stable"
        events.append({"event": kind, "concept": j, "previous": [old_ids[i] for i in sources]})
    for i in np.flatnonzero(~link.any(axis=1)):
        events.append({"event": "gone", "concept": None, "previous": [old_ids[int(i)]]})
    return continues, events


# --- discovery ----------------------------------------------------------------------------------

def default_min_cluster_size(atoms: int) -> int:
    """The @MinClusterSize used when none is given: CONCEPT_MIN_CLUSTER_SIZE, or one per
    CONCEPT_ATOMS_PER_MIN_CLUSTER atoms when that is more. HDBSCAN's leaves multiply with the data
    (on the Debian corpus, a fixed 10 gave 65 concepts at 10k atoms and 427 at 60k, where their
    ARI against the sections fell from 0.18 to 0.05); scaling keeps a concept a comparable share."""
    return max(CONCEPT_MIN_CLUSTER_SIZE, atoms // CONCEPT_ATOMS_PER_MIN_CLUSTER)


def discover(vectors, texts: Sequence[str], min_cluster_size: int | None, coherence_threshold: float, max_concepts: int,
             previous: dict | None = None, atom_ids=None, *, membership_similarity: float = CONCEPT_MEMBERSHIP_SIMILARITY,
             max_per_atom: int = CONCEPT_MAX_PER_ATOM, clusterer: str = "hdbscan",
             dimensions: int = CONCEPT_REDUCED_DIMENSIONS, min_samples: int = CONCEPT_MIN_SAMPLES,
             selection: str = CONCEPT_SELECTION, refine_iterations: int = CONCEPT_REFINE_ITERATIONS, eps: float = 0.25,
             progress: Progress | None = None) -> dict:
    """Concepts of a set of embeddings (see the module's steps).

    vectors: (n, d) array or n float32-byte vectors (normalized here); texts: the n atoms' texts
    (for labels; None or "" where an atom has none); min_cluster_size: the fewest atoms a concept
    may start from; coherence_threshold: the least coherence a concept must have (0..1);
    max_concepts: the most concepts kept (the largest); previous: the last run's concepts for
    evolution ({"ids", "centroids", "members"}, see evolve); atom_ids: the atoms' stable ids, which
    previous["members"] refer to (default 0..n-1); progress: called as progress(stage, fraction)
    with the names in STAGES as each finishes.

    Returns {"concepts": [{"centroid" (float32 array), "size" (member atoms), "core" (atoms the
    cluster was found from), "coherence", "label", "keywords" [(word, weight)], "members" (atom
    indexes whose primary concept it is), "continues" (previous id or None)}], "memberships":
    {"atom", "concept", "similarity", "primary"} arrays, "outliers" (atom indexes in no concept),
    "events" (evolve's), "timings" {stage: seconds}}. Concepts are ordered by size, largest first.
    """
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def finished(stage: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[stage] = timings.get(stage, 0.0) + now - clock
        clock = now
        _report(progress, stage, 1.0)

    matrix = as_matrix(vectors)
    n = matrix.shape[0]
    if texts is None:
        texts = [""] * n
    texts = list(texts)
    if len(texts) != n:
        raise ValueError(f"{n} vectors but {len(texts)} texts")
    if min_cluster_size is None:
        min_cluster_size = default_min_cluster_size(n)
    if not isinstance(min_cluster_size, (int, np.integer)) or min_cluster_size < 2:
        raise ValueError(f"min_cluster_size must be an integer of at least 2, got {min_cluster_size!r}")
    if not 0.0 <= coherence_threshold <= 1.0:
        raise ValueError(f"coherence_threshold is a mean cosine between 0 and 1, got {coherence_threshold}")
    if not isinstance(max_concepts, (int, np.integer)) or max_concepts < 1:
        raise ValueError(f"max_concepts must be an integer of at least 1, got {max_concepts!r}")
    ids = np.arange(n) if atom_ids is None else np.asarray(atom_ids)
    if ids.shape != (n,):
        raise ValueError(f"{n} vectors but {ids.size} atom ids")
    if len(np.unique(ids)) != n:
        raise ValueError("atom_ids are not distinct")
    if previous:
        _check_previous(previous, matrix.shape[1])
    finished("validate")

    if n <= min_cluster_size:
        labels = np.full(n, -1, dtype=np.int64)
        timings.update(reduce=0.0, neighbours=0.0, hierarchy=0.0)
    else:
        def inner_progress(stage: str, done: float) -> None:
            if done >= 1.0:
                finished(stage)
            else:
                _report(progress, stage, done)

        labels = cluster(matrix, min_cluster_size, clusterer, dimensions, min_samples, selection, eps, inner_progress)
        finished("hierarchy")

    seeds, region = refine(matrix, labels, refine_iterations)
    coherence = np.zeros(seeds.shape[0])
    counts = np.bincount(region[region >= 0], minlength=seeds.shape[0])
    for start in range(0, n, 65536):  # mean cosine of each region's atoms to its centroid
        part = region[start:start + 65536]
        rows = np.flatnonzero(part >= 0)
        sims = np.einsum("ij,ij->i", matrix[start + rows], seeds[part[rows]])
        coherence += np.bincount(part[rows], weights=sims, minlength=seeds.shape[0])
    coherence /= np.maximum(counts, 1)
    order = [int(j) for j in np.lexsort((-coherence, -counts)) if coherence[j] >= coherence_threshold and counts[j]]
    order = order[:max_concepts]
    centroids = seeds[order] if order else np.zeros((0, matrix.shape[1]), np.float32)
    coherence = coherence[order]
    finished("concepts")

    atom, concept, similarity = memberships(matrix, centroids, membership_similarity, max_per_atom)
    primary = np.zeros(atom.size, dtype=bool)
    if atom.size:
        primary[np.r_[0, np.flatnonzero(np.diff(atom)) + 1]] = True  # each atom's first row is its nearest
    primary_of = np.full(n, -1, dtype=np.int64)
    primary_of[atom[primary]] = concept[primary]
    sizes = np.bincount(concept, minlength=len(order))
    members = [np.flatnonzero(primary_of == j) for j in range(len(order))]
    finished("memberships")

    keywords = ctfidf_labels(texts, primary_of) if order else {}
    finished("labels")

    if previous:
        continues, events = evolve(previous, members, ids, centroids)
    else:
        continues, events = [None] * len(order), [{"event": "born", "concept": j, "previous": []}
                                                    for j in range(len(order))]
    finished("evolution")

    concepts = []
    for j in range(len(order)):
        words = keywords.get(j, [])
        concepts.append({
            "centroid": centroids[j], "size": int(sizes[j]), "primary": int(members[j].size),
            "coherence": float(coherence[j]), "label": " ".join(w for w, _ in words[:LABEL_WORDS]), "keywords": words,
            "members": ids[members[j]], "continues": continues[j],
        })
    return {
        "concepts": concepts,
        "memberships": {"atom": atom, "concept": concept, "similarity": similarity, "primary": primary},
        "outliers": np.flatnonzero(primary_of < 0),
        "events": events,
        "timings": timings,
    }
