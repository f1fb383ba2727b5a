"""The engine contract: one suite every engine seam runs (sqitch's DBIEngineTest pattern).

Each test takes `target`, an engine seam connected to an empty database of its own, and drives it
only through the contract in deployer.engines.base (history, apply, fingerprints, shadow,
checks, lock, data operations). PostgreSQL runs it against the test run's instance; SQL Server
runs it when HARTONOMOUS_MSSQL_DSN points at a server, and otherwise each test is reported as
skipped with that reason. What differs between engines is only the SQL text of the objects the
tests create, written once per dialect below.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from deployer.engines import MSSQL_DSN_ENV, open_engine
from deployer.engines.base import ApplyError, Deployment, TargetError
from deployer.source.catalog import DbObject
from deployer.source.render import RenderedObject, normalize
from deployer.source.stages import Stage

ENGINES = [pytest.param("postgresql", marks=pytest.mark.db), pytest.param("mssql", marks=pytest.mark.mssql)]

# the objects the suite creates, in each dialect
SQL = {
    "postgresql": {
        "schema": "CREATE SCHEMA IF NOT EXISTS contract;",
        "table": "CREATE TABLE IF NOT EXISTS contract.Things (ThingId integer PRIMARY KEY, Label text NOT NULL);",
        "procedure": "CREATE OR REPLACE PROCEDURE contract.sp_Touch(n integer) LANGUAGE sql AS $$ SELECT n; $$;",
        "broken": "CREATE TABLE contract.Broken (Id integer REFERENCES contract.Nowhere (Id));",
        "check": "SELECT 'contract check' AS check_name, true AS passed, 'fine' AS detail",
        "failing check": "SELECT 'contract check' AS check_name, 1 / 0 = 1 AS passed, 'never' AS detail",
        "by hand": "CREATE TABLE contract.ByHand (Id integer)",
        "rows": "INSERT INTO contract.Things VALUES (1, 'one'), (2, 'two')",
        "databases named": "SELECT count(*) FROM pg_database WHERE datname = '{}'",
    },
    "mssql": {
        "schema": "IF SCHEMA_ID(N'contract') IS NULL EXEC(N'CREATE SCHEMA contract');",
        "table": "IF OBJECT_ID(N'contract.Things', N'U') IS NULL\n"
                 "CREATE TABLE contract.Things (ThingId INT NOT NULL PRIMARY KEY, Label NVARCHAR(100) NOT NULL);",
        "procedure": "CREATE OR ALTER PROCEDURE contract.sp_Touch @n INT AS BEGIN SET NOCOUNT ON; SELECT @n; END;",
        "broken": "CREATE TABLE contract.Broken (Id INT REFERENCES contract.Nowhere (Id));",
        "check": "SELECT N'contract check' AS check_name, CAST(1 AS BIT) AS passed, N'fine' AS detail;",
        "failing check": "SELECT N'contract check' AS check_name, CAST(1 / 0 AS BIT) AS passed, N'never' AS detail;",
        "by hand": "CREATE TABLE contract.ByHand (Id INT);",
        "rows": "INSERT INTO contract.Things VALUES (1, N'one'), (2, N'two');",
        "databases named": "SELECT count(*) FROM sys.databases WHERE name = N'{}';",
    },
}
KINDS = {"schema": ("contract", Stage.PREREQUISITES), "table": ("contract.Things", Stage.DOMAIN_TABLES),
         "procedure": ("contract.sp_Touch", Stage.PROCEDURES), "broken": ("contract.Broken", Stage.DOMAIN_TABLES),
         "check": ("verify_contract", Stage.VERIFICATION), "failing check": ("verify_contract", Stage.VERIFICATION)}
OBJECT_KIND = {"schema": "schema", "table": "table", "procedure": "procedure", "broken": "table", "check": "check",
               "failing check": "check"}


def rendered(engine, which: str) -> RenderedObject:
    name, stage = KINDS[which]
    obj = DbObject(name=name, kind=OBJECT_KIND[which], stage=stage, engine_name=engine.dialect.name,
                   path=Path(f"contract/{name}.sql"))
    text = normalize(SQL[engine.dialect.name][which])
    return RenderedObject(obj=obj, sql=text, batches=engine.dialect.batches(text))


def apply(engine, deployment, which: str, action: str = "create") -> RenderedObject:
    r = rendered(engine, which)
    engine.apply(r.obj, r.batches, action, r.hash, deployment)
    return r


def run_sql(database, statement: str) -> None:
    """Test set-up outside the seam (a table made by hand, rows)."""
    engine_name, target, name = database
    if engine_name == "postgresql":
        import psycopg

        with psycopg.connect(target, autocommit=True) as conn:
            conn.execute(statement)
    else:
        import pyodbc

        with pyodbc.connect(target, autocommit=True) as conn:
            conn.execute(f"USE [{name}]")
            conn.execute(statement)


@pytest.fixture(params=ENGINES)
def database(request):
    """(engine name, target, database name): an empty database of the test's own."""
    if request.param == "postgresql":
        yield "postgresql", request.getfixturevalue("fresh_db"), None
        return
    dsn = os.environ.get(MSSQL_DSN_ENV)
    if not dsn:
        pytest.skip(f"live SQL Server suite skipped: {MSSQL_DSN_ENV} is not set")
    import pyodbc

    name = f"contract_{uuid.uuid4().hex[:10]}"
    with pyodbc.connect(dsn, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE [{name}]")
    try:
        yield "mssql", dsn, name
    finally:
        with pyodbc.connect(dsn, autocommit=True) as admin:
            admin.execute(f"ALTER DATABASE [{name}] SET SINGLE_USER WITH ROLLBACK IMMEDIATE")
            admin.execute(f"DROP DATABASE [{name}]")


@pytest.fixture
def target(database):
    _, url, name = database
    engine = open_engine(url, database=name)
    engine.connect(create_database=False)
    try:
        yield engine
    finally:
        engine.close()


@pytest.fixture
def deployment(target):
    deployment = Deployment("contract-1", "{}")
    target.begin_deployment(deployment)
    return deployment


def test_an_empty_database_has_no_history(target):
    assert target.database_exists
    assert target.deployed_objects() == {}


def test_a_rendering_the_user_asked_for_is_kept(target):
    """What the server may change in the rendering: never an option the user gave explicitly."""
    assert target.render_settings({"skip_filestream": True, "filestream_path": None,
                                   "inmemory_path": "/var/opt/mssql/data/contract_InMemory"}) == ({}, [])


def test_a_deployment_gets_an_id_and_applied_objects_are_recorded(target, deployment):
    apply(target, deployment, "schema")
    table = apply(target, deployment, "table")
    assert deployment.id is not None
    history = target.deployed_objects()
    assert set(history) == {"contract", "contract.Things"}
    row = history["contract.Things"]
    assert (row.kind, row.stage, row.text_hash, row.package_version) == ("table", 2, table.hash, "contract-1")
    assert row.live_hash is not None and row.live_hash == target.fingerprints([table.obj])["contract.Things"]
    target.finish_deployment(deployment, "succeeded")


def test_a_failing_object_raises_apply_error_and_records_nothing(target, deployment):
    apply(target, deployment, "schema")
    with pytest.raises(ApplyError) as caught:
        apply(target, deployment, "broken")
    assert "contract.Broken" in str(caught.value)
    assert "contract.Broken" not in target.deployed_objects()
    assert target.fingerprints([rendered(target, "broken").obj]) == {"contract.Broken": None}


def test_fingerprints_change_when_an_object_changes_outside_the_package(database, target, deployment):
    apply(target, deployment, "schema")
    table = apply(target, deployment, "table")
    before = target.fingerprints([table.obj])["contract.Things"]
    run_sql(database, "ALTER TABLE contract.Things ADD Extra INT NULL")
    assert target.fingerprints([table.obj])["contract.Things"] not in (None, before)


def test_the_dialects_drop_statement_drops_and_the_history_forgets(target, deployment):
    apply(target, deployment, "schema")
    procedure = apply(target, deployment, "procedure")
    assert target.missing_objects([procedure.obj]) == []
    drop = target.dialect.drop_statement(procedure.obj.name, procedure.obj.kind)
    target.apply(procedure.obj, target.dialect.batches(drop), "drop", procedure.hash, deployment)
    assert "contract.sp_Touch" not in target.deployed_objects()
    assert target.missing_objects([procedure.obj]) == [procedure.obj]


def test_unknown_objects_are_what_neither_package_nor_history_knows(database, target, deployment):
    apply(target, deployment, "schema")
    apply(target, deployment, "table")
    run_sql(database, SQL[database[0]]["by hand"])
    unknown = {name.lower() for _, name in target.unknown_objects({"contract.Things"}, {"contract"})}
    assert unknown == {"contract.byhand"}


def test_row_count_and_count(database, target, deployment):
    apply(target, deployment, "schema")
    apply(target, deployment, "table")
    run_sql(database, SQL[database[0]]["rows"])
    assert target.row_count("contract.Things") == 2
    assert target.history_table("contract.Things") is None  # not system-versioned
    assert target.count("SELECT count(*) FROM contract.Things WHERE ThingId > 1") == 1


def test_table_checksums_stay_when_nothing_changes_and_move_with_the_rows(target, deployment):
    # what the hostile-input suites compare before and after a failed call (both engines)
    first = target.table_checksums()
    assert first == target.table_checksums()
    apply(target, deployment, "schema")  # one more row in the deployment history
    second = target.table_checksums()
    changed = {t for t in second if second[t] != first.get(t)}
    assert changed and all(t.lower().startswith("deploy.") for t in changed), changed


def test_checks_report_their_rows_and_a_failing_query_as_a_failed_check(target):
    assert [(c.name, c.passed, c.detail) for c in target.run_check(rendered(target, "check"))] == [
        ("contract check", True, "fine")]
    failed = target.run_check(rendered(target, "failing check"))
    assert len(failed) == 1 and not failed[0].passed and failed[0].name == "verify_contract"


def test_the_shadow_database_holds_the_objects_and_is_gone_afterwards(target):
    import sqlalchemy as sa

    objects = [rendered(target, "schema"), rendered(target, "table")]
    with target.shadow(objects) as shadow:
        shadow_name = shadow.database
        with shadow.reflection() as connection:
            schema, table = target.dialect.catalog_key("contract.Things")
            assert sa.inspect(connection).has_table(table, schema=schema)
            assert target.count(SQL[target.dialect.name]["databases named"].format(shadow_name)) == 1
    assert target.count(SQL[target.dialect.name]["databases named"].format(shadow_name)) == 0


def test_a_second_session_cannot_take_the_deployment_lock(database, target):
    target.lock()
    other = open_engine(database[1], database=database[2])
    other.connect(create_database=False)
    try:
        with pytest.raises(TargetError, match="another publish"):
            other.lock()
    finally:
        other.close()


def test_data_operations_keep_a_job(fresh_published_target):
    data = fresh_published_target.data
    job = data.start_embedding_job(3, "/contract/input.txt", 10, '{"batch_size": 5}')
    data.job_progress(job, 4)
    data.finish_job(job, "Failed", "stopped on purpose")
    assert data.unfinished_embedding_job("/contract/input.txt", 3) == (job, 4)
    assert data.unfinished_embedding_job("/contract/input.txt", 4) is None
    data.restart_job(job, 12)
    data.finish_job(job, "Completed", None)
    assert data.unfinished_embedding_job("/contract/input.txt", 3) is None
    assert data.model_by_source(3, "0" * 64) is None


@pytest.fixture(params=ENGINES)
def fresh_published_target(request, tmp_path):
    """An engine seam on a database of its own holding the published package."""
    if request.param == "postgresql":
        engine = open_engine(request.getfixturevalue("fresh_published"))
        engine.connect(create_database=False)
        try:
            yield engine
        finally:
            engine.close()
        return
    dsn = os.environ.get(MSSQL_DSN_ENV)
    if not dsn:
        pytest.skip(f"live SQL Server suite skipped: {MSSQL_DSN_ENV} is not set")
    import pyodbc

    from deployer import cli

    name = f"contract_{uuid.uuid4().hex[:10]}"
    assert cli.main(["publish", "--target", "mssql", "--database-name", name, "--skip-filestream",
                     "--mssql-version", os.environ.get("HARTONOMOUS_MSSQL_VERSION", "2022"),
                     "--log-dir", str(tmp_path)]) == 0
    engine = open_engine("mssql", database=name)
    engine.connect(create_database=False)
    try:
        yield engine
    finally:
        engine.close()
        with pyodbc.connect(dsn, autocommit=True) as admin:
            admin.execute(f"ALTER DATABASE [{name}] SET SINGLE_USER WITH ROLLBACK IMMEDIATE")
            admin.execute(f"DROP DATABASE [{name}]")
