"""Publishing to a real PostgreSQL: first publish, verify, no-change re-publish, one changed
object, failing objects with and without --force, dry run, blocked table changes, flags."""

from __future__ import annotations

import re
from pathlib import Path

import psycopg

from conftest import capture_ddl, ddl_seen, latest_log, outcomes, query

from deployer.source.catalog import load_catalog


def _expected_objects(db_root=None) -> set[str]:
    from deployer.package import DB_ROOT

    return {o.name for o in load_catalog(db_root or DB_ROOT, "postgresql").objects if o.kind != "check"}


def test_first_publish_creates_everything_and_verifies(run, fresh_db, tmp_path):
    result = run("publish", "--target", fresh_db, "--log-dir", tmp_path)
    assert result.code == 0, result
    assert "Published" in result.out

    log = latest_log(tmp_path)
    assert log["status"] == "succeeded"
    done = outcomes(log)
    expected = _expected_objects()
    assert {name for name, (_, outcome) in done.items() if outcome == "applied"} == expected
    assert all(action == "create" for name, (action, _) in done.items() if name in expected)
    assert all(o["seconds"] >= 0 for o in log["objects"])
    # every check ran and passed, including the vector math through in-database Python
    checks = {c["name"]: c for c in log["checks"]}
    assert checks["every expected object exists"]["passed"]
    assert checks["vector dot product (in-database Python)"]["passed"]
    assert "= 32" in checks["vector dot product (in-database Python)"]["detail"]
    assert all(c["passed"] for c in log["checks"]), log["checks"]
    assert not list(tmp_path.glob("deployment-error-*.json"))

    # the history in the target says what was deployed, with hashes and the package version
    rows = query(fresh_db, "SELECT ObjectName, TextHash, PackageVersion FROM deploy.DeployedObjects")
    assert {r[0] for r in rows} == expected
    assert all(re.fullmatch(r"[0-9a-f]{64}", r[1]) for r in rows)
    status = query(fresh_db, "SELECT Status FROM deploy.Deployments")
    assert status == [("succeeded",)]


def test_verify_runs_stage_8_and_names_a_failing_check(run, fresh_db, tmp_path):
    assert run("publish", "--target", fresh_db, "--log-dir", tmp_path).code == 0
    ok = run("verify", "--target", fresh_db)
    assert ok.code == 0, ok
    assert "vector cosine similarity" in ok.out and "all" in ok.out

    query(fresh_db, "DROP PROCEDURE dbo.sp_VectorSoftmax")
    broken = run("verify", "--target", fresh_db)
    assert broken.code == 1, broken
    assert "every expected object exists" in broken.out
    assert "dbo.sp_VectorSoftmax" in broken.out


def test_republish_unchanged_package_executes_no_ddl(run, fresh_db, tmp_path):
    assert run("publish", "--target", fresh_db, "--log-dir", tmp_path).code == 0
    history_before = query(fresh_db, "SELECT count(*) FROM deploy.DeploymentHistory")[0][0]
    capture_ddl(fresh_db)

    again = run("publish", "--target", fresh_db, "--log-dir", tmp_path)
    assert again.code == 0, again
    assert "No changes" in again.out
    assert ddl_seen(fresh_db) == []
    assert query(fresh_db, "SELECT count(*) FROM deploy.DeploymentHistory")[0][0] == history_before
    log = latest_log(tmp_path)
    assert log["status"] == "no changes"
    assert {outcome for _, outcome in outcomes(log).values()} <= {"unchanged", "checked"}
    assert query(fresh_db, "SELECT Status FROM deploy.Deployments ORDER BY DeploymentId") == [
        ("succeeded",), ("no changes",)]


