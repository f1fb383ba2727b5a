"""The pipeline's pure steps, without a database: catalog, graph, render, library, plan."""

from __future__ import annotations

import re
import zipfile
from io import BytesIO
from pathlib import Path

import pytest

from deployer.source.catalog import (
    CatalogError, DbObject, check_engine_parity, engine_specific_objects, load_catalog, parse_header,
)
from deployer.source.graph import GraphError, dependents, order
from deployer.source.library import build_library
from deployer.package import DB_ROOT, render_package
from deployer.engines import dialect_for
from deployer.engines.base import DeployedObject
from deployer.report.scripts import plan_script
from deployer.target.plan import Flags, plan
from deployer.target.state import TargetState
from deployer.engines.mssql.dialect import split_batches
from deployer.source.render import RenderError, text_hash
from deployer.source.stages import Stage


def obj(name, stage=Stage.PROCEDURES, requires=(), kind="procedure"):
    return DbObject(name=name, kind=kind, stage=stage, engine_name="postgresql",
                    path=Path(f"x/{name}.pg.sql"), requires=tuple(requires))


# catalog -----------------------------------------------------------------------------------------
def test_every_object_exists_on_both_engines_or_says_why():
    assert check_engine_parity(DB_ROOT) == []
    specific = engine_specific_objects(DB_ROOT)
    assert specific and all(len(o.engine_specific) > 20 for o in specific)
    assert {"Database", "ExternalScriptsEnabled", "ServiceBroker", "plpython3u", "postgis"} <= {o.name for o in specific}


def _public(objects):
    """Public procedures: dbo.sp_* (a procedure, or on PostgreSQL a function when it returns rows)."""
    return [o for o in objects if o.name.startswith("dbo.sp_") and o.kind in ("procedure", "function")
            and not o.engine_specific]


def test_same_public_procedures_on_both_engines():
    names = {e: {o.name for o in _public(load_catalog(DB_ROOT, e).objects)} for e in ("mssql", "postgresql")}
    assert names["mssql"] == names["postgresql"]
    assert {"dbo.sp_VectorDotProduct", "dbo.sp_VectorCosineSimilarity", "dbo.sp_VectorL2Distance",
            "dbo.sp_VectorNormalize", "dbo.sp_VectorSoftmax"} <= names["mssql"]


def test_missing_counterpart_is_reported(db_copy):
    (db_copy / "procedures" / "dbo.sp_Only.pg.sql").write_text("-- kind: procedure\nSELECT 1;\n")
    problems = check_engine_parity(db_copy)
    assert len(problems) == 1 and "dbo.sp_Only exists for postgresql but not for mssql" in problems[0]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("SELECT 1;\n", "has no '-- kind:' line"),
        ("-- kind: gadget\nSELECT 1;\n", "unknown kind 'gadget'"),
        ("-- kind: procedure\n-- requries: dbo.Atoms\nSELECT 1;\n", "unknown header key 'requries'"),
        ("-- kind: procedure\n-- kind: table\n", "header key 'kind' given twice"),
        ("-- kind: procedure\n-- requires: dbo.Atoms; DROP TABLE x\n", "not a valid object name"),
        ("-- kind: procedure\n-- renamed: A -> B\nSELECT 1;\n", "only a table has it"),
        ("-- kind: table\n-- renamed: A to B\nSELECT 1;\n", "renamed 'A to B' is not 'OldColumn -> NewColumn'"),
        ("-- kind: table\n-- renamed: A -> B; DROP TABLE x\nSELECT 1;\n", "is not 'OldColumn -> NewColumn'"),
        ("-- kind: table\n-- renamed: A -> B, a -> C\nSELECT 1;\n", "a renamed from twice"),
        ("-- kind: table\n-- renamed: A -> C, B -> c\nSELECT 1;\n", "c renamed to twice"),
    ],
)
def test_malformed_headers_are_refused_with_the_file_named(db_copy, text, message):
    (db_copy / "procedures" / "dbo.sp_Bad.pg.sql").write_text(text)
    with pytest.raises(CatalogError) as caught:
        load_catalog(db_copy, "postgresql")
    assert message in str(caught.value) and "db/procedures/dbo.sp_Bad.pg.sql" in str(caught.value)


