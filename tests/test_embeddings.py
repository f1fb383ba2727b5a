"""all-MiniLM-L6-v2 inside the database (onnxruntime over a graph built from the packaged
weights) against sentence-transformers' own output for the same texts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import psycopg
import pytest

REFERENCE = json.loads((Path(__file__).parent / "fixtures" / "minilm_reference.json").read_text())


def _vector(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype="<f4").astype(np.float64)


def _cosines(vectors: list[np.ndarray]) -> np.ndarray:
    reference = np.array(REFERENCE["embeddings"], dtype=np.float64)
    got = np.array(vectors)
    return (got * reference).sum(1) / np.linalg.norm(got, axis=1) / np.linalg.norm(reference, axis=1)


def test_function_matches_sentence_transformers(published):
    with psycopg.connect(published) as conn:
        vectors = [_vector(conn.execute("SELECT dbo.fn_GenerateEmbedding(%s)", (text,)).fetchone()[0])
                   for text in REFERENCE["texts"]]
    assert all(v.shape == (384,) for v in vectors)
    cosines = _cosines(vectors)
    assert cosines.min() >= 0.9999, cosines
    assert np.allclose([np.linalg.norm(v) for v in vectors], 1.0, atol=1e-5)


def test_batch_function_and_procedure_agree(published):
    with psycopg.connect(published) as conn:
        rows = conn.execute("SELECT Ordinal, Embedding FROM dbo.fn_GenerateEmbeddings(%s) ORDER BY Ordinal",
                            (REFERENCE["texts"],)).fetchall()
        assert [r[0] for r in rows] == list(range(1, len(REFERENCE["texts"]) + 1))
        assert _cosines([_vector(r[1]) for r in rows]).min() >= 0.9999
        single, as_json = conn.execute("CALL dbo.sp_GenerateEmbedding(%s)", (REFERENCE["texts"][0],)).fetchone()
        assert np.allclose(_vector(single), _vector(rows[0][1]), atol=1e-6)
        assert np.array_equal(np.array(json.loads(as_json), dtype="<f4"), _vector(single))
        assert conn.execute("CALL dbo.sp_GenerateEmbedding(NULL)").fetchone() == (None, None)


def test_long_text_is_truncated_to_256_tokens_not_refused(published):
    long_text = "word " * 5000
    with psycopg.connect(published) as conn:
        vector = _vector(conn.execute("SELECT dbo.fn_GenerateEmbedding(%s)", (long_text,)).fetchone()[0])
    assert vector.shape == (384,) and abs(np.linalg.norm(vector) - 1) < 1e-5


@pytest.mark.parametrize(("sql", "args", "message"), [
    ("SELECT dbo.fn_GenerateEmbedding(%s)", ("   ",), "text 0 is empty"),
    ("SELECT dbo.fn_GenerateEmbedding(%s)", ("x" * 1_000_001,), "more than the 1000000 allowed"),
    ("SELECT * FROM dbo.fn_GenerateEmbeddings(%s)", (["ok", None],), "text_values contains NULL"),
])
def test_bad_text_gets_a_clear_error(published, sql, args, message):
    with psycopg.connect(published) as conn, pytest.raises(psycopg.Error) as caught:
        conn.execute(sql, args)
    assert message in str(caught.value)


def test_null_text_gives_null(published):
    with psycopg.connect(published) as conn:
        assert conn.execute("SELECT dbo.fn_GenerateEmbedding(NULL)").fetchone()[0] is None


def test_a_stored_model_that_cannot_embed_is_a_format_error_whatever_the_cause():
    """Both engines' procedures turn a FormatError into their own message; anything else would
    reach the caller as a Python traceback (SQL Server: error 39004)."""
    from types import SimpleNamespace

    from hartonomous_ext import embeddings
    from hartonomous_ext.model_formats import FormatError

    broken = SimpleNamespace(config={"config.json": {"model_type": "bert"}, "tokenizer.json": {"model": {}}},
                             tensors=[])
    with pytest.raises(FormatError, match="this model cannot embed text: KeyError"):
        embeddings.stored_runtime(broken)
