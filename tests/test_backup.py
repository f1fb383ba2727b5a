"""Backups that restore (PostgreSQL): `backup` dumps in one snapshot with its checksums; `restore`
puts it into a new database, publishes that database's roles and grants, verifies, and compares
every table with the backup's checksums."""

from __future__ import annotations

import json
import uuid

import psycopg
import pytest

from deployer import cli


@pytest.fixture(scope="module")
def source(pg_instance, tmp_path_factory):
    """A published database with two tenants' atoms, a built vector index and an app login."""
    url = pg_instance.create_database(f"backup_src_{uuid.uuid4().hex[:6]}")
    logs = tmp_path_factory.mktemp("logs")
    assert cli.main(["publish", "--target", url, "--log-dir", str(logs)]) == 0
    with psycopg.connect(url, autocommit=True) as conn:
        for tenant, text in ((1, "apples and pears, crisp"), (1, "a pear tree in winter"), (2, "tenant two's ledger")):
            conn.execute("CALL dbo.sp_IngestAtom(%s, 'text/plain', TenantId => %s, GenerateEmbedding => 1)",
                         (text.encode(), tenant))
        conn.execute("CALL dbo.sp_BuildVectorIndex(Mode => 'graph')")
    return url


def search(url: str, tenant: int) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT AtomId, round(Score::numeric, 6), Preview FROM dbo.sp_SemanticSearch("
                            "query_text => 'pear', top_k => 5, TenantId => %s)", (tenant,)).fetchall()


@pytest.fixture(scope="module")
def dump(source, tmp_path_factory, ):
    out = tmp_path_factory.mktemp("backup") / "hartonomous.dump"
    assert cli.main(["backup", "--target", source, "--out", str(out)]) == 0
    return out


def test_a_backup_is_a_dump_and_its_checksums(dump, source):
    manifest = json.loads(dump.with_name(dump.name + ".json").read_text())
    assert manifest["format"] == "hartonomous-backup-1"
    assert manifest["tables"]["dbo.atoms"]["rows"] == 3
    assert manifest["tables"]["dbo.sessiontenants"] == {"rows": 0, "checksum": ""}
    assert dump.read_bytes()[:5] == b"PGDMP"  # pg_dump's custom format


def test_restore_into_a_new_database_verifies_and_matches(pg_instance, run, dump, source, tmp_path):
    target = pg_instance.url(f"backup_dst_{uuid.uuid4().hex[:6]}")
    result = run("restore", "--target", target, "--input", dump, "--log-dir", tmp_path)
    assert result.code == 0, result
    assert "checksums match" in result.out
    assert run("verify", "--target", target).code == 0
    assert search(target, 1) == search(source, 1)
    assert search(target, 2) == search(source, 2)
    with psycopg.connect(target) as conn:
        database = conn.execute("SELECT current_database()").fetchone()[0]
        # this database's own roles, with their grants
        assert conn.execute("SELECT bool_and(has_function_privilege(%s, p.oid, 'EXECUTE')) FROM pg_proc p "
                            "WHERE p.proname = 'sp_semanticsearch'", (database + "_app",)).fetchone() == (True,)
        assert conn.execute("SELECT current_setting('search_path')").fetchone()[0].startswith("dbo")
    assert run("drift", "--target", target).code == 0


def test_a_restore_refuses_a_database_that_is_not_empty(run, dump, source, tmp_path):
    result = run("restore", "--target", source, "--input", dump, "--log-dir", tmp_path)
    assert result.code == 2 and "is not empty: restore into a new database" in result.err


def test_a_damaged_dump_restores_nothing(pg_instance, run, dump, tmp_path):
    broken = tmp_path / "broken.dump"
    broken.write_bytes(dump.read_bytes()[: dump.stat().st_size // 2])
    broken.with_name(broken.name + ".json").write_bytes(dump.with_name(dump.name + ".json").read_bytes())
    target = pg_instance.url(f"backup_bad_{uuid.uuid4().hex[:6]}")
    result = run("restore", "--target", target, "--input", broken, "--log-dir", tmp_path)
    assert result.code == 2 and "pg_restore into" in result.err and "nothing was restored" in result.err
    with psycopg.connect(target) as conn:
        assert conn.execute("SELECT to_regclass('dbo.atoms')").fetchone() == (None,)


def test_a_restore_that_does_not_match_its_checksums_fails(pg_instance, run, dump, tmp_path):
    copy = tmp_path / "copy.dump"
    copy.write_bytes(dump.read_bytes())
    manifest = json.loads(dump.with_name(dump.name + ".json").read_text())
    manifest["tables"]["dbo.atoms"]["checksum"] = "0" * 32
    copy.with_name(copy.name + ".json").write_text(json.dumps(manifest))
    result = run("restore", "--target", pg_instance.url(f"backup_chk_{uuid.uuid4().hex[:6]}"), "--input", copy,
                 "--log-dir", tmp_path)
    assert result.code == 1 and "dbo.atoms: 3 rows in the backup" in result.out


def test_a_restore_needs_the_manifest(pg_instance, run, dump, tmp_path):
    alone = tmp_path / "alone.dump"
    alone.write_bytes(dump.read_bytes())
    result = run("restore", "--target", pg_instance.url(f"backup_man_{uuid.uuid4().hex[:6]}"), "--input", alone)
    assert result.code == 2 and "alone.dump.json is missing" in result.err


def test_backup_will_not_overwrite(run, dump, source):
    result = run("backup", "--target", source, "--out", dump)
    assert result.code == 2 and "give --overwrite" in result.out