def test_non_utf8_source_is_refused(db_copy):
    (db_copy / "procedures" / "dbo.sp_Latin.pg.sql").write_bytes(b"-- kind: procedure\nSELECT '\xe9';\n")
    with pytest.raises(CatalogError, match="not valid UTF-8"):
        load_catalog(db_copy, "postgresql")


def test_header_ends_at_the_first_ordinary_line():
    header = parse_header("-- kind: table\n-- requires: dbo\n-- Memory: not a key, prose\n", "f")
    assert header == {"kind": "table", "requires": "dbo"}


# graph -------------------------------------------------------------------------------------------
def test_order_is_by_stage_then_requirements_then_name():
    objects = [obj("c", requires=["a"]), obj("b"), obj("a", requires=["t"]), obj("t", Stage.DOMAIN_TABLES, kind="table")]
    assert [o.name for o in order(objects)] == ["t", "a", "b", "c"]


def test_cycle_is_refused_naming_the_objects():
    with pytest.raises(GraphError) as caught:
        order([obj("a", requires=["b"]), obj("b", requires=["a"])])
    message = str(caught.value)
    assert "cycle" in message and "a" in message and "b" in message and "x/" in message


def test_requirement_on_a_later_stage_is_refused_naming_both():
    with pytest.raises(GraphError) as caught:
        order([obj("dbo.T", Stage.DOMAIN_TABLES, requires=["dbo.sp_P"], kind="table"), obj("dbo.sp_P")])
    message = str(caught.value)
    assert "dbo.T" in message and "dbo.sp_P" in message and "later stage" in message
    assert "stage 2 domain tables" in message and "stage 7 procedures" in message


def test_unknown_requirement_is_refused():
    with pytest.raises(GraphError, match="requires dbo.Nope, which is not in the package"):
        order([obj("a", requires=["dbo.Nope"])])


def test_dependents_are_transitive():
    objects = [obj("a"), obj("b", requires=["a"]), obj("c", requires=["b"]), obj("d")]
    assert dependents(objects, {"a"}) == {"b", "c"}


def test_real_package_orders_on_both_engines():
    for engine in ("mssql", "postgresql"):
        ordered = order(load_catalog(DB_ROOT, engine).objects)
        stages = [int(o.stage) for o in ordered]
        assert stages == sorted(stages)
        position = {o.name: i for i, o in enumerate(ordered)}
        assert all(position[r] < position[o.name] for o in ordered for r in o.requires)


# render ------------------------------------------------------------------------------------------
def test_hash_ignores_line_endings_and_trailing_whitespace():
    assert text_hash("SELECT 1;  \r\nSELECT 2;\r\n") == text_hash("SELECT 1;\nSELECT 2;\n\n")
    assert text_hash("SELECT 1;") != text_hash("SELECT 2;")


def test_crlf_checkout_renders_the_same_hashes(db_copy):
    for path in db_copy.rglob("*"):
        if path.is_file() and path.suffix in (".sql", ".py"):
            path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    for engine in ("mssql", "postgresql"):
        original = {r.obj.name: r.hash for r in render_package(engine)}
        windows = {r.obj.name: r.hash for r in render_package(engine, db_root=db_copy)}
        assert windows == original


def test_undefined_template_variable_is_an_error_naming_the_file(db_copy):
    (db_copy / "procedures" / "dbo.sp_T.pg.sql").write_text("-- kind: procedure\nSELECT '{{ no_such_variable }}';\n")
    with pytest.raises(RenderError, match=r"db/procedures/dbo.sp_T.pg.sql: 'no_such_variable' is undefined"):
        render_package("postgresql", db_root=db_copy)


def test_template_syntax_error_names_file_and_line(db_copy):
    (db_copy / "procedures" / "dbo.sp_T.pg.sql").write_text("-- kind: procedure\n\n{% if %}\n")
    with pytest.raises(RenderError, match=r"dbo.sp_T.pg.sql: template syntax error at line 3"):
        render_package("postgresql", db_root=db_copy)