def test_changed_object_reapplies_it_and_its_dependents_only(run, fresh_db, db_copy, tmp_path):
    assert run("publish", "--target", fresh_db, "--source", db_copy, "--log-dir", tmp_path).code == 0
    capture_ddl(fresh_db)

    softmax = db_copy / "bindings" / "dbo.fn_VectorSoftmax.pg.sql"
    softmax.write_text(softmax.read_text().replace("return vectors.softmax(v)", "result = vectors.softmax(v)\nreturn result"))
    changed = run("publish", "--target", fresh_db, "--source", db_copy, "--log-dir", tmp_path)
    assert changed.code == 0, changed

    done = outcomes(latest_log(tmp_path))
    assert done["dbo.fn_VectorSoftmax"] == ("alter", "applied")
    assert done["dbo.sp_VectorSoftmax"] == ("reapply", "applied")
    applied = {name for name, (_, outcome) in done.items() if outcome == "applied"}
    # and the privileges, granted from nothing after every change
    assert applied == {"dbo.fn_VectorSoftmax", "dbo.sp_VectorSoftmax", "RolePermissions"}
    assert done["RolePermissions"] == ("reapply", "applied")
    seen = ddl_seen(fresh_db)
    assert sorted(obj for command, obj in seen if command not in ("GRANT", "REVOKE")) == [
        "dbo.fn_vectorsoftmax(pg_catalog.bytea)",
        "dbo.sp_vectorsoftmax(pg_catalog.bytea,pg_catalog.bytea)"]
    assert {command for command, _ in seen} == {"CREATE FUNCTION", "CREATE PROCEDURE", "GRANT", "REVOKE"}
    # the new text is live
    assert query(fresh_db, "SELECT prosrc LIKE '%%result = vectors.softmax%%' FROM pg_proc WHERE proname = 'fn_vectorsoftmax'") == [(True,)]


def test_changed_library_reapplies_every_binding(run, fresh_db, db_copy, tmp_path):
    assert run("publish", "--target", fresh_db, "--source", db_copy, "--log-dir", tmp_path).code == 0
    vectors = db_copy / "external_scripts" / "hartonomous_ext" / "vectors.py"
    vectors.write_text(vectors.read_text() + "\n\ndef triple(v):\n    return to_bytes(from_bytes(v) * 3)\n")
    assert run("publish", "--target", fresh_db, "--source", db_copy, "--log-dir", tmp_path).code == 0
    done = outcomes(latest_log(tmp_path))
    assert done["hartonomous_ext"] == ("alter", "applied")
    assert done["dbo.fn_VectorDotProduct"] == ("reapply", "applied")
    assert done["dbo.Atoms"] == ("unchanged", "unchanged")
    # a new session imports the new wheel from the database
    rows = query(fresh_db, "SELECT Module, Version FROM dbo.fn_PythonEnvironment() WHERE Module = 'hartonomous_ext'")
    stored = query(fresh_db, "SELECT ContentHash FROM dbo.ExternalLibraries")[0][0]
    assert rows == [("hartonomous_ext", stored)]


def _break(db_copy: Path) -> None:
    target = db_copy / "bindings" / "dbo.fn_VectorL2Distance.pg.sql"
    target.write_text(target.read_text().replace("RETURNS double precision", "RETURNS double precisionn"))


def test_failing_object_stops_the_publish_and_names_object_and_file(run, fresh_db, db_copy, tmp_path):
    _break(db_copy)
    result = run("publish", "--target", fresh_db, "--source", db_copy, "--log-dir", tmp_path)
    assert result.code == 1, result
    assert "dbo.fn_VectorL2Distance" in result.out
    assert "db/bindings/dbo.fn_VectorL2Distance.pg.sql" in result.out

    done = outcomes(latest_log(tmp_path))
    assert done["dbo.fn_VectorL2Distance"][1] == "failed"
    assert done["dbo.fn_VectorNormalize"][1] == "not run"  # ordered after it in stage 6
    assert done["dbo.fn_VectorDotProduct"][1] == "applied"  # ordered before it
    errors = latest_log(tmp_path, "error")
    assert [o["object"] for o in errors["failed_objects"]] == ["dbo.fn_VectorL2Distance"]
    assert "precisionn" in errors["failed_objects"][0]["detail"]
    assert "dbo.fn_VectorNormalize" in errors["not_run"]
    # nothing of the failed object or after it is in the database
    assert query(fresh_db, "SELECT count(*) FROM pg_proc WHERE proname IN ('fn_vectorl2distance', 'fn_vectornormalize')") == [(0,)]
    assert query(fresh_db, "SELECT Status FROM deploy.Deployments") == [("failed",)]


