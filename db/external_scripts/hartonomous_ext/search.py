"""Exact cosine ranking of candidate vectors: the rerank step of semantic search."""

from __future__ import annotations

import numpy as np

from hartonomous_ext.vector_index import top_k_rows, unit_rows
from hartonomous_ext.vectors import from_bytes


def rank_by_cosine(query: bytes, vectors: list | bytes, top_k: int) -> list[tuple[int, float]]:
    """(position in `vectors`, cosine similarity) of the top_k best, best first. `vectors` is a list
    of float32-byte vectors, or the same vectors concatenated into one bytes value (what a
    database hands over fastest: one string_agg instead of thousands of values)."""
    if top_k < 1:
        raise ValueError("top_k must be at least 1")
    q = from_bytes(query, "query_embedding")
    norm = np.linalg.norm(q)
    if norm == 0:
        raise ValueError("query_embedding is a zero vector")
    if not vectors:
        return []
    width = q.size * 4
    if isinstance(vectors, (bytes, bytearray, memoryview)):
        raw = bytes(vectors)
        if len(raw) % width:
            raise ValueError(f"candidate vectors must all have {q.size} dimensions like the query")
        count = len(raw) // width
    else:
        raw = b"".join(bytes(v) for v in vectors)
        count = len(vectors)
        if len(raw) != width * count:
            raise ValueError(f"candidate vectors must all have {q.size} dimensions like the query")
    matrix = unit_rows(np.frombuffer(raw, dtype="<f4").reshape(count, q.size))
    best, scores = top_k_rows(matrix, np.arange(count), (q / norm).astype(np.float32), top_k)
    return [(int(i), float(s)) for i, s in zip(best, scores)]
