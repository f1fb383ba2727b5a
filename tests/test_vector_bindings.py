"""Stage-6 vector bindings through in-database Python on PostgreSQL, against numpy."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np
import psycopg.sql
import psycopg
import pytest

from conftest import query


def f32(values) -> bytes:
    return np.asarray(values, dtype="<f4").tobytes()


def call(url, sql, *params):
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(sql, params).fetchone()[0]


RNG = np.random.default_rng(7)
A = RNG.normal(size=384).astype(np.float32)
B = RNG.normal(size=384).astype(np.float32)


def test_dot_cosine_l2_match_numpy(published):
    a, b = A.astype(np.float64), B.astype(np.float64)
    assert call(published, "CALL dbo.sp_VectorDotProduct(%s, %s)", f32(A), f32(B)) == pytest.approx(a @ b, rel=1e-12)
    cosine = (a @ b) / (np.linalg.norm(a) * np.linalg.norm(b))
    assert call(published, "SELECT dbo.fn_VectorCosineSimilarity(%s, %s)", f32(A), f32(B)) == pytest.approx(cosine, rel=1e-12)
    assert call(published, "CALL dbo.sp_VectorCosineSimilarity(%s, %s)", f32(A), f32(B)) == pytest.approx(cosine, rel=1e-12)
    assert call(published, "CALL dbo.sp_VectorL2Distance(%s, %s)", f32(A), f32(B)) == pytest.approx(np.linalg.norm(a - b), rel=1e-12)


def test_normalize_and_softmax_return_float32_bytes(published):
    unit = np.frombuffer(call(published, "CALL dbo.sp_VectorNormalize(%s)", f32(A)), dtype="<f4")
    assert unit.shape == (384,)
    np.testing.assert_allclose(unit, A / np.linalg.norm(A.astype(np.float64)), rtol=1e-6)

    logits = f32([1000.0, 1001.0, 1002.0])  # would overflow a naive exp()
    soft = np.frombuffer(call(published, "SELECT dbo.fn_VectorSoftmax(%s)", logits), dtype="<f4")
    np.testing.assert_allclose(soft, [0.09003057, 0.24472847, 0.66524096], rtol=1e-6)


def test_set_based_use_over_a_table(published):
    rows = query(published, """
        SELECT round(dbo.fn_VectorDotProduct(v, '\\x0000803f0000803f'::bytea)::numeric, 3)
        FROM (VALUES ('\\x0000803f00000040'::bytea), ('\\x0000404000008040'::bytea)) AS t(v) ORDER BY 1""")
    assert [float(r[0]) for r in rows] == [3.0, 7.0]


def test_null_input_gives_null(published):
    assert call(published, "SELECT dbo.fn_VectorDotProduct(NULL, %s)", f32([1])) is None
    assert call(published, "CALL dbo.sp_VectorNormalize(NULL)") is None


@pytest.mark.parametrize(
    ("sql", "args", "message"),
    [
        ("CALL dbo.sp_VectorDotProduct(%s, %s)", (f32([1, 2, 3]), f32([1, 2])), "dimension mismatch: v1 has 3 dimensions, v2 has 2"),
        ("CALL dbo.sp_VectorDotProduct(%s, %s)", (b"", f32([1])), "v1 is empty"),
        ("CALL dbo.sp_VectorL2Distance(%s, %s)", (b"\x00\x00\x80", f32([1])), "not a whole number of float32 values"),
        ("CALL dbo.sp_VectorCosineSimilarity(%s, %s)", (f32([0, 0]), f32([1, 2])), "undefined for a zero vector"),
        ("CALL dbo.sp_VectorNormalize(%s)", (f32([0, 0, 0]),), "cannot normalize a zero vector"),
        ("CALL dbo.sp_VectorSoftmax(%s)", (f32([1, float("nan")]),), "NaN or infinite"),
        ("CALL dbo.sp_VectorSoftmax(%s)", (bytes(4 * 1_000_001),), "more than the 1000000 allowed"),
    ],
)
def test_bad_vectors_get_clear_errors(published, sql, args, message):
    with pytest.raises(psycopg.Error) as caught:
        call(published, sql, *args)
    assert message in str(caught.value)


def test_wrong_type_is_refused_by_the_signature(published):
    with pytest.raises(psycopg.errors.UndefinedFunction):
        call(published, "SELECT dbo.fn_VectorDotProduct(42, 43)")


def test_a_session_cannot_point_the_interpreter_elsewhere(published, pg_instance):
    """hartonomous.python_site is read from the server's configuration files, not from SET."""
    base = Path(tempfile.mkdtemp(prefix="hartonomous-evil-"))
    base.chmod(0o777)  # the server (user postgres) could read and write here
    evil = base / "evil"
    evil.mkdir()
    evil.chmod(0o755)
    marker = base / "ran"
    (evil / "x.pth").write_text(f"import pathlib; pathlib.Path({str(marker)!r}).write_text('owned')\n")
    with psycopg.connect(published, autocommit=True) as conn:
        conn.execute("SET hartonomous.python_site = %s" % psycopg.sql.Literal(str(evil)).as_string(conn))
        assert conn.execute("SELECT dbo.fn_VectorDotProduct(%s, %s)", (f32([1, 2]), f32([3, 4]))).fetchone()[0] == 11
    try:
        assert not marker.exists()
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_a_role_without_table_access_can_use_the_bindings(published):
    # the public vector procedures run as their owner: the library loads without the caller's access
    # to dbo.ExternalLibraries; the internal functions are not PUBLIC's to call at all
    with psycopg.connect(published, autocommit=True) as conn:
        conn.execute("DROP ROLE IF EXISTS app_reader; CREATE ROLE app_reader LOGIN; GRANT USAGE ON SCHEMA dbo TO app_reader; "
                     "GRANT EXECUTE ON PROCEDURE dbo.sp_VectorDotProduct TO app_reader")
        conn.execute("SET ROLE app_reader")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT count(*) FROM dbo.ExternalLibraries")
        assert conn.execute("CALL dbo.sp_VectorDotProduct(%s, %s)", (f32([1, 2]), f32([3, 4]))).fetchone()[0] == 11
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT dbo.fn_VectorDotProduct(%s, %s)", (f32([1, 2]), f32([3, 4])))
