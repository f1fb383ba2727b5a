"""The smoke tests a DBA runs after a publish: tests/smoke/smoke-tests.pg.sql with psql (run here, on
every commit, against a fresh publish) and its SQL Server twin tests/smoke/smoke-tests.sql with
sqlcmd (checked by the T-SQL gate here; run by the live suite's DBA against a server)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from conftest import query
from deployer.engines import dialect_for
from deployer.package import render_package
from deployer.source.catalog import DbObject
from deployer.source.render import RenderedObject, normalize
from deployer.source.stages import Stage
from tools.tsql_gate.parse import parse_problems
from tools.tsql_gate.references import check_references

SMOKE = Path(__file__).parent / "smoke"
CHECKS = ("ingest", "embed", "search", "vector ops", "verification")


def psql(instance, url: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(instance.bindir / "psql"), "-X", "-v", "ON_ERROR_STOP=1", "-d", url,
                           "-f", str(SMOKE / "smoke-tests.pg.sql")], capture_output=True, text=True, timeout=600)


def test_the_psql_smoke_test_passes_on_a_fresh_publish(pg_instance, fresh_published):
    result = psql(pg_instance, fresh_published)
    assert result.returncode == 0, result.stderr
    passed = re.findall(r"NOTICE:  PASS: ([a-z ]+) \(", result.stderr)
    assert passed == list(CHECKS)
    assert "smoke tests: all passed" in result.stdout
    assert query(fresh_published, "SELECT count(*) FROM dbo.Atoms WHERE TenantId = 424242") == [(0,)]


def test_the_psql_smoke_test_fails_the_run_and_says_what(pg_instance, fresh_published):
    query(fresh_published, "CREATE OR REPLACE FUNCTION dbo.fn_VectorCosineSimilarity(v1 bytea, v2 bytea) "
                           "RETURNS double precision LANGUAGE sql AS $$ SELECT 0.5::double precision $$")
    result = psql(pg_instance, fresh_published)
    assert result.returncode == 3
    assert "FAIL: vector ops: [1,2,3]·[4,5,6] = 32, cos = 0.5" in result.stderr
    assert "smoke tests: all passed" not in result.stdout


def _sqlcmd_batches() -> list[str]:
    text = (SMOKE / "smoke-tests.sql").read_text(encoding="utf-8")
    text = "\n".join("" if line.startswith(":") else line for line in text.splitlines()) + "\n"
    return list(dialect_for("mssql").batches(text))


def test_the_sqlcmd_smoke_test_passes_the_tsql_gate():
    batches = _sqlcmd_batches()
    assert {b: parse_problems(b) for b in batches if parse_problems(b)} == {}
    text = "".join(b + "GO\n" for b in batches)
    smoke = RenderedObject(DbObject("smoke-tests", "check", Stage.VERIFICATION, "mssql", Path("tests/smoke/smoke-tests.sql")),
                           normalize(text), tuple(batches))
    assert [str(f) for f in check_references([*render_package("mssql"), smoke])] == []


@pytest.mark.parametrize("name", ["smoke-tests.sql", "smoke-tests.pg.sql"])
def test_both_smoke_tests_check_the_same_things(name):
    text = (SMOKE / name).read_text(encoding="utf-8")
    assert re.findall(r"PASS: ([a-z ]+) \(", text) == list(CHECKS)
    assert all(f"FAIL: {check}" in text for check in CHECKS)