def test_force_goes_on_past_a_failure_and_skips_what_needs_it(run, fresh_db, db_copy, tmp_path):
    _break(db_copy)
    result = run("publish", "--target", fresh_db, "--source", db_copy, "--log-dir", tmp_path, "--force")
    assert result.code == 1, result
    done = outcomes(latest_log(tmp_path))
    assert done["dbo.fn_VectorL2Distance"][1] == "failed"
    assert done["dbo.fn_VectorNormalize"][1] == "applied"
    assert done["dbo.sp_VectorL2Distance"][1] == "skipped"  # requires the failed function
    assert done["verify_vector_ops"][1] == "skipped"
    assert query(fresh_db, "SELECT count(*) FROM pg_proc WHERE proname = 'fn_vectornormalize'") == [(1,)]

    # once fixed, the next publish completes what was left
    target = db_copy / "bindings" / "dbo.fn_VectorL2Distance.pg.sql"
    target.write_text(target.read_text().replace("precisionn", "precision"))
    fixed = run("publish", "--target", fresh_db, "--source", db_copy, "--log-dir", tmp_path)
    assert fixed.code == 0, fixed
    done = outcomes(latest_log(tmp_path))
    assert done["dbo.fn_VectorL2Distance"] == ("create", "applied")
    assert done["dbo.sp_VectorL2Distance"] == ("create", "applied")
    assert done["dbo.fn_VectorNormalize"] == ("unchanged", "unchanged")


def test_dry_run_prints_the_plan_and_sql_and_executes_nothing(run, pg_instance, tmp_path):
    url = pg_instance.url("never_created_db")
    result = run("publish", "--target", url, "--dry-run", "--log-dir", tmp_path)
    assert result.code == 1, result  # differences (everything is to be created)
    assert "4 advanced tables" in result.out and "5 service broker" in result.out  # empty stages shown
    assert "CREATE TABLE IF NOT EXISTS dbo.Atoms" in result.out
    assert "CREATE OR REPLACE FUNCTION dbo.fn_VectorDotProduct" in result.out
    assert query(pg_instance.url("postgres"), "SELECT count(*) FROM pg_database WHERE datname = 'never_created_db'") == [(0,)]
    assert not list(tmp_path.glob("deployment-*.json"))


def test_dry_run_on_a_deployed_database_shows_only_changes(run, fresh_db, db_copy, tmp_path):
    assert run("publish", "--target", fresh_db, "--source", db_copy, "--log-dir", tmp_path).code == 0
    capture_ddl(fresh_db)
    softmax = db_copy / "bindings" / "dbo.fn_VectorSoftmax.pg.sql"
    softmax.write_text(softmax.read_text().replace("return vectors.softmax(v)", "return vectors.softmax(v)  # changed"))
    result = run("publish", "--target", fresh_db, "--source", db_copy, "--dry-run")
    assert result.code == 1, result
    assert "1 alter, 2 reapply" in result.out  # the function, its procedure, and the privileges
    sql = result.out.split("SQL publish would execute", 1)[1]
    assert "dbo.fn_VectorSoftmax" in sql and "dbo.sp_VectorSoftmax" in sql
    assert "TABLE dbo.Atoms" not in sql  # (the privileges, granted again, name it: GRANT SELECT ON dbo.Atoms)
    assert ddl_seen(fresh_db) == []


