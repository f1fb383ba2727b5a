"""Vector math over float32-byte vectors: the bindings of stage 6 call these.

A vector is stored as little-endian IEEE-754 float32 values, 4 bytes each, no header. Inputs are
validated (length a multiple of 4, not empty, same dimension, finite values); arithmetic is done
in float64 and vectors are returned as float32 bytes.
"""

from __future__ import annotations

import numpy as np

MAX_DIMENSION = 1_000_000


def from_bytes(data: bytes | bytearray | memoryview, name: str = "vector") -> np.ndarray:
    if data is None:
        raise ValueError(f"{name} is NULL")
    raw = bytes(data)
    if len(raw) == 0:
        raise ValueError(f"{name} is empty")
    if len(raw) % 4:
        raise ValueError(f"{name} has {len(raw)} bytes, not a whole number of float32 values (4 bytes each)")
    if len(raw) // 4 > MAX_DIMENSION:
        raise ValueError(f"{name} has {len(raw) // 4} dimensions, more than the {MAX_DIMENSION} allowed")
    vector = np.frombuffer(raw, dtype="<f4").astype(np.float64)
    if not np.isfinite(vector).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return vector


def to_bytes(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype="<f4").tobytes()


def to_json(data: bytes) -> str:
    """A float32-byte vector as a JSON array: the text form SQL Server 2025 casts to VECTOR(n)."""
    import json

    return json.dumps([float(v) for v in np.frombuffer(bytes(data), dtype="<f4")])


def from_json(text: str, dimension: int | None = None, name: str = "vector") -> bytes:
    """A JSON array of numbers ('[0.123, 0.456, ...]', the seeds' spelling of a query embedding) as
    float32 bytes; `dimension`, when given, must be its number of values."""
    import json

    if text is None:
        raise ValueError(f"{name} is NULL")
    if dimension is not None and not 1 <= dimension <= MAX_DIMENSION:
        raise ValueError(f"{name}: a dimension of {dimension} is not between 1 and {MAX_DIMENSION}")
    try:
        # integers as floats: one too large for float32 becomes inf, refused below (not OverflowError)
        values = json.loads(text, parse_int=float, parse_constant=_refuse_constant)
    except ValueError as exc:
        raise ValueError(f"{name} is not a JSON array of numbers ({exc})") from None
    if not isinstance(values, list) or not values:
        raise ValueError(f"{name} is not a JSON array of numbers with at least one value")
    if any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in values):
        raise ValueError(f"{name} holds a value that is not a number")
    if len(values) > MAX_DIMENSION:
        raise ValueError(f"{name} has {len(values)} values, more than the {MAX_DIMENSION} allowed")
    if dimension is not None and len(values) != dimension:
        raise ValueError(f"{name} has {len(values)} values, but the dimension given is {dimension}")
    with np.errstate(over="ignore"):
        finite = np.isfinite(np.asarray(values, dtype=np.float64).astype("<f4")).all()
    if not finite:
        raise ValueError(f"{name} holds a value outside float32's range")
    return to_bytes(np.asarray(values, dtype=np.float64))


def _refuse_constant(name: str):
    # Python's json reads NaN and Infinity, which JSON itself does not have
    raise ValueError(f"{name} is not a number")


def _pair(v1, v2) -> tuple[np.ndarray, np.ndarray]:
    a, b = from_bytes(v1, "v1"), from_bytes(v2, "v2")
    if a.shape != b.shape:
        raise ValueError(f"dimension mismatch: v1 has {a.size} dimensions, v2 has {b.size}")
    return a, b


def dot(v1, v2) -> float:
    a, b = _pair(v1, v2)
    return float(a @ b)


def cosine_similarity(v1, v2) -> float:
    a, b = _pair(v1, v2)
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na == 0.0 or nb == 0.0:
        raise ValueError("cosine similarity is undefined for a zero vector")
    return float(np.clip((a @ b) / (na * nb), -1.0, 1.0))


def l2_distance(v1, v2) -> float:
    a, b = _pair(v1, v2)
    return float(np.linalg.norm(a - b))


def normalize(v) -> bytes:
    a = from_bytes(v, "v")
    norm = np.linalg.norm(a)
    if norm == 0.0:
        raise ValueError("cannot normalize a zero vector")
    return to_bytes(a / norm)


def softmax(v) -> bytes:
    a = from_bytes(v, "v")
    shifted = np.exp(a - a.max())  # subtracting the max keeps exp() from overflowing
    return to_bytes(shifted / shifted.sum())
