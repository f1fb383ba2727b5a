"""`python -m deployer render`: one file per object plus a combined script, with no server."""

from __future__ import annotations

import re
import subprocess

import pytest

from deployer.source.catalog import load_catalog
from deployer.package import DB_ROOT


@pytest.mark.parametrize("version", [2019, 2022, 2025])
def test_mssql_render_writes_objects_and_a_sqlcmd_script(run, tmp_path, version):
    result = run("render", "--engine", "mssql", "--mssql-version", version, "--out", tmp_path)
    assert result.code == 0, result
    objects = load_catalog(DB_ROOT, "mssql").objects
    files = sorted((tmp_path / "objects").rglob("*.sql"))
    assert len(files) == len(objects)
    stage_dirs = sorted(p.name for p in (tmp_path / "objects").iterdir())
    assert stage_dirs == ["1-prerequisites", "2-domain-tables", "3-external-scripts", "4-advanced-tables",
                          "5-service-broker", "6-bindings", "7-procedures", "8-verification"]

    script = (tmp_path / f"hartonomous-mssql-{version}.sql").read_text()
    assert ":on error exit" in script
    assert "CREATE DATABASE [$(DatabaseName)]" in script
    assert "FILENAME = N'$(FilestreamPath)'" in script
    assert "FILENAME = N'$(InMemoryPath)'" in script  # db/prerequisites/MemoryOptimizedFilegroup.mssql.sql
    assert "USE [$(DatabaseName)];" in script
    assert re.search(r"^GO$", script, re.MULTILINE)
    # server-context objects run from master, the rest in the database, in stage order
    assert script.index("USE [master];") < script.index("CREATE DATABASE") < script.index("USE [$(DatabaseName)];")
    assert script.index("CREATE TABLE dbo.Atoms") < script.index("CREATE EXTERNAL LIBRARY") < script.index(
        "CREATE OR ALTER PROCEDURE dbo.sp_VectorDotProduct") < script.index("vector dot product (in-database Python)")


def test_mssql_render_without_filestream_or_external_scripts(run, tmp_path):
    result = run("render", "--engine", "mssql", "--out", tmp_path, "--skip-filestream", "--skip-external-scripts")
    assert result.code == 0, result
    script = (tmp_path / "hartonomous-mssql-2022.sql").read_text()
    assert "CONTAINS FILESTREAM" not in script
    assert "CONTAINS MEMORY_OPTIMIZED_DATA" in script  # In-Memory OLTP is never skipped
    assert "EXTERNAL LIBRARY" not in script and "sp_VectorDotProduct" not in script
    assert "CREATE TABLE dbo.Atoms" in script


def test_postgresql_render_runs_with_psql(run, tmp_path, fresh_db):
    result = run("render", "--engine", "postgresql", "--out", tmp_path)
    assert result.code == 0, result
    script = tmp_path / "hartonomous-postgresql.sql"
    done = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", fresh_db, "-f", str(script)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "[8 verification] check verify_vector_ops" in done.stdout
    assert re.search(r"vector dot product \(in-database Python\) +\| t", done.stdout)
    # the objects are there and pass verification
    verify = run("verify", "--target", fresh_db)
    assert verify.code == 0, verify


@pytest.mark.parametrize("version", [2022, 2025])
def test_only_sql_server_2025_uses_the_native_vector_type(run, tmp_path, version):
    """2025: embeddings keep a VECTOR(384) copy (both ingest procedures) and the exact search of the
    packaged model's type is VECTOR_DISTANCE; no CREATE VECTOR INDEX (a preview there, and it makes
    the table read-only). 2019/2022 render none of it."""
    assert run("render", "--engine", "mssql", "--mssql-version", version, "--out", tmp_path).code == 0
    procedures = tmp_path / "objects" / "7-procedures"
    search = next(procedures.glob("*-dbo.sp_SemanticSearch.sql")).read_text()
    batch = next(procedures.glob("*-dbo.sp_IngestAtoms.sql")).read_text()
    native = version >= 2025
    assert ("VECTOR_DISTANCE('cosine', e.EmbeddingNative, @QueryNative)" in search) == native
    # a zero query is not sent to VECTOR_DISTANCE (undefined for it): the other path refuses it, 50210
    assert ("VECTOR_NORM(CAST(@QueryJson AS VECTOR(384)), 'norm2') > 0" in search) == native
    assert ("CAST(f.EmbeddingJson AS VECTOR(384))" in batch) == native
    assert not re.search(r"^\s*CREATE VECTOR INDEX", (tmp_path / f"hartonomous-mssql-{version}.sql").read_text(), re.M)


