"""Live SQL Server suite: publish, verify and the vector bindings on a real server.

Runs when HARTONOMOUS_MSSQL_DSN holds an ODBC connection string to a SQL Server 2019+ with
Machine Learning Services (Python) installed and a login allowed to create a database and
change server options. Otherwise every test here is reported as skipped, with the reason.
Set HARTONOMOUS_MSSQL_VERSION (2019, 2022, 2025) to the server's version; default 2022.
"""

from __future__ import annotations

import os
import struct
import uuid

import pytest

DSN = os.environ.get("HARTONOMOUS_MSSQL_DSN")
VERSION = os.environ.get("HARTONOMOUS_MSSQL_VERSION", "2022")
pytestmark = [
    pytest.mark.mssql,
    pytest.mark.skipif(not DSN, reason="live SQL Server suite skipped: HARTONOMOUS_MSSQL_DSN is not set"),
]


@pytest.fixture(scope="module")
def database(tmp_path_factory):
    from deployer import cli

    name = f"HartonomousTest_{uuid.uuid4().hex[:8]}"
    logs = tmp_path_factory.mktemp("logs")
    code = cli.main(["publish", "--target", "mssql", "--database-name", name, "--mssql-version", VERSION,
                     "--skip-filestream", "--log-dir", str(logs)])
    assert code == 0, f"publish to SQL Server failed; see {logs}"
    yield name
    import pyodbc

    with pyodbc.connect(DSN, autocommit=True) as conn:
        conn.execute("USE master")
        conn.execute(f"ALTER DATABASE [{name}] SET SINGLE_USER WITH ROLLBACK IMMEDIATE")
        conn.execute(f"DROP DATABASE [{name}]")


def _scalar(database, batch, *params):
    import pyodbc

    with pyodbc.connect(DSN, autocommit=True) as conn:
        conn.execute(f"USE [{database}]")
        cursor = conn.execute(batch, *params)
        while cursor.description is None and cursor.nextset():
            pass
        return cursor.fetchone()[0]


def f32(*values) -> bytes:
    return struct.pack(f"<{len(values)}f", *values)


def test_republish_changes_nothing(database, run, tmp_path):
    result = run("publish", "--target", "mssql", "--database-name", database, "--mssql-version", VERSION,
                 "--skip-filestream", "--log-dir", tmp_path)
    assert result.code == 0, result
    assert "No changes" in result.out


def test_verify_passes(database, run):
    result = run("verify", "--target", "mssql", "--database-name", database, "--mssql-version", VERSION)
    assert result.code == 0, result
    assert "external scripts enabled" in result.out and "Service Broker enabled" in result.out


def test_vector_bindings(database):
    dot = _scalar(database, "SET NOCOUNT ON; DECLARE @r FLOAT; "
                  "EXEC dbo.sp_VectorDotProduct @v1 = ?, @v2 = ?, @result = @r OUTPUT; SELECT @r;",
                  f32(1, 2, 3), f32(4, 5, 6))
    assert dot == pytest.approx(32.0)
    cosine = _scalar(database, "SET NOCOUNT ON; DECLARE @r FLOAT; "
                     "EXEC dbo.sp_VectorCosineSimilarity @v1 = ?, @v2 = ?, @result = @r OUTPUT; SELECT @r;",
                     f32(1, 2, 3), f32(4, 5, 6))
    assert cosine == pytest.approx(0.9746318461970762)
    normalized = _scalar(database, "SET NOCOUNT ON; DECLARE @r VARBINARY(MAX); "
                         "EXEC dbo.sp_VectorNormalize @v = ?, @result = @r OUTPUT; SELECT @r;", f32(3, 4))
    assert struct.unpack("<2f", normalized) == pytest.approx((0.6, 0.8))


def test_dimension_mismatch_is_an_error(database):
    import pyodbc

    with pytest.raises(pyodbc.Error, match="dimension mismatch"):
        _scalar(database, "SET NOCOUNT ON; DECLARE @r FLOAT; "
                "EXEC dbo.sp_VectorDotProduct @v1 = ?, @v2 = ?, @result = @r OUTPUT; SELECT @r;",
                f32(1, 2, 3), f32(1, 2))


def test_plan_and_drift_report_no_differences(database, run):
    common = ["--target", "mssql", "--database-name", database, "--mssql-version", VERSION]
    plan = run("plan", *common, "--skip-filestream", "--format", "json")
    assert plan.code == 0, plan
    assert run("drift", *common).code == 0


def test_added_column_is_altered_in_place_keeping_rows(database, run, db_copy, tmp_path):
    _scalar(database, "SET NOCOUNT ON; INSERT INTO dbo.IngestionJobs (JobType) VALUES (N'live-test'); SELECT 1;")
    jobs = db_copy / "tables" / "dbo.IngestionJobs.mssql.sql"
    jobs.write_text(jobs.read_text().replace(
        "        ErrorMessage   NVARCHAR(MAX)   NULL,\n",
        "        ErrorMessage   NVARCHAR(MAX)   NULL,\n        Note           NVARCHAR(100)   NULL,\n"))
    common = ["--target", "mssql", "--database-name", database, "--mssql-version", VERSION, "--skip-filestream",
              "--source", db_copy]
    plan = run("plan", *common, "--format", "json")
    assert plan.code == 1, plan
    assert '"column added"' in plan.out
    assert run("publish", *common, "--log-dir", tmp_path).code == 0
    assert _scalar(database, "SELECT COUNT(*) FROM dbo.IngestionJobs WHERE JobType = N'live-test' AND Note IS NULL") == 1
    assert run("plan", *common).code == 0