def test_added_column_is_altered_in_place_keeping_rows(run, fresh_db, db_copy, tmp_path):
    assert run("publish", "--target", fresh_db, "--source", db_copy, "--log-dir", tmp_path).code == 0
    query(fresh_db, "INSERT INTO dbo.Atoms (ContentHash, ContentType, Modality, ContentSize) "
                    "SELECT sha256(i::text::bytea), 'text/plain', 'text', i FROM generate_series(1, 50) i")
    oid_before = query(fresh_db, "SELECT 'dbo.atoms'::regclass::oid, pg_relation_filenode('dbo.atoms')")
    capture_ddl(fresh_db)
    atoms = db_copy / "tables" / "dbo.Atoms.pg.sql"
    atoms.write_text(atoms.read_text().replace("    Metadata       jsonb       NULL,\n",
                                               "    Metadata       jsonb       NULL,\n    Note text NULL,\n"))
    result = run("publish", "--target", fresh_db, "--source", db_copy, "--log-dir", tmp_path)
    assert result.code == 0, result
    done = outcomes(latest_log(tmp_path))
    assert done["dbo.Atoms"] == ("alter", "applied")
    assert done["dbo.sp_IngestAtom"] == ("reapply", "applied")  # what requires the table follows it
    # the table, then every routine that requires it, directly or through another (ingestion and its
    # graph writers, search and the vector index, generation and the reasoning built on it, concept
    # discovery and binding, the provenance graph's readers, the autonomous loop's measures and the
    # phases that call them), then the row-level security (its policies name the table) and the
    # privileges, granted again; nothing else
    seen = ddl_seen(fresh_db)
    routines = sorted(name.split("(")[0] for command, name in seen[1:]
                      if command in ("CREATE FUNCTION", "CREATE PROCEDURE"))
    assert seen[0][0] == "ALTER TABLE" and routines == sorted(f"dbo.{n.lower()}" for n in (
        "fn_BuildVectorSegment", "fn_VectorIndexSearch", "fn_VectorIndexSearchMany", "fn_ConceptDrift",
        "fn_RunConceptDiscovery", "sp_AtomConceptMemberships", "sp_AtomLineage", "sp_BindAtomConcepts",
        "sp_BuildVectorIndex", "sp_GraphRecordAtoms", "sp_SimilarAtoms", "fn_AutonomousActionMetric", "fn_BindConcepts",
        "fn_DiscoverConcepts", "sp_Analyze", "sp_DiscoverConcepts", "sp_HealthCheck", "sp_IngestAtoms", "sp_SemanticSearch",
        "sp_StoreAtom", "sp_Act", "sp_GraphRecordGeneration", "sp_IngestAtom", "sp_IngestModel", "sp_Learn",
        "fn_GenerateText", "sp_ProcessLoopMessage", "sp_AutonomousImprovement", "sp_GenerateText", "sp_RunAutonomousLoop",
        "fn_Reasoning", "sp_ChainOfThoughtReasoning", "sp_MultiPathReasoning", "sp_SelfConsistencyReasoning"))
    assert {command for command, _ in seen[1:]} - {"CREATE FUNCTION", "CREATE PROCEDURE"} == {
        "ALTER TABLE", "CREATE POLICY", "GRANT", "REVOKE"}
    assert query(fresh_db, "SELECT count(*), count(note) FROM dbo.Atoms") == [(50, 0)]
    # the same table, not a rebuilt copy
    assert query(fresh_db, "SELECT 'dbo.atoms'::regclass::oid, pg_relation_filenode('dbo.atoms')") == oid_before


def test_changed_queue_is_blocked_and_nothing_runs(run, fresh_db, db_copy, tmp_path):
    (db_copy / "servicebroker" / "dbo.TestQueue.pg.sql").write_text(
        "-- kind: queue\n-- engine-specific: test\nCREATE TABLE IF NOT EXISTS dbo.TestQueue (Id int);\n")
    assert run("publish", "--target", fresh_db, "--source", db_copy, "--log-dir", tmp_path).code == 0
    capture_ddl(fresh_db)
    (db_copy / "servicebroker" / "dbo.TestQueue.pg.sql").write_text(
        "-- kind: queue\n-- engine-specific: test\nCREATE TABLE IF NOT EXISTS dbo.TestQueue (Id bigint);\n")
    softmax = db_copy / "bindings" / "dbo.fn_VectorSoftmax.pg.sql"
    softmax.write_text(softmax.read_text() + "\n-- changed\n")
    result = run("publish", "--target", fresh_db, "--source", db_copy, "--log-dir", tmp_path)
    assert result.code == 1, result
    assert "dbo.TestQueue" in result.out and "nothing was executed" in result.out
    assert ddl_seen(fresh_db) == []
    refusal = latest_log(tmp_path, "error")
    assert refusal["status"] == "refused" and refusal["executed"] == []
    assert [b["object"] for b in refusal["blocked_objects"]] == ["dbo.TestQueue"]
    assert refusal["blocked_objects"][0]["file"] == "db/servicebroker/dbo.TestQueue.pg.sql"


def test_skip_external_scripts_leaves_out_stage_3_and_what_needs_it(run, fresh_db, tmp_path):
    result = run("publish", "--target", fresh_db, "--skip-external-scripts", "--log-dir", tmp_path)
    assert result.code == 0, result
    done = outcomes(latest_log(tmp_path))
    assert done["hartonomous_ext"] == ("skip", "skipped")
    assert done["dbo.fn_VectorDotProduct"] == ("skip", "skipped")
    assert done["verify_vector_ops"] == ("skip", "skipped")
    assert done["dbo.Atoms"] == ("create", "applied")
    assert query(fresh_db, "SELECT to_regclass('dbo.externallibraries') IS NULL, to_regclass('dbo.atoms') IS NOT NULL") == [(True, True)]
    assert run("verify", "--target", fresh_db, "--skip-external-scripts").code == 0


