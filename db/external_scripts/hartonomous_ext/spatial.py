"""3-D spatial projection of embeddings: landmarks fitted on the data, points, coarse buckets.

The seeds' original projected onto three random directions, which keeps little of a 384-d
neighbourhood. Here the landmarks are the data's top three principal directions (PCA on a sample,
fitted with numpy's SVD): the projection keeps the most variance any 3-D linear map can. The fit
(mean, axes, bucket width, explained variance) is stored in dbo.SpatialLandmarks so every
projection is reproducible. Bucket width is a quarter of the first axis' standard deviation.
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


def fit(vectors: list) -> dict:
    """PCA landmarks from a sample of float32-byte vectors."""
    matrix = _matrix(vectors)
    if matrix.shape[0] < AXES + 1:
        raise ValueError(f"fitting {AXES} axes needs at least {AXES + 1} vectors, got {matrix.shape[0]}")
    mean = matrix.mean(axis=0)
    centred = matrix - mean
    _, singular, vt = np.linalg.svd(centred, full_matrices=False)
    axes = vt[:AXES]
    variance = singular ** 2
    explained = float(variance[:AXES].sum() / variance.sum()) if variance.sum() > 0 else 0.0
    spread = float((centred @ axes[0]).std())
    return {
        "mean": to_bytes(mean),
        "axes": to_bytes(axes.reshape(-1)),
        "bucket_width": spread / 4 if spread > 0 else 1.0,
        "explained_variance": explained,
        "sample_size": int(matrix.shape[0]),
        "dimension": int(matrix.shape[1]),
    }


def project(vectors: list, mean: bytes, axes: bytes, bucket_width: float) -> list[tuple]:
    """(x, y, z, bucket x, bucket y, bucket z) for each vector."""
    matrix = _matrix(vectors)
    centre = from_bytes(mean, "mean")
    basis = from_bytes(axes, "axes").reshape(AXES, -1)
    if basis.shape[1] != matrix.shape[1] or centre.size != matrix.shape[1]:
        raise ValueError(f"the landmarks have {basis.shape[1]} dimensions, the vectors {matrix.shape[1]}")
    points = (matrix - centre) @ basis.T
    buckets = np.floor(points / bucket_width).astype(np.int64)
    return [(*map(float, p), *map(int, b)) for p, b in zip(points, buckets)]