@pytest.mark.parametrize("name", ["x]; DROP DATABASE master; --", "a b", "", "1abc", "x" * 200])
def test_hostile_database_names_are_refused(name):
    with pytest.raises(RenderError, match="is not allowed"):
        render_package("mssql", database_name=name)


def test_unsupported_mssql_version_is_refused():
    with pytest.raises(RenderError, match="2017 is not supported"):
        render_package("mssql", mssql_version=2017)


def test_go_splitting_follows_sqlcmd():
    assert split_batches("SELECT 1;\nGO\nSELECT 2;\n  go  \n\nGO\n") == ["SELECT 1;\n", "SELECT 2;\n"]
    assert split_batches("SELECT 'GO';\nGOTO x;\n") == ["SELECT 'GO';\nGOTO x;\n"]


def test_filestream_flag_changes_only_the_filegroup_object():
    with_fs = {r.obj.name: r.hash for r in render_package("mssql")}
    without = {r.obj.name: r.hash for r in render_package("mssql", skip_filestream=True)}
    assert {n for n in with_fs if with_fs[n] != without[n]} == {"FilestreamFilegroup", "dbo.AtomPayloadStore"}
    assert "ADD FILEGROUP" not in next(r.sql for r in render_package("mssql", skip_filestream=True)
                                       if r.obj.name == "FilestreamFilegroup")


# library -----------------------------------------------------------------------------------------
def test_library_wheel_is_reproducible_and_importable(db_copy):
    first, second = build_library(DB_ROOT, "1.2.3"), build_library(DB_ROOT, "1.2.3")
    assert first.wheel == second.wheel and first.filename == "hartonomous_ext-1.2.3-py3-none-any.whl"
    with zipfile.ZipFile(BytesIO(first.wheel)) as archive:
        names = archive.namelist()
        assert "hartonomous_ext/__init__.py" in names and "hartonomous_ext/vectors.py" in names
        assert "hartonomous_ext-1.2.3.dist-info/RECORD" in names
        assert archive.testzip() is None
    (db_copy / "external_scripts" / "hartonomous_ext" / "vectors.py").write_bytes(
        (DB_ROOT / "external_scripts" / "hartonomous_ext" / "vectors.py").read_bytes().replace(b"\n", b"\r\n"))
    assert build_library(db_copy, "1.2.3").sha256 == first.sha256


# plan --------------------------------------------------------------------------------------------
def test_plan_marks_dependents_of_a_change_for_reapply():
    rendered = render_package("postgresql")
    deployed = {r.obj.name: DeployedObject(r.obj.name, r.obj.kind, int(r.obj.stage), r.hash, "v", "now")
                for r in rendered}
    deployed["dbo.fn_VectorDotProduct"] = DeployedObject("dbo.fn_VectorDotProduct", "function", 6, "0" * 64, "v", "now")
    result = plan(rendered, TargetState("postgresql", "t", deployed=deployed), Flags(), package_version="v")
    actions = {s.obj.name: s.action for s in result.steps}
    assert actions["dbo.fn_VectorDotProduct"] == "alter"
    assert actions["dbo.sp_VectorDotProduct"] == "reapply"
    assert actions["dbo.Atoms"] == "unchanged"
    # and the privileges, granted again after any change (a re-created routine loses its grants)
    assert {n for n, a in actions.items() if a in ("alter", "reapply")} == {
        "dbo.fn_VectorDotProduct", "dbo.sp_VectorDotProduct", "RolePermissions"}
    script = plan_script(result, dialect_for("postgresql"))
    assert script.index("dbo.fn_VectorDotProduct") < script.index("dbo.sp_VectorDotProduct") < script.index("RolePermissions")


@pytest.mark.parametrize("engine_name", ["postgresql", "mssql"])
def test_a_plan_without_changes_grants_nothing_again(engine_name):
    rendered = render_package(engine_name)
    deployed = {r.obj.name: DeployedObject(r.obj.name, r.obj.kind, int(r.obj.stage), r.hash, "v", "now")
                for r in rendered}
    result = plan(rendered, TargetState(engine_name, "t", deployed=deployed), Flags(), package_version="v")
    assert {s.obj.name: s.action for s in result.steps}["RolePermissions"] == "unchanged"
    assert not result.changes