def test_sp_ingest_atoms_locks_only_the_keys_it_seeks(run, tmp_path):
    """DBA review: under HOLDLOCK a plain FORCESEEK may seek TenantId alone and lock (then escalate
    over) every key of the tenant; each locking read of dbo.Atoms names the unique index."""
    assert run("render", "--engine", "mssql", "--out", tmp_path).code == 0
    text = next((tmp_path / "objects" / "7-procedures").glob("*-dbo.sp_IngestAtoms.sql")).read_text()
    hints = re.findall(r"dbo\.Atoms AS a\s+WITH \(([^\n]*HOLDLOCK[^\n]*)\)", text)
    assert len(hints) == 2 and all("INDEX (UQ_Atoms_Tenant_ContentHash), FORCESEEK" in h for h in hints), hints


def test_render_needs_no_server(run, tmp_path, monkeypatch):
    monkeypatch.setenv("HARTONOMOUS_HOME", str(tmp_path / "nowhere"))
    assert run("render", "--engine", "mssql", "--mssql-version", "2025", "--out", tmp_path / "out").code == 0


def test_catalog_lists_engine_specific_objects_with_reasons(run):
    result = run("catalog", "--engine-specific")
    assert result.code == 0, result
    assert "ExternalScriptsEnabled" in result.out and "plpython3u" in result.out
    assert "dbo.sp_VectorDotProduct" not in result.out  # on both engines
    assert "dbo.sp_VectorDotProduct" in run("catalog").out


def test_the_sqlcmd_script_sets_the_session_options_before_any_object(run, tmp_path):
    """ODBC sqlcmd starts with QUOTED_IDENTIFIER OFF: without these the filtered unique index on
    dbo.Models fails and procedures are stored with the wrong settings."""
    from tools.tsql_gate.parse import parse_problems

    assert run("render", "--engine", "mssql", "--out", tmp_path).code == 0
    script = (tmp_path / "hartonomous-mssql-2022.sql").read_text()
    header = script[script.index(":on error exit") + len(":on error exit"):script.index("\nGO\n")]
    for setting in ("QUOTED_IDENTIFIER ON", "ANSI_NULLS ON", "ANSI_PADDING ON", "ANSI_WARNINGS ON",
                    "CONCAT_NULL_YIELDS_NULL ON", "ARITHABORT ON", "NUMERIC_ROUNDABORT OFF", "XACT_ABORT ON"):
        assert f"SET {setting};" in header, setting
    assert script.index("\nGO\n") < script.index("PRINT N'[1 prerequisites]")
    assert parse_problems(header.strip() + "\n") == ()
    assert "sqlcmd -S <server> -E -b -I -i" in script


def test_each_sqlcmd_object_file_runs_on_its_own_with_the_session_options(run, tmp_path):
    assert run("render", "--engine", "mssql", "--out", tmp_path).code == 0
    for path in (tmp_path / "objects").rglob("*.sql"):
        first_batch = path.read_text().split("\nGO\n", 1)[0]
        assert "SET QUOTED_IDENTIFIER ON;" in first_batch and "SET ANSI_NULLS ON;" in first_batch, path.name


def test_limits_and_defaults_come_from_hartonomous_ext_policy():
    # one place for the numbers both engines' procedures share (the 256 MiB limit was written in three)
    from deployer.package import render_package
    from deployer.source.render import read_policy

    policy = read_policy(DB_ROOT)
    assert policy["MAX_CONTENT_BYTES"] == 268435456 and policy["MAX_CANDIDATES"] == 200000
    for engine in ("postgresql", "mssql"):
        rendered = {r.obj.name: r.sql for r in render_package(engine)}
        assert str(policy["MAX_CONTENT_BYTES"]) in rendered["dbo.sp_StoreAtom"]  # (sp_IngestAtom's work)
        assert f"at most {policy['MAX_CANDIDATES']}" in rendered["dbo.sp_SemanticSearch"]
    written = [p for p in DB_ROOT.rglob("*.sql") if re.search(r"\b(268435456|200000)\b", p.read_text())]
    assert written == []


def test_a_policy_value_that_is_not_a_literal_is_refused(db_copy):
    from deployer.source.render import RenderError, read_policy

    policy = db_copy / "external_scripts" / "hartonomous_ext" / "policy.py"
    policy.write_text(policy.read_text() + "MAX_TOP_K = int('1000')\n")
    with pytest.raises(RenderError, match="MAX_TOP_K is not a literal"):
        read_policy(db_copy)