def test_embedding_matches_sentence_transformers(database):
    import json
    from pathlib import Path

    reference = json.loads((Path(__file__).parent / "fixtures" / "minilm_reference.json").read_text())
    text, expected = reference["texts"][1], reference["embeddings"][1]
    data = _scalar(database, "SET NOCOUNT ON; DECLARE @e VARBINARY(MAX); "
                   "EXEC dbo.sp_GenerateEmbedding @text_value = ?, @embedding = @e OUTPUT; SELECT @e;", text)
    got = struct.unpack(f"<{len(data) // 4}f", data)
    dot = sum(a * b for a, b in zip(got, expected))
    assert len(got) == 384 and dot >= 0.9999


def test_ingest_atom_deduplicates_and_refuses_bad_text(database):
    import pyodbc

    batch = ("SET NOCOUNT ON; DECLARE @id BIGINT; EXEC dbo.sp_IngestAtom @Content = ?, @ContentType = N'text/plain', "
             "@AtomId = @id OUTPUT; SELECT @id;")
    first = _scalar(database, batch, b"live atom")
    assert _scalar(database, batch, b"live atom") == first
    assert _scalar(database, "SELECT ReferenceCount FROM dbo.Atoms WHERE AtomId = ?", first) == 2
    with pytest.raises(pyodbc.Error, match="not valid UTF-8"):
        _scalar(database, batch, b"\xff\xfe bad")


@pytest.fixture(scope="module")
def filestream_database(tmp_path_factory):
    """A database published with FILESTREAM (the default): needs SQL Server on Windows with
    FILESTREAM on (FilestreamEffectiveLevel 2 or more); skipped elsewhere."""
    import pyodbc

    from deployer import cli

    with pyodbc.connect(DSN, autocommit=True) as conn:
        separator, level = conn.execute("SELECT CONVERT(NCHAR(1), SERVERPROPERTY('PathSeparator')), "
                                        "CONVERT(INT, SERVERPROPERTY('FilestreamEffectiveLevel'))").fetchone()
    if separator == "/" or (level or 0) < 2:
        pytest.skip(f"FILESTREAM is not available on this server (path separator {separator!r}, "
                    f"FilestreamEffectiveLevel {level})")
    name = f"HartonomousFs_{uuid.uuid4().hex[:8]}"
    logs = tmp_path_factory.mktemp("logs")
    code = cli.main(["publish", "--target", "mssql", "--database-name", name, "--mssql-version", VERSION,
                     "--log-dir", str(logs)])
    assert code == 0, f"publish to SQL Server with FILESTREAM failed; see {logs}"
    yield name
    with pyodbc.connect(DSN, autocommit=True) as conn:
        conn.execute("USE master")
        conn.execute(f"ALTER DATABASE [{name}] SET SINGLE_USER WITH ROLLBACK IMMEDIATE")
        conn.execute(f"DROP DATABASE [{name}]")


def test_a_table_change_is_planned_and_published_with_filestream_on(filestream_database, run, db_copy, tmp_path):
    """The table comparison builds a shadow database from the package; with FILESTREAM its tables
    (dbo.AtomPayloadStore) are created ON the FILESTREAM filegroup, so the shadow needs one too, and
    it is gone (with its container) afterwards."""
    import pyodbc

    store = db_copy / "tables" / "dbo.AtomPayloadStore.mssql.sql"
    text = store.read_text()
    changed = text.replace("        AtomId    BIGINT           NOT NULL,\n",
                           "        AtomId    BIGINT           NOT NULL,\n        Note      NVARCHAR(100)    NULL,\n", 1)
    assert changed != text, "dbo.AtomPayloadStore.mssql.sql no longer has the AtomId line this test changes"
    store.write_text(changed)
    common = ["--target", "mssql", "--database-name", filestream_database, "--mssql-version", VERSION,
              "--source", db_copy]
    plan = run("plan", *common, "--format", "json")
    assert plan.code == 1, plan
    assert '"column added"' in plan.out and "dbo.AtomPayloadStore" in plan.out
    assert run("publish", *common, "--log-dir", tmp_path).code == 0
    assert _scalar(filestream_database, "SELECT COUNT(*) FROM sys.columns "
                   "WHERE object_id = OBJECT_ID(N'dbo.AtomPayloadStore') AND name = N'Note'") == 1
    assert run("plan", *common).code == 0
    with pyodbc.connect(DSN, autocommit=True) as conn:
        shadows = conn.execute("SELECT COUNT(*) FROM sys.databases WHERE name LIKE ? + N'[_]shadow[_]%'",
                               filestream_database).fetchone()[0]
    assert shadows == 0