def _mssql_parameters(sql: str) -> list[str]:
    header = sql.split("CREATE OR ALTER PROCEDURE", 1)[1].split("\nAS\n", 1)[0]
    return [p.lower() for p in re.findall(r"@(\w+)\s+[A-Za-z]", header)]


def _pg_parameters(sql: str) -> list[str]:
    start = re.search(r"CREATE OR REPLACE (?:PROCEDURE|FUNCTION) [\w.]+\(", sql).end()
    depth, end = 1, start
    while depth:  # the parameter list ends at its matching parenthesis
        depth += {"(": 1, ")": -1}.get(sql[end], 0)
        end += 1
    names, depth, current = [], 0, ""
    for char in sql[start:end - 1] + ",":
        if char == "," and depth == 0:
            words = current.split()
            if not words:  # no parameters at all: dbo.sp_StopAutonomousLoop(), dbo.sp_HealthCheck()
                break
            names.append((words[1] if words[0].upper() in ("IN", "OUT", "INOUT") else words[0]).lower())
            current = ""
            continue
        depth += {"(": 1, ")": -1}.get(char, 0)
        current += char
    return names


def test_procedures_have_the_same_parameters_on_both_engines():
    mssql = {r.obj.name: r.sql for r in render_package("mssql") if r.obj in _public([r.obj])}
    pg = {r.obj.name: r.sql for r in render_package("postgresql") if r.obj in _public([r.obj])}
    assert mssql.keys() == pg.keys()
    for name in mssql:
        assert _mssql_parameters(mssql[name]) == _pg_parameters(pg[name]), name
        # every procedure so far takes parameters, but the loop's switch-off, its health check and its online runner
        assert _mssql_parameters(mssql[name]) or name in ("dbo.sp_StopAutonomousLoop", "dbo.sp_HealthCheck", "dbo.sp_ExecuteOnlineActions"), name


def test_dropping_a_system_versioned_table_alerts_for_its_history_rows_too():
    from deployer.source.stages import Stage as S
    from deployer.target.state import RetiredObject

    rendered = render_package("mssql")
    deployed = {r.obj.name: DeployedObject(r.obj.name, r.obj.kind, int(r.obj.stage), r.hash, "v", "now")
                for r in rendered}
    deployed["dbo.OldWeights"] = DeployedObject("dbo.OldWeights", "table", 2, "0" * 64, "v0", "then")
    state = TargetState("mssql", "t", deployed=deployed,
                        retired=[RetiredObject("dbo.OldWeights", "table", S.DOMAIN_TABLES, "v0")],
                        losses={("dbo.OldWeights", "table dropped", "dbo.OldWeights"): 3,
                                ("dbo.OldWeights", "history dropped", "dbo.OldWeightsHistory"): 40})
    result = plan(rendered, state, Flags(), package_version="v")
    assert [(a.change, a.target, a.rows) for a in result.data_loss] == [
        ("table dropped", "dbo.OldWeights", 3), ("history dropped", "dbo.OldWeightsHistory", 40)]
    drop = next(s for s in result.steps if s.obj.name == "dbo.OldWeights")
    assert "SET (SYSTEM_VERSIONING = OFF)" in drop.statements(dialect_for("mssql"))[0]


def test_reapply_applies_every_replaceable_object_but_the_library_and_no_table():
    rendered = render_package("postgresql")
    deployed = {r.obj.name: DeployedObject(r.obj.name, r.obj.kind, int(r.obj.stage), r.hash, "v", "now")
                for r in rendered}
    result = plan(rendered, TargetState("postgresql", "t", deployed=deployed), Flags(reapply=True), package_version="v")
    actions = {s.obj.name: (s.obj.kind, s.action) for s in result.steps}
    assert {name for name, (kind, action) in actions.items() if action == "reapply"} == {
        r.obj.name for r in rendered if r.obj.replaceable and r.obj.kind not in ("library", "check")}
    assert actions["dbo.Atoms"] == ("table", "unchanged")
    assert actions["hartonomous_ext"] == ("library", "unchanged")
    assert actions["role_app"] == ("role", "reapply") and actions["RolePermissions"] == ("grant", "reapply")