def test_a_second_concurrent_publish_is_refused(run, fresh_db, tmp_path):
    import psycopg

    with psycopg.connect(fresh_db, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(hashtext('hartonomous-deployer'))")
        result = run("publish", "--target", fresh_db, "--log-dir", tmp_path)
        assert result.code == 2, result
        assert "another publish" in result.err
        assert query(fresh_db, "SELECT to_regclass('dbo.atoms')") == [(None,)]
    assert run("publish", "--target", fresh_db, "--log-dir", tmp_path).code == 0


def test_verify_of_a_missing_database_says_so(run, pg_instance):
    result = run("verify", "--target", pg_instance.url("no_such_database"))
    assert result.code == 2
    assert "the database does not exist" in result.err


def test_table_changes_are_seen_when_dbo_is_the_default_schema(run, fresh_db, db_copy, tmp_path):
    # SQL Server logins default to dbo; alembic reports the default schema as None
    query(fresh_db, "ALTER DATABASE " + fresh_db.split("///")[1].split("?")[0] + " SET search_path = dbo, public")
    assert run("publish", "--target", fresh_db, "--source", db_copy, "--log-dir", tmp_path).code == 0
    jobs = db_copy / "tables" / "dbo.IngestionJobs.pg.sql"
    jobs.write_text(jobs.read_text().replace("    ErrorMessage   text        NULL,\n",
                                             "    ErrorMessage   text        NULL,\n    Priority integer NULL,\n"))
    result = run("publish", "--target", fresh_db, "--source", db_copy, "--log-dir", tmp_path)
    assert result.code == 0, result
    assert outcomes(latest_log(tmp_path))["dbo.IngestionJobs"] == ("alter", "applied")
    assert query(fresh_db, "SELECT count(*) FROM information_schema.columns WHERE column_name = 'priority'") == [(1,)]


def test_index_include_and_predicate_changes_are_applied(run, fresh_db, db_copy, tmp_path):
    assert run("publish", "--target", fresh_db, "--source", db_copy, "--log-dir", tmp_path).code == 0
    atoms = db_copy / "tables" / "dbo.Atoms.pg.sql"
    atoms.write_text(atoms.read_text().replace("INCLUDE (ContentType, CreatedAt)", "INCLUDE (ContentType, ContentSize)"))
    models = db_copy / "tables" / "dbo.Models.pg.sql"
    models.write_text(models.read_text().replace("WHERE SourceHash IS NOT NULL", "WHERE SourceHash IS NOT NULL AND IsActive"))
    result = run("publish", "--target", fresh_db, "--source", db_copy, "--log-dir", tmp_path)
    assert result.code == 0, result
    indexes = dict(query(fresh_db, "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'dbo'"))
    assert "INCLUDE (contenttype, contentsize)" in indexes["ix_atoms_tenant_modality"]
    assert "isactive" in indexes["ux_models_tenant_sourcehash"]
    assert run("plan", "--target", fresh_db, "--source", db_copy).code == 0


def test_primary_key_change_is_blocked(run, fresh_db, db_copy, tmp_path):
    assert run("publish", "--target", fresh_db, "--source", db_copy, "--log-dir", tmp_path).code == 0
    jobs = db_copy / "tables" / "dbo.IngestionJobs.pg.sql"
    jobs.write_text(jobs.read_text().replace("PRIMARY KEY (IngestionJobId)", "PRIMARY KEY (IngestionJobId, TenantId)"))
    result = run("publish", "--target", fresh_db, "--source", db_copy, "--log-dir", tmp_path)
    assert result.code == 1, result
    said = " ".join(result.out.split())
    assert "blocked: dbo.IngestionJobs" in said and "primary key" in said


def test_not_null_column_without_default_on_rows_is_blocked(run, fresh_db, db_copy, tmp_path):
    assert run("publish", "--target", fresh_db, "--source", db_copy, "--log-dir", tmp_path).code == 0
    query(fresh_db, "INSERT INTO dbo.IngestionJobs (JobType) VALUES ('x')")
    jobs = db_copy / "tables" / "dbo.IngestionJobs.pg.sql"
    jobs.write_text(jobs.read_text().replace("    ErrorMessage   text        NULL,\n",
                                             "    ErrorMessage   text        NULL,\n    Owner text NOT NULL,\n"))
    result = run("publish", "--target", fresh_db, "--source", db_copy, "--log-dir", tmp_path, "--allow-data-loss")
    assert result.code == 1, result
    assert "blocked: dbo.IngestionJobs" in result.out and "give it a default" in result.out


def test_numeric_scale_narrowing_is_a_data_loss_alert(run, fresh_db, db_copy, tmp_path):
    scratch = db_copy / "tables" / "dbo.Prices.pg.sql"
    scratch.write_text("-- kind: table\n-- requires: dbo\n-- engine-specific: test\n"
                       "CREATE TABLE IF NOT EXISTS dbo.Prices (Id int PRIMARY KEY, Price numeric(10,4));\n")
    assert run("publish", "--target", fresh_db, "--source", db_copy, "--log-dir", tmp_path).code == 0
    query(fresh_db, "INSERT INTO dbo.Prices VALUES (1, 1.2345), (2, NULL)")
    scratch.write_text(scratch.read_text().replace("numeric(10,4)", "numeric(10,2)"))
    result = run("publish", "--target", fresh_db, "--source", db_copy, "--log-dir", tmp_path)
    assert result.code == 1, result
    assert "type changed price: 1 rows" in result.out


def test_changed_signature_leaves_no_stale_overload(run, fresh_db, db_copy, tmp_path):
    assert run("publish", "--target", fresh_db, "--source", db_copy, "--log-dir", tmp_path).code == 0
    softmax = db_copy / "bindings" / "dbo.fn_VectorSoftmax.pg.sql"
    softmax.write_text(softmax.read_text().replace("dbo.fn_VectorSoftmax(v bytea)",
                                                   "dbo.fn_VectorSoftmax(v bytea, temperature double precision DEFAULT 1.0)"))
    result = run("publish", "--target", fresh_db, "--source", db_copy, "--log-dir", tmp_path)
    assert result.code == 0, result  # verification calls fn_VectorSoftmax(bytea): one candidate only
    assert query(fresh_db, "SELECT pronamespace::regnamespace::text, pg_get_function_identity_arguments(oid) "
                           "FROM pg_proc WHERE proname = 'fn_vectorsoftmax'") == [("dbo", "v bytea, temperature double precision")]


def test_changed_result_columns_replace_the_routine(run, fresh_db, db_copy, tmp_path):
    # CREATE OR REPLACE refuses new OUT parameters or result columns (42P13): an upgrade renaming
    # sp_IngestModel's INOUT JobId failed half way before the routine was dropped and created again
    assert run("publish", "--target", fresh_db, "--source", db_copy, "--log-dir", tmp_path).code == 0
    apply_map = db_copy / "procedures" / "dbo.fn_ApplyWeightMap.pg.sql"
    apply_map.write_text(apply_map.read_text().replace("RETURNS TABLE (ModelName text,", "RETURNS TABLE (Model text,"))
    result = run("publish", "--target", fresh_db, "--source", db_copy, "--log-dir", tmp_path)
    assert result.code == 0, result
    assert query(fresh_db, "SELECT pg_get_function_result(oid) FROM pg_proc WHERE proname = 'fn_applyweightmap'") == [
        ("TABLE(model text, tensorname text, chunkschanged integer)",)]


def test_dropped_tables_go_in_reverse_order_of_creation(run, fresh_db, db_copy, tmp_path):
    (db_copy / "tables" / "dbo.AParent.pg.sql").write_text(
        "-- kind: table\n-- requires: dbo\n-- engine-specific: test\n"
        "CREATE TABLE IF NOT EXISTS dbo.AParent (Id int PRIMARY KEY);\n")
    (db_copy / "tables" / "dbo.BChild.pg.sql").write_text(
        "-- kind: table\n-- requires: dbo.AParent\n-- engine-specific: test\n"
        "CREATE TABLE IF NOT EXISTS dbo.BChild (Id int PRIMARY KEY, ParentId int REFERENCES dbo.AParent (Id));\n")
    assert run("publish", "--target", fresh_db, "--source", db_copy, "--log-dir", tmp_path).code == 0
    (db_copy / "tables" / "dbo.AParent.pg.sql").unlink()
    (db_copy / "tables" / "dbo.BChild.pg.sql").unlink()
    result = run("publish", "--target", fresh_db, "--source", db_copy, "--log-dir", tmp_path)
    assert result.code == 0, result
    log = latest_log(tmp_path)
    dropped = [o["object"] for o in log["objects"] if o["outcome"] == "dropped"]
    assert dropped == ["dbo.BChild", "dbo.AParent"]
    assert query(fresh_db, "SELECT to_regclass('dbo.aparent'), to_regclass('dbo.bchild')") == [(None, None)]


def test_history_of_an_older_deployer_is_upgraded(run, fresh_db, tmp_path):
    assert run("publish", "--target", fresh_db, "--log-dir", tmp_path).code == 0
    query(fresh_db, "ALTER TABLE deploy.DeployedObjects DROP COLUMN LiveHash; "
                    "ALTER TABLE deploy.DeploymentHistory DROP COLUMN LiveHash")
    assert run("plan", "--target", fresh_db).code == 0  # reads work without the column
    assert run("publish", "--target", fresh_db, "--log-dir", tmp_path).code == 0
    assert query(fresh_db, "SELECT count(*) FROM information_schema.columns WHERE table_schema = 'deploy' "
                           "AND column_name = 'livehash'") == [(2,)]


def test_a_step_that_cannot_be_rendered_refuses_the_publish_before_anything_runs(fresh_db):
    """alembic refuses some operations only when it renders them: that happens before the
    deployment starts, so nothing is half done."""
    import pytest

    from deployer import __version__
    from deployer.engines import open_engine
    from deployer.package import render_package
    from deployer.target.apply import PlanRefused, apply_plan
    from deployer.target.plan import Flags, plan
    from deployer.target.state import inspect_target

    engine = open_engine(fresh_db)
    engine.connect(create_database=False)
    try:
        package = render_package("postgresql")
        result = plan(package, inspect_target(engine, package), Flags(), package_version=__version__)
        table = next(s for s in result.steps if s.obj.name == "dbo.Atoms")
        table.action, table.operations = "alter", ["not an alembic operation"]
        with pytest.raises(PlanRefused, match=r"cannot render: dbo.Atoms \(db/tables/dbo.Atoms.pg.sql\)"):
            apply_plan(result, engine, Flags())
    finally:
        engine.close()
    assert query(fresh_db, "SELECT count(*) FROM pg_namespace WHERE nspname IN ('deploy', 'dbo')") == [(0,)]


def test_the_loops_indexes_are_not_drift_and_a_publish_keeps_them(run, fresh_db, tmp_path):
    """An index the autonomous loop built (named by hartonomous_ext.autonomy.index_name) is the
    loop's to keep or revert: drift does not report it and publish --allow-drift leaves it, while an
    index a DBA added by hand is still drift and is taken back."""
    from hartonomous_ext.autonomy import index_name
    assert run("publish", "--target", fresh_db, "--log-dir", tmp_path).code == 0
    loop_index = index_name("inferencerequests", ["tasktype", "starttime"])
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute(f"CREATE INDEX {loop_index} ON dbo.InferenceRequests (TaskType, StartTime)")
    assert run("drift", "--target", fresh_db).code == 0
    again = run("publish", "--target", fresh_db, "--log-dir", tmp_path)
    assert again.code == 0 and "No changes" in again.out, again

    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute("CREATE INDEX ix_by_hand ON dbo.InferenceRequests (ModelId)")
    drift = run("drift", "--target", fresh_db)
    assert drift.code == 1 and "dbo.InferenceRequests" in drift.out, drift
    assert run("publish", "--target", fresh_db, "--allow-drift", "--log-dir", tmp_path).code == 0
    indexes = {name for (name,) in query(fresh_db, "SELECT indexname FROM pg_indexes WHERE schemaname = 'dbo' "
                                                   "AND tablename = 'inferencerequests'")}
    assert loop_index in indexes and "ix_by_hand" not in indexes
    assert run("drift", "--target", fresh_db).code == 0
