"""3-D spatial projection of embeddings: landmarks fitted on the data, points, coarse buckets.

The seeds' original projected onto three random directions, which keeps little of a 384-d
neighbourhood. Here the landmarks are the data's top three principal directions (PCA on a sample,
fitted with numpy's SVD): the projection keeps the most variance any 3-D linear map can. The fit
(mean, axes, bucket width, explained variance) is stored in dbo.SpatialLandmarks so every
projection is reproducible. Bucket width is a quarter of the first axis' standard deviation.

A 3-D point keeps too little of a 384-d neighbourhood for a search that must find nearly all true
neighbours (ARCHITECTURE §5a), so the same fit also holds vector buckets: k-means centres of the
full, normalized vectors (scikit-learn's KMeans on the sample). Each embedding stores the number of
its nearest centre; a search probes the buckets whose centres are nearest the query and reranks
their members exactly (an inverted file, in plain tables and a b-tree index).
"""

from __future__ import annotations

import numpy as np

from hartonomous_ext.vectors import from_bytes, to_bytes

AXES = 3


def _matrix(vectors: list) -> np.ndarray:
    rows = [from_bytes(v, f"vector {i}") for i, v in enumerate(vectors)]
    if not rows:
        raise ValueError("no vectors to fit or project")
    dimension = rows[0].size
    for i, row in enumerate(rows):
        if row.size != dimension:
            raise ValueError(f"vector {i} has {row.size} dimensions, the first has {dimension}")
    return np.vstack(rows)


def _unit_rows(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms == 0, 1, norms)


def fit(vectors: list, bucket_count: int = 0) -> dict:
    """PCA landmarks, and bucket_count k-means centres (none when 0), from a sample of float32-byte vectors."""
    matrix = _matrix(vectors)
    if bucket_count < 0 or bucket_count > matrix.shape[0]:
        raise ValueError(f"bucket_count must be between 0 and the sample size ({matrix.shape[0]}), got {bucket_count}")
    if matrix.shape[0] < AXES + 1:
        raise ValueError(f"fitting {AXES} axes needs at least {AXES + 1} vectors, got {matrix.shape[0]}")
    mean = matrix.mean(axis=0)
    centred = matrix - mean
    _, singular, vt = np.linalg.svd(centred, full_matrices=False)
    axes = vt[:AXES]
    variance = singular ** 2
    explained = float(variance[:AXES].sum() / variance.sum()) if variance.sum() > 0 else 0.0
    spread = float((centred @ axes[0]).std())
    centroids = b""
    if bucket_count:
        from sklearn.cluster import KMeans

        model = KMeans(n_clusters=bucket_count, n_init=1, max_iter=25, random_state=0)
        model.fit(_unit_rows(matrix).astype(np.float32))
        centroids = to_bytes(_unit_rows(model.cluster_centers_.astype(np.float64)).reshape(-1))
    return {
        "mean": to_bytes(mean),
        "axes": to_bytes(axes.reshape(-1)),
        "bucket_width": spread / 4 if spread > 0 else 1.0,
        "explained_variance": explained,
        "sample_size": int(matrix.shape[0]),
        "dimension": int(matrix.shape[1]),
        "centroids": centroids or None,
        "centroid_count": bucket_count or None,
    }


def _centres(centroids: bytes, dimension: int) -> np.ndarray:
    centres = from_bytes(centroids, "centroids")
    if centres.size % dimension:
        raise ValueError(f"centroids hold {centres.size} values, not a whole number of {dimension}-d centres")
    return centres.reshape(-1, dimension)


def project(vectors: list, mean: bytes, axes: bytes, bucket_width: float, centroids: bytes | None = None) -> list[tuple]:
    """(x, y, z, bucket x, bucket y, bucket z, vector bucket) for each vector; the vector bucket
    (number of the nearest centre, from 0) is None without centroids."""
    matrix = _matrix(vectors)
    centre = from_bytes(mean, "mean")
    basis = from_bytes(axes, "axes").reshape(AXES, -1)
    if basis.shape[1] != matrix.shape[1] or centre.size != matrix.shape[1]:
        raise ValueError(f"the landmarks have {basis.shape[1]} dimensions, the vectors {matrix.shape[1]}")
    points = (matrix - centre) @ basis.T
    buckets = np.floor(points / bucket_width).astype(np.int64)
    if centroids is None:
        nearest = [None] * len(points)
    else:
        nearest = np.argmax(matrix @ _centres(centroids, matrix.shape[1]).T, axis=1).tolist()
    return [(*map(float, p), *map(int, b), v) for p, b, v in zip(points, buckets, nearest)]


def nearest_buckets(query: bytes, centroids: bytes, probes: int) -> list[int]:
    """The numbers of the `probes` buckets whose centres are nearest the query (cosine), nearest first."""
    q = from_bytes(query, "query_embedding")
    centres = _centres(centroids, q.size)
    if probes < 1:
        raise ValueError("probes must be at least 1")
    probes = min(probes, len(centres))
    scores = centres @ q
    best = np.argpartition(-scores, probes - 1)[:probes]
    return [int(i) for i in best[np.argsort(-scores[best], kind="stable")]]
