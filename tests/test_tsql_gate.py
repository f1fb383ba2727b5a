"""The T-SQL static gate (tools.tsql_gate.parse) and reference check (tools.tsql_gate.references); no database.

The gate parses every batch of the SQL Server rendering with sqlfluff; the reference check
resolves the tables and columns used by the package's procedures, functions, views and checks
against the package's own tables. Both must pass for the package as it is, and both must fail for
the broken objects written here into a copy of db/.

Golden files: batches the gate cannot parse (statements on tools.tsql_gate.parse.EXEMPTIONS, e.g. CREATE
EXTERNAL LIBRARY) are compared with tests/golden/tsql/<object>.batch<n>.sql instead (a rendering
variant that differs gets <object>.batch<n>.<variant>.sql). After a deliberate change, regenerate
them and review the diff:

    HARTONOMOUS_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_tsql_gate.py
"""

from __future__ import annotations

import difflib
import io
import os
import re
import shutil
import zipfile
from collections import defaultdict
from functools import lru_cache
from pathlib import Path

import pytest
import sqlglot
from sqlglot.errors import ParseError

from deployer import __version__
from deployer.engines import dialect_for
from deployer.engines.mssql import statements as mssql_statements
from deployer.engines.mssql.dialect import VERSIONS as MSSQL_VERSIONS
from deployer.package import DB_ROOT, render_package
from deployer.source.catalog import DbObject
from deployer.source.library import build_library
from deployer.source.render import RenderedObject
from deployer.source.stages import Stage
from tools.tsql_gate.parse import (
    EXEMPTIONS,
    STAND_INS,
    _sqlfluff_problems,
    ExemptedBatch,
    check_deployer_sql,
    check_rendered,
    exempted_batches,
    exemptions_for,
    gate_config,
    parse_problems,
)
from tools.tsql_gate.references import SKIPPED_DML, check_deployer_references, check_references
from tools.tsql_gate.registry import RENDER_VARIANTS, STATEMENTS_SOURCE, deployer_sql, operation_batches, render_variant
from tools.tsql_gate.schema import build_schema, create_table_columns, deployer_schema
from tools.tsql_gate.statements import split_statements
from tools.tsql_gate.text import bind_placeholders, blank_comments_and_strings

GOLDEN = Path(__file__).parent / "golden" / "tsql"
UPDATE_GOLDEN = os.environ.get("HARTONOMOUS_UPDATE_GOLDEN") == "1"
SHARED_VARIANT = "mssql2022"  # the rendering whose text goes into the shared golden file
MSSQL = dialect_for("mssql")


@lru_cache(maxsize=None)
def rendered(variant: str) -> tuple[RenderedObject, ...]:
    return tuple(render_variant(variant))


@pytest.fixture
def package_copy(tmp_path) -> Path:
    """A private copy of db/ a test may add broken objects to."""
    target = tmp_path / "db"
    shutil.copytree(DB_ROOT, target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def add_object(db_root: Path, relative: str, body: str, kind: str = "procedure") -> str:
    """Write an SQL Server-only object into a db/ copy; returns its source label."""
    path = db_root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"-- kind: {kind}\n-- engine-specific: test object\n{body}", encoding="utf-8")
    return f"db/{relative}"


def listing(failures) -> str:
    return "\n".join(str(f) for f in failures)


# --------------------------------------------------------------------------------------------
# the gate: the package as it is


@pytest.mark.parametrize("variant", list(RENDER_VARIANTS))
def test_every_rendered_batch_parses(variant):
    objects = rendered(variant)
    assert any(o.obj.kind == "procedure" for o in objects)  # the gate has something to check
    failures = check_rendered(objects)
    assert not failures, f"T-SQL that sqlfluff cannot parse ({variant}):\n{listing(failures)}"


def test_the_supported_versions_are_all_gated():
    assert {RENDER_VARIANTS[v].get("mssql_version") for v in RENDER_VARIANTS} == set(MSSQL_VERSIONS)


def test_the_deployers_own_tsql_parses():
    labels = [label for label, _ in deployer_sql()]
    assert sum("HISTORY_DDL" in label for label in labels) == len(mssql_statements.HISTORY_DDL)
    assert any(label.endswith("RECORD_SQL") for label in labels)
    failures = check_deployer_sql()
    assert not failures, f"the deployer's T-SQL does not parse:\n{listing(failures)}"


def test_a_broken_deployer_statement_fails_the_gate(monkeypatch):
    broken = mssql_statements.RECORD_SQL.replace("MERGE deploy", "MERGE INTO INTO deploy")
    monkeypatch.setitem(mssql_statements.STATEMENTS, "RECORD_SQL", broken)
    failures = check_deployer_sql()
    assert [f.source for f in failures] == ["deployer/engines/mssql/statements.py: RECORD_SQL"], listing(failures)


def test_placeholders_become_the_parameters_the_server_sees():
    record = bind_placeholders(mssql_statements.RECORD_SQL)
    assert "?" not in record
    assert re.findall(r"@P\d+", record) == [f"@P{i}" for i in range(1, 14)]
    # a '?' inside a string literal or a comment is text, not a parameter marker
    assert bind_placeholders("SELECT N'why?' AS q, ? AS v; -- really?") == "SELECT N'why?' AS q, @P1 AS v; -- really?"


def test_every_statement_the_seam_defines_is_registered():
    """A `*_SQL` constant of deployer/engines/mssql/statements.py outside STATEMENTS would escape the gate."""
    registered = mssql_statements.STATEMENTS
    constants = {name: value for name, value in vars(mssql_statements).items()
                 if name.endswith("_SQL") and not name.startswith("_")}
    assert {name for name, value in constants.items() if isinstance(value, str)} - set(registered) == set()
    for name, value in constants.items():
        if isinstance(value, str):
            assert registered[name] == value, f"STATEMENTS[{name!r}] is not {name}"
        else:  # EXISTS_SQL: one statement per object kind
            assert set(value.values()) <= set(registered.values()), f"not every statement of {name} is in STATEMENTS"
    assert set(mssql_statements.HISTORY_DDL) <= set(registered.values())
    # and the gate takes exactly the registry
    assert [label for label, _ in deployer_sql()] == [f"{STATEMENTS_SOURCE}: {name}" for name in registered]


# --------------------------------------------------------------------------------------------
# the gate fails when it should


def test_a_broken_procedure_fails_the_gate(package_copy):
    label = add_object(package_copy, "procedures/dbo.sp_Broken.mssql.sql", (
        "CREATE OR ALTER PROCEDURE dbo.sp_Broken\n"
        "AS\n"
        "BEGIN\n"
        "    SET NOCOUNT ON;\n"
        "    SELECT AtomId FROM dbo.Atoms WHERE AND TenantId = 1;\n"
        "END;\n"
    ))
    failures = check_rendered(render_package("mssql", db_root=package_copy, mssql_version=2022))
    assert [(f.object, f.source, f.batch) for f in failures] == [("dbo.sp_Broken", label, 1)], listing(failures)
    # the batch starts with the two header lines; the bad WHERE is on its 7th line
    assert failures[0].line == 7, listing(failures)
    assert "WHERE AND" in failures[0].message


def test_a_statement_in_a_comment_or_string_does_not_exempt_a_batch():
    batch = "-- CREATE QUEUE dbo.Q\nSELECT N'DROP EXTERNAL LIBRARY x; MATCH(a-(e)->b)' AS note;\n"
    assert exemptions_for(batch) == ()
    assert exemptions_for("IF 1 = 1\nBEGIN\n    DROP EXTERNAL LIBRARY x;\nEND;\n") != ()
    # blanking keeps lengths and lines, so positions found in the blanked text are true positions
    assert len(blank_comments_and_strings(batch)) == len(batch)
    assert blank_comments_and_strings(batch).count("\n") == batch.count("\n")


# --------------------------------------------------------------------------------------------
# size: sqlfluff skips files over 20 KB by default; the gate must not


def test_the_gate_never_skips_large_input():
    config = gate_config()
    assert config.get("large_file_skip_byte_limit") == 0
    assert config.get("templater") == "raw"  # rendered text is final; no second templating


def test_the_library_is_exempt_by_rule_not_by_size():
    library = next(o for o in rendered(SHARED_VARIANT) if o.obj.kind == "library")
    exempted = [b for b in exempted_batches([library])]
    assert [b.number for b in exempted] == list(range(1, len(library.batches) + 1))
    for batch in exempted:
        assert [e.kind for e in batch.exemptions] == ["CREATE/ALTER/DROP EXTERNAL LIBRARY"]
        # and the exemption is needed: sqlfluff really rejects these batches
        assert parse_problems(batch.text), f"sqlfluff parses batch {batch.number} of the library now"


def test_a_large_batch_is_parsed_and_can_fail(package_copy):
    # a batch shaped like the library's: long hex literals, well over sqlfluff's 20 KB default
    rows = [f"    0x{(f'{i:04X}' * 60)} AS Chunk{i}," for i in range(120)]
    rows[-1] = rows[-1].rstrip(",")
    valid = "SELECT\n" + "\n".join(rows) + ";\n"
    label = add_object(package_copy, "verification/verify_large.mssql.sql", valid, kind="check")
    large = next(o for o in render_package("mssql", db_root=package_copy) if o.obj.source_label == label)
    assert len(large.batches) == 1 and len(large.batches[0].encode()) > 30_000
    assert check_rendered([large]) == []

    broken_rows = list(rows)
    broken_rows[100] = broken_rows[100].replace(" AS ", " AS AS ")  # 2 header lines, SELECT, 101st row
    broken = "SELECT\n" + "\n".join(broken_rows) + ";\n"
    add_object(package_copy, "verification/verify_large.mssql.sql", broken, kind="check")
    failures = [f for f in check_rendered(render_package("mssql", db_root=package_copy)) if f.source == label]
    assert failures and failures[0].line == 2 + 1 + 101, listing(failures)


# --------------------------------------------------------------------------------------------
# exemptions: each one needed, each exempted batch reviewed through a golden file


@pytest.mark.parametrize("exemption", EXEMPTIONS, ids=[e.kind for e in EXEMPTIONS])
def test_each_exemption_is_still_needed(exemption):
    """When a sqlfluff release learns a statement, this fails: drop the exemption then."""
    assert exemption.reason and exemption.samples
    for sample in exemption.samples:
        assert exemption in exemptions_for(sample), f"the pattern does not match its own sample: {sample}"
        assert parse_problems(sample), f"sqlfluff parses this now; drop the exemption:\n{sample}"


@pytest.mark.parametrize("stand_in", STAND_INS, ids=[s.kind for s in STAND_INS])
def test_each_stand_in_is_still_needed_and_parses(stand_in):
    """When a sqlfluff release learns the statement, this fails: drop the stand-in then."""
    for sample in stand_in.samples:
        assert _sqlfluff_problems(sample), f"sqlfluff parses this now; drop the stand-in:\n{sample}"
        assert parse_problems(sample) == (), f"the stand-in does not read this: {sample}"


def test_a_stand_in_does_not_hide_a_broken_statement_next_to_it():
    assert parse_problems("EXECUTE AS USER = N'x';\nINSERT INTO VALUES (;\nREVERT;\n")[0].line == 2


def test_every_exempted_batch_really_fails_to_parse():
    for variant in RENDER_VARIANTS:
        for batch in exempted_batches(rendered(variant)):
            assert parse_problems(batch.text), (
                f"{batch.object.obj.source_label} batch {batch.number} parses with sqlfluff; "
                f"it no longer needs {[e.kind for e in batch.exemptions]}"
            )


def golden_text(batch: ExemptedBatch) -> str:
    text = batch.text
    if batch.object.obj.kind == "library":
        # the wheel (and the size, hash and version the header comment quotes) changes with every
        # edit of the library's Python; test_the_library_literal_is_the_wheel checks the bytes
        text = re.sub(r"0x[0-9A-F]+", "0x<wheel>", text)
        text = re.sub(r"sha256 [0-9a-f]{64}", "sha256 <sha256>", text)
        text = re.sub(r"\b\d+ bytes\b", "<size> bytes", text)
        text = re.sub(r"hartonomous_ext-[^\s,]+?-py3-none-any\.whl", "hartonomous_ext-<version>-py3-none-any.whl", text)
    return text


def expected_goldens() -> dict[str, str]:
    texts: dict[tuple[str, int], dict[str, str]] = defaultdict(dict)
    for variant in RENDER_VARIANTS:
        for batch in exempted_batches(rendered(variant)):
            texts[(batch.object.obj.name, batch.number)][variant] = golden_text(batch)
    expected = {}
    for (name, number), by_variant in texts.items():
        shared = by_variant.get(SHARED_VARIANT, next(iter(by_variant.values())))
        expected[f"{name}.batch{number}.sql"] = shared
        for variant, text in by_variant.items():
            if text != shared:
                expected[f"{name}.batch{number}.{variant}.sql"] = text
    return expected


def check_golden_folder(folder: Path, expected: dict[str, str]) -> None:
    """The *.sql files of `folder` are exactly `expected` (HARTONOMOUS_UPDATE_GOLDEN=1 writes them)."""
    if UPDATE_GOLDEN:
        folder.mkdir(parents=True, exist_ok=True)
        for stale in set(p.name for p in folder.glob("*.sql")) - set(expected):
            (folder / stale).unlink()
        for name, text in expected.items():
            (folder / name).write_text(text, encoding="utf-8", newline="\n")
    actual = {p.name: p.read_text(encoding="utf-8") for p in folder.glob("*.sql")}
    missing, stale = sorted(set(expected) - set(actual)), sorted(set(actual) - set(expected))
    assert not missing and not stale, (
        f"golden files missing: {missing}, no longer rendered: {stale}; "
        "regenerate with HARTONOMOUS_UPDATE_GOLDEN=1 and review the diff"
    )
    for name, text in expected.items():
        diff = "".join(difflib.unified_diff(
            actual[name].splitlines(True), text.splitlines(True), f"{folder.name}/{name}", "rendered"))
        assert actual[name] == text, f"{name} differs from its rendering (HARTONOMOUS_UPDATE_GOLDEN=1 after review):\n{diff}"


def test_exempted_batches_match_their_golden_files():
    expected = expected_goldens()
    assert expected, "nothing is exempted: the golden files and this test can go"
    check_golden_folder(GOLDEN, expected)  # (operations/ has its own test)


def test_the_backup_and_restore_scripts_pass_the_gate():
    from tools.tsql_gate.parse import check_operation_scripts

    assert check_operation_scripts() == []


def test_the_exempted_batches_of_the_backup_and_restore_scripts_match_their_golden_files():
    # BACKUP and RESTORE are not in sqlfluff's grammar: a person reviews them through these files
    expected = {f"{label.replace(' (--skip-filestream)', '.skip-filestream')}.batch{number}.sql": batch
                for label, number, batch in operation_batches() if exemptions_for(batch)}
    assert any("RESTORE DATABASE" in t for t in expected.values()) and any("BACKUP DATABASE" in t for t in expected.values())
    check_golden_folder(GOLDEN / "operations", expected)


def test_the_library_literal_is_a_zip_holding_the_wheel():
    """SQL Server takes a Python package for CREATE EXTERNAL LIBRARY as a zip around the .whl."""
    library = next(o for o in rendered(SHARED_VARIANT) if o.obj.kind == "library")
    create = next(b for b in library.batches if re.search(r"CREATE\s+EXTERNAL\s+LIBRARY", b))
    literal = re.search(r"CONTENT\s*=\s*0x([0-9A-F]+)\)", create)
    assert literal, create[:300]
    expected = build_library(DB_ROOT, __version__)
    with zipfile.ZipFile(io.BytesIO(bytes.fromhex(literal.group(1)))) as outer:
        assert outer.namelist() == [expected.filename]
        wheel = outer.read(expected.filename)
    with zipfile.ZipFile(io.BytesIO(wheel)) as archive:
        assert archive.testzip() is None
        assert "hartonomous_ext/__init__.py" in archive.namelist()
    assert wheel == expected.wheel
    assert "AUTHORIZATION dbo" in create


# --------------------------------------------------------------------------------------------
# the reference check


@pytest.mark.parametrize("version", MSSQL_VERSIONS)
def test_package_references_resolve(version):
    objects = rendered(f"mssql{version}")
    assert {"procedure", "check"} <= {o.obj.kind for o in objects}
    failures = check_references(objects)
    assert not failures, f"unresolved names in the package's T-SQL:\n{listing(failures)}"


def test_the_deployers_own_dml_resolves_against_its_history_tables():
    assert set(deployer_schema()["deploy"]) == {"Deployments", "DeploymentHistory", "DeployedObjects"}
    failures = check_deployer_references()
    assert not failures, listing(failures)


def test_the_deployers_own_dml_fails_on_a_column_its_tables_lack(monkeypatch):
    broken = mssql_statements.RECORD_SQL.replace("TextHash = source.TextHash", "Hash = source.TextHash")
    monkeypatch.setitem(mssql_statements.STATEMENTS, "RECORD_SQL", broken)
    failures = check_deployer_references()
    assert [(f.source, f.name) for f in failures] == [("deployer/engines/mssql/statements.py: RECORD_SQL", "Hash")], listing(failures)


def test_the_deployers_data_operations_are_checked_against_the_package_tables(monkeypatch):
    # the client commands' statements read and write the package's tables, not deploy.*
    broken = mssql_statements.MODEL_BY_SOURCE_SQL.replace("SourceHash = ?", "SourceHsh = ?")
    monkeypatch.setitem(mssql_statements.STATEMENTS, "MODEL_BY_SOURCE_SQL", broken)
    failures = check_deployer_references(rendered(SHARED_VARIANT))
    assert [(f.source, f.name) for f in failures] == [
        (f"{STATEMENTS_SOURCE}: MODEL_BY_SOURCE_SQL", "SourceHsh")], listing(failures)


def test_the_schema_is_read_from_the_table_objects():
    schema, failures = build_schema(rendered(SHARED_VARIANT))
    assert failures == []
    assert set(schema["dbo"]) == {"Atoms", "AtomEmbeddings", "AtomPayloadStore", "IngestionJobs", "InferenceRequests",
                                  "SpatialLandmarks", "ModelLayers", "Models", "ModelTensors", "ModelTensorChunks",
                                  "TensorChunks", "WeightSnapshots", "WeightSnapshotChunks", "GenerationStreams", "TenantPrincipals", "TenantSecurityPolicy",
                                  "VectorIndexSegments", "VectorIndexChunks", "BillingRatePlans", "BillingRates",
                                  "BillingAccounts", "BillingUsagePeriods", "BillingUsageLedger", "BillingUsageLedger_InMemory",
                                  "AutonomousLoopSettings", "OODALoopMetrics", "AutonomousCycles", "AutonomousSnapshots",
                                  "AutonomousObservations", "AutonomousActionCatalog", "AutonomousActions",
                                  "AutonomousImprovementHistory", "InferenceRequests_Archive", "AutonomousLoopDeadLetters",
                                  "AutonomousLoopAttempts", "AnalyzeQueue", "HypothesizeQueue", "ActQueue", "LearnQueue"}
    assert schema["dbo"]["Atoms"]["ContentHash"] == "BINARY(32)"
    assert "ReferenceCount" in schema["dbo"]["Atoms"]


def test_a_create_table_sqlglot_cannot_parse_is_read_from_its_tokens():
    # sqlglot 30 stops at FILESTREAM; the payload store will have such a column
    text = (
        "CREATE TABLE dbo.AtomPayloadStore (\n"
        "    PayloadId UNIQUEIDENTIFIER ROWGUIDCOL NOT NULL CONSTRAINT DF_P DEFAULT NEWSEQUENTIALID(),\n"
        "    Payload   VARBINARY(MAX) FILESTREAM NULL,\n"
        "    Size      AS (DATALENGTH(Payload)),\n"
        "    CONSTRAINT PK_AtomPayloadStore PRIMARY KEY (PayloadId)\n"
        ") FILESTREAM_ON HartonomousFilestream"
    )
    with pytest.raises(ParseError):
        sqlglot.parse_one(text, dialect="tsql")
    db, table, columns = create_table_columns(text)
    assert (db, table) == ("dbo", "AtomPayloadStore")
    assert list(columns) == ["PayloadId", "Payload", "Size"]


def test_procedure_bodies_are_split_into_their_statements():
    body = (
        "CREATE OR ALTER PROCEDURE dbo.p @id BIGINT, @n INT = NULL OUTPUT\n"
        "WITH EXECUTE AS OWNER\n"
        "AS\n"
        "BEGIN\n"
        "    SET NOCOUNT ON;\n"
        "    IF EXISTS (SELECT 1 FROM dbo.Atoms WHERE AtomId = @id)\n"
        "        UPDATE dbo.Atoms SET ReferenceCount = ReferenceCount + 1 WHERE AtomId = @id\n"
        "    ELSE\n"
        "    BEGIN\n"
        "        SET @n = (SELECT CASE WHEN COUNT(*) > 0 THEN 1 ELSE 0 END FROM dbo.Models)\n"
        "        RETURN\n"
        "    END\n"
        "    BEGIN TRY\n"
        "        INSERT INTO #t (a) EXEC dbo.q;\n"
        "    END TRY\n"
        "    BEGIN CATCH\n"
        "        THROW;\n"
        "    END CATCH;\n"
        "END;\n"
    )
    statements = split_statements(body)
    assert [(s.first, s.condition, s.line) for s in statements] == [
        ("SET", False, 5), ("EXISTS", True, 6), ("UPDATE", False, 7), ("SET", False, 10),
        ("RETURN", False, 11), ("INSERT", False, 14), ("THROW", False, 17),
    ]
    assert statements[5].text == "INSERT INTO #t (a) EXEC dbo.q"


def test_statements_after_print_and_end_are_not_lost():
    # sqlglot's own tokenizer folds `END ELSE BEGIN SELECT ...` after a ';' into one string token
    statements = split_statements(
        "IF @x = 1 BEGIN PRINT 1; END ELSE BEGIN SELECT Nope FROM dbo.Atoms; END\nPRINT @x\nDELETE FROM dbo.Gone;\n"
    )
    assert [s.text for s in statements if s.first in ("SELECT", "DELETE")] == [
        "SELECT Nope FROM dbo.Atoms", "DELETE FROM dbo.Gone",
    ]


def procedure(name: str, body: str) -> RenderedObject:
    obj = DbObject(name=name, kind="procedure", stage=Stage.PROCEDURES, engine_name="mssql",
                   path=Path(f"procedures/{name}.mssql.sql"))
    return RenderedObject(obj, body, MSSQL.batches(body))


def test_system_temp_variable_and_deploy_tables_are_allowed():
    body = """CREATE OR ALTER PROCEDURE dbo.sp_Allowed AS
BEGIN
    DECLARE @ids TABLE (AtomId BIGINT);
    CREATE TABLE #work (AtomId BIGINT, Score FLOAT);
    INSERT INTO @ids (AtomId) SELECT AtomId FROM dbo.Atoms;
    INSERT INTO #work (AtomId, Score) SELECT i.AtomId, 1.0 FROM @ids AS i;
    WITH scored AS (SELECT w.AtomId, w.Score FROM #work AS w)
    SELECT s.AtomId, a.Modality FROM scored AS s JOIN dbo.Atoms AS a ON a.AtomId = s.AtomId;
    SELECT name, object_id FROM sys.objects WHERE type = 'U';
    SELECT TABLE_NAME FROM INFORMATION_SCHEMA.TABLES;
    SELECT value FROM STRING_SPLIT(N'a,b', N',');
    UPDATE deploy.Deployments SET Status = N'failed' WHERE DeploymentId = 1;
END;
"""
    failures = check_references(list(rendered(SHARED_VARIANT)) + [procedure("dbo.sp_Allowed", body)])
    assert not failures, listing(failures)


def test_a_service_broker_queue_reads_like_a_table_of_its_message_columns():
    # the runbooks count a queue's rows and read its messages; a column a queue lacks fails on a server
    body = ("SELECT COUNT(*) FROM dbo.AnalyzeQueue;\n"
            "SELECT conversation_handle, message_type_name, message_body FROM dbo.LearnQueue;\n"
            "SELECT message_text FROM dbo.ActQueue;\n")
    failures = check_references(list(rendered(SHARED_VARIANT)) + [procedure("dbo.sp_Queues", body)])
    assert [(f.object, f.name) for f in failures] == [("dbo.sp_Queues", "message_text")], listing(failures)


def test_activation_procedures_are_compared_by_object_not_by_a_two_part_name():
    # sys.service_queues.activation_procedure is a three-part name ([db].[dbo].[sp_X]): compared with
    # N'[dbo].[sp_X]' it never matches, and loop start or stop would alter every queue every time
    as_text = [r.obj.name for r in render_package("mssql")
               if re.search(r"activation_procedure\s*=", blank_comments_and_strings(r.sql), re.IGNORECASE)]
    assert as_text == []
    starts = next(r.sql for r in render_package("mssql") if r.obj.name == "dbo.sp_StartAutonomousLoop")
    assert starts.count("OBJECT_ID(q.activation_procedure) = OBJECT_ID(N'dbo.sp_") == 4


def test_the_recall_measure_cannot_fail_the_analyze_phase():
    # DBA review: a failure of the external script call itself (Msg 39004/39019: the external pool's
    # memory, Launchpad, an import) reached sp_Analyze's CATCH and failed every cycle; the call is in
    # a TRY of its own and the script's imports inside its try, so the problem is recorded instead
    analyze = next(r.sql for r in render_package("mssql") if r.obj.name == "dbo.sp_Analyze")
    call = analyze.index("found = vector_index.measure_recall(")
    before, after = analyze[:call], analyze[call:]
    assert before.rfind("BEGIN TRY") > before.rfind("EXEC sys.sp_execute_external_script") - 400
    assert before.rfind("BEGIN TRY") < before.rfind("EXEC sys.sp_execute_external_script")
    catch = after.index("BEGIN CATCH")
    assert after.index("END TRY") < catch and "XACT_STATE() = -1" in after[catch:catch + 200]
    # whatever the caller's session says: under XACT_ABORT ON the failed call would doom the phase
    assert re.search(r"SET\s+XACT_ABORT\s+OFF", blank_comments_and_strings(before))
    script = before[before.rfind("@script = N'"):]
    assert script.index("try:") < script.index("import json") and script.index("try:") < script.index("from hartonomous_ext")


def test_a_temp_table_created_in_the_object_is_checked_against_its_columns():
    body = "CREATE TABLE #work (AtomId BIGINT);\nSELECT Score FROM #work;\n"
    failures = check_references(list(rendered(SHARED_VARIANT)) + [procedure("dbo.sp_Temp", body)])
    assert [(f.object, f.name) for f in failures] == [("dbo.sp_Temp", "Score")], listing(failures)


def test_a_read_of_an_inline_table_valued_function_is_checked_against_its_columns():
    # a column the function lacks fails CREATE PROCEDURE on a server (Msg 207): the DBA review of
    # sp_IngestAtoms found LEFT(m.ModelName, 64) read from dbo.fn_StoredModel, which has no ModelName
    body = ("DECLARE @n NVARCHAR(64), @f NVARCHAR(32);\n"
            "SELECT @f = m.ModelFormat FROM dbo.fn_StoredModel(1, 0) AS m;\n"
            "SELECT @n = LEFT(m.ModelName, 64) FROM dbo.fn_StoredModel(1, 0) AS m;\n")
    failures = check_references(list(rendered(SHARED_VARIANT)) + [procedure("dbo.sp_Tvf", body)])
    assert [(f.object, f.name) for f in failures] == [("dbo.sp_Tvf", "ModelName")], listing(failures)


def test_graph_tables_have_their_pseudo_columns_and_no_others():
    # a NODE table has $node_id, an EDGE table $edge_id, $from_id and $to_id (graph.AtomGraphEdges'
    # writers insert through them); a node has no $from_id, and a misspelt one is still caught
    body = ("DECLARE @n BIGINT = 1;\n"
            "INSERT INTO graph.AtomGraphEdges ($from_id, $to_id, TenantId, EdgeType, CreatedBy) "
            "SELECT f.$node_id, t.$node_id, 0, N'DerivedFrom', N'x' FROM graph.AtomGraphNodes AS f, graph.AtomGraphNodes AS t "
            "WHERE f.NodeId = @n AND t.NodeId = @n;\n"
            "DELETE FROM graph.AtomGraphEdges WHERE $from_id IN (SELECT n.$node_id FROM graph.AtomGraphNodes AS n);\n"
            "SELECT @n = n.NodeId FROM graph.AtomGraphNodes AS n WHERE n.$from_id IS NULL;\n"
            "DELETE FROM graph.AtomGraphEdges WHERE $fromid IS NULL;\n")
    failures = check_references(list(rendered(SHARED_VARIANT)) + [procedure("dbo.sp_Graph", body)])
    assert [(f.object, f.name) for f in failures] == [("dbo.sp_Graph", "$from_id"), ("dbo.sp_Graph", "$fromid")], \
        listing(failures)


def test_an_index_table_hint_is_not_read_as_a_column():
    body = ("DECLARE @n BIGINT;\n"
            "SELECT @n = a.AtomId FROM dbo.Atoms AS a WITH (HOLDLOCK, INDEX (UQ_Atoms_Tenant_ContentHash), FORCESEEK) "
            "WHERE a.TenantId = 0;\n"
            "SELECT @n = a.AtomIdd FROM dbo.Atoms AS a WITH (INDEX (UQ_Atoms_Tenant_ContentHash), FORCESEEK);\n")
    failures = check_references(list(rendered(SHARED_VARIANT)) + [procedure("dbo.sp_Hint", body)])
    assert [(f.object, f.name) for f in failures] == [("dbo.sp_Hint", "AtomIdd")], listing(failures)


def test_dml_sqlglot_cannot_parse_is_a_failure_not_a_skip():
    # two statements without the ';' between them: sqlglot cannot read it, so it is reported
    body = (
        "CREATE OR ALTER PROCEDURE dbo.sp_Run AS\n"
        "BEGIN\n"
        "    SELECT AtomId FROM dbo.Atoms SELECT ModelId FROM dbo.Models;\n"
        "END;\n"
    )
    failures = check_references(list(rendered(SHARED_VARIANT)) + [procedure("dbo.sp_Run", body)])
    assert [(f.object, f.line) for f in failures] == [("dbo.sp_Run", 3)], listing(failures)
    assert "cannot parse" in failures[0].message


@pytest.mark.parametrize("skip", SKIPPED_DML, ids=[s.kind for s in SKIPPED_DML])
def test_each_skipped_dml_form_is_still_unparseable(skip):
    """When a sqlglot release learns the form, this fails: drop it from SKIPPED_DML then."""
    assert skip.pattern.search(skip.sample)
    with pytest.raises(ParseError):
        sqlglot.parse(skip.sample, dialect="tsql")


BAD_REFERENCES = {
    "unknown column of dbo.Atoms": ("SELECT AtomId, Colour FROM dbo.Atoms WHERE TenantId = 0;", "Colour"),
    "INSERT naming an unknown column": (
        "INSERT INTO dbo.Atoms (ContentHash, ContentType, Modality, ContentSize, Colour)\n"
        "    VALUES (0x00, N'text/plain', N'text', 0, 1);", "Colour"),
    "UPDATE of an unknown table": ("UPDATE dbo.Nowhere SET Total = 0 WHERE TenantId = 0;", "dbo.Nowhere"),
    "DELETE from an unknown table": ("DELETE FROM dbo.Gone WHERE TenantId = 0;", "dbo.Gone"),
}


@pytest.mark.parametrize("case", list(BAD_REFERENCES))
def test_an_unresolved_name_fails_the_reference_check(package_copy, case):
    statement, bad_name = BAD_REFERENCES[case]
    label = add_object(package_copy, "procedures/dbo.sp_BadReference.mssql.sql", (
        "CREATE OR ALTER PROCEDURE dbo.sp_BadReference\n"
        "AS\n"
        "BEGIN\n"
        "    SET NOCOUNT ON;\n"
        f"    {statement}\n"
        "END;\n"
    ))
    objects = render_package("mssql", db_root=package_copy, mssql_version=2022)
    assert check_rendered(objects) == []  # valid T-SQL: only the reference check can catch it
    failures = check_references(objects)
    assert [(f.object, f.source, f.name) for f in failures] == [("dbo.sp_BadReference", label, bad_name)], listing(failures)
    assert failures[0].line == 7  # two header lines, then the procedure's fifth line
    assert bad_name in failures[0].message


# server-behaviour rules ---------------------------------------------------------------------------
def test_the_package_follows_the_server_behaviour_rules():
    from tools.tsql_gate.rules import check_rules

    for variant in RENDER_VARIANTS:
        assert [str(f) for f in check_rules(rendered(variant))] == [], variant


@pytest.mark.parametrize(("rule", "text", "caught"), [
    ("output-reset", "CREATE OR ALTER PROCEDURE dbo.p @Key INT, @Id BIGINT = NULL OUTPUT\nAS\nBEGIN\n"
     "    SELECT @Id = Id FROM dbo.T WHERE K = @Key;\n    IF @Id IS NULL INSERT INTO dbo.T (K) VALUES (@Key);\nEND;\n",
     True),
    ("output-reset", "CREATE OR ALTER PROCEDURE dbo.p @Key INT, @Id BIGINT = NULL OUTPUT\nAS\nBEGIN\n"
     "    SET @Id = NULL;\n    SELECT @Id = Id FROM dbo.T WHERE K = @Key;\nEND;\n", False),
    ("output-reset", "CREATE OR ALTER PROCEDURE dbo.p @Id INT = NULL OUTPUT\nAS\nBEGIN\n"
     "    EXEC dbo.q @Id = @Id OUTPUT;\nEND;\n", True),
    ("output-reset", "CREATE OR ALTER PROCEDURE dbo.p @Key AS INT, @Id AS BIGINT OUTPUT\nAS\nBEGIN\n"
     "    SELECT @Id = Id FROM dbo.T WHERE K = @Key;\nEND;\n", True),
    ("output-reset", "CREATE OR ALTER PROCEDURE dbo.p @Key INT, @Id BIGINT = NULL OUTPUT AS BEGIN\n"
     "    SELECT @Id = NULL;\n    SELECT @Id = Id FROM dbo.T WHERE K = @Key;\nEND;\n", False),
    ("catch-xact-state", "BEGIN TRY\n    EXEC dbo.q;\nEND TRY\nBEGIN CATCH\n"
     "    UPDATE dbo.Jobs SET Status = N'Failed' WHERE JobId = @JobId;\n    THROW;\nEND CATCH;\n", True),
    ("catch-xact-state", "BEGIN TRY\n    EXEC dbo.q;\nEND TRY\nBEGIN CATCH\n    IF XACT_STATE() <> 0 ROLLBACK TRANSACTION;\n"
     "    UPDATE dbo.Jobs SET Status = N'Failed' WHERE JobId = @JobId;\n    THROW;\nEND CATCH;\n", False),
    ("catch-xact-state", "BEGIN TRY\n    EXEC dbo.q;\nEND TRY\nBEGIN CATCH\n    IF @@TRANCOUNT > 0 ROLLBACK;\n"
     "    UPDATE dbo.Jobs SET Status = N'Failed' WHERE JobId = @JobId;\n    THROW;\nEND CATCH;\n", False),
    ("catch-xact-state", "BEGIN TRY\n    EXEC dbo.q;\nEND TRY\nBEGIN CATCH\n"
     "    INSERT INTO @errors (Message) VALUES (ERROR_MESSAGE());\n    THROW;\nEND CATCH;\n", False),
    ("spatial-nearest", "SELECT TOP (10) e.Id FROM dbo.E AS e WHERE e.G IS NOT NULL\n"
     "ORDER BY e.G.STDistance(geometry::Point(@X, @Y, 0));\n", True),
    ("spatial-nearest", "SELECT TOP (10) e.Id FROM dbo.E AS e\n"
     "WHERE e.G.STDistance(geometry::Point(@X, @Y, 0)) IS NOT NULL\n"
     "ORDER BY e.G.STDistance(geometry::Point(@X, @Y, 0));\n", False),
    ("spatial-nearest", "SELECT TOP (10) e.Id FROM dbo.E AS e\nWHERE e.G.STDistance(geometry::Point(@X, @Y, 0)) < 5\n"
     "ORDER BY e.G.STDistance(geometry::Point(@X, @Y, 0));\n", False),
    ("external-bigint", "EXEC sys.sp_execute_external_script @language = N'Python', @script = N'x = seed',\n"
     "    @params = N'@seed BIGINT', @seed = @seed;\n", True),
    ("external-bigint", "EXEC sys.sp_execute_external_script @language = N'Python', @script = N'x = int(seed)',\n"
     "    @params = N'@seed NVARCHAR(20)', @seed = @SeedDigits;\n", False),
    ("insert-absent-dedupes", "INSERT INTO dbo.TensorChunks (ChunkHash, Data)\nSELECT p.ChunkHash, p.Piece FROM #pieces AS p\n"
     "WHERE NOT EXISTS (SELECT 1 FROM dbo.TensorChunks AS k WHERE k.ChunkHash = p.ChunkHash);\n", True),
    ("insert-absent-dedupes", "INSERT INTO dbo.TensorChunks (ChunkHash, Data)\nSELECT DISTINCT p.ChunkHash, p.Piece "
     "FROM #pieces AS p\nWHERE NOT EXISTS (SELECT 1 FROM dbo.TensorChunks AS k WHERE k.ChunkHash = p.ChunkHash);\n",
     False),
    ("external-binary-result", "CREATE TABLE #fit (Mean VARBINARY(MAX), Width FLOAT);\nINSERT INTO #fit (Mean, Width)\n"
     "EXEC sys.sp_execute_external_script @language = N'Python', @script = N'OutputDataSet = fit()';\n", True),
    ("external-binary-result", "CREATE TABLE #fit (MeanHex NVARCHAR(MAX), Width FLOAT);\nINSERT INTO #fit (MeanHex, Width)\n"
     "EXEC sys.sp_execute_external_script @language = N'Python', @script = N'OutputDataSet = fit()';\n", False),
    ("external-input-reads-tables", "EXEC sys.sp_execute_external_script @language = N'Python', @script = N'x = 1',\n"
     "    @input_data_1 = N'SELECT r.AtomId, p.Payload FROM #ranked AS r INNER JOIN dbo.AtomPayloadStore AS p "
     "ON p.AtomId = r.AtomId';\n", True),
    ("external-input-reads-tables", "EXEC sys.sp_execute_external_script @language = N'Python', @script = N'x = 1',\n"
     "    @input_data_1 = N'SELECT AtomId, Payload FROM #previews ORDER BY AtomId';\n", False),
    ("external-script-compiles", "EXEC sys.sp_execute_external_script @language = N'Python', @script = N'\n"
     "    import pandas as pd\n    OutputDataSet = pd.DataFrame([[''a'']])\n';\n", True),
    ("external-script-compiles", "EXEC sys.sp_execute_external_script @language = N'Python', @script = N'\n"
     "import pandas as pd\nOutputDataSet = pd.DataFrame([[''a'']])\n';\n", False),
    # DBA review of the concept loop: dbo.fn_ConceptDrift compared each atom's first embedding with the
    # run's start inside the SUM on an APPLY's right side (error 4101: its CREATE fails on every version)
    ("apply-aggregate-outer-reference", "SELECT n.Added FROM dbo.Runs AS r\n"
     "CROSS APPLY (SELECT SUM(CASE WHEN f.FirstAt >= r.StartTime THEN 1 ELSE 0 END) AS Added\n"
     "             FROM (SELECT MIN(e.CreatedAt) AS FirstAt FROM dbo.E AS e GROUP BY e.AtomId) AS f) AS n;\n", True),
    ("apply-aggregate-outer-reference", "SELECT n.Added FROM dbo.Runs AS r\n"
     "CROSS APPLY (SELECT SUM(f.IsAdded) AS Added\n"
     "             FROM (SELECT CASE WHEN MIN(e.CreatedAt) >= r.StartTime THEN 1 ELSE 0 END AS IsAdded\n"
     "                   FROM dbo.E AS e GROUP BY e.AtomId) AS f) AS n;\n", False),
    ("apply-aggregate-outer-reference", "SELECT n.Total FROM dbo.Runs AS r\n"
     "OUTER APPLY (SELECT COUNT_BIG(x.Id) AS Total FROM dbo.X AS x WHERE x.RunId = r.RunId) AS n;\n", False),
])
def test_each_server_behaviour_rule_catches_what_it_names(rule, text, caught):
    from tools.tsql_gate.rules import RULES

    found = RULES[rule](blank_comments_and_strings(text), text)
    assert bool(found) is caught, found
    assert parse_problems(text) == ()  # valid T-SQL all the same: only the rule sees it


def _external_scripts(text: str) -> list[tuple[str, list[str], str]]:
    """(script, OUTPUT parameter names, the rest of the call) of each sp_execute_external_script call."""
    calls = []
    for call in re.split(r"EXEC(?:UTE)? sys\.sp_execute_external_script", text)[1:]:
        script = re.search(r"@script\s*=\s*N'((?:[^']|'')*)'", call)
        params = re.search(r"@params\s*=\s*N'((?:[^']|'')*)'", call)
        outputs = re.findall(r"@(\w+)\s+[\w()]+\s+OUTPUT", params.group(1)) if params else []
        end = call.find(";", params.end() if params else 0)
        calls.append((script.group(1) if script else "", outputs, call[:end]))
    return calls


@pytest.mark.parametrize("rendered", [r for r in render_package("mssql") if "sp_execute_external_script" in r.sql],
                         ids=lambda r: r.obj.name)
def test_no_external_script_hands_none_to_an_output_parameter(rendered):
    # DBA review: an OUTPUT variable left unset, or set to None, stops BxlServer (Microsoft's known
    # issues for Machine Learning Services); scripts hand back "" or b"" and the T-SQL reads NULLIF
    for script, outputs, _ in _external_scripts(rendered.sql):
        for name in outputs:
            assert not re.search(rf"\b{name}\b[^\n]*=\s*None\b", script), (rendered.obj.name, name)


def test_sp_generate_text_hands_a_value_to_every_output_when_nothing_was_generated(monkeypatch):
    # DBA review of the reasoning procedures: a generation of one token or none (the model ends a
    # chain's step at once, the reasoning procedures' normal end) has no tokens_per_second; handed
    # to its FLOAT OUTPUT as None it stopped BxlServer and failed the whole reasoning run. The rendered
    # script runs here with the result the real generate() gives for a one-token generation of the
    # packaged SmolLM2 (computed outside the database first); only its reading of the stored model's
    # chunk rows, which needs SQL Server's input data set, is bypassed.
    import sys
    import types

    import hartonomous_ext.generation as real_generation
    import hartonomous_ext.model_formats as formats
    from conftest import smollm_path

    one_token = real_generation.generate([real_generation.load(formats.read(smollm_path()))], "2 + 2?", 1)
    assert one_token["tokens_per_second"] is None  # what the script must not hand back as it is
    generate_text = next(r for r in render_package("mssql") if r.obj.name == "dbo.sp_GenerateText")
    (script, outputs, _), = _external_scripts(generate_text.sql)
    generation = types.SimpleNamespace(load=lambda model: model, generate=lambda *args, **kwargs: one_token,
                                       attention_record=real_generation.attention_record)
    package = types.ModuleType("hartonomous_ext")
    package.generation = generation
    package.model_store = types.SimpleNamespace(from_chunk_rows=lambda row, rows: list(rows))
    monkeypatch.setitem(sys.modules, "hartonomous_ext", package)

    class Frame:  # the few pandas calls the script makes on its input data set
        def groupby(self, column):
            return [(11, self)]

        def drop(self, columns):
            return self

        def itertuples(self, index, name):
            return iter([])

    scope = {"InputDataSet": Frame(), "models": '[{"model_id": 11}]', "model_ids": "[11]", "prompt": "2 + 2?",
             "max_tokens": 4, "temperature": 0.0, "top_k": 0, "seed": None}
    exec(script.replace("''", "'"), scope)
    assert outputs and all(scope.get(name) is not None for name in outputs), \
        [name for name in outputs if scope.get(name) is None]
    assert "NULLIF(@TokensPerSecond, -1e0)" in generate_text.sql


@pytest.mark.parametrize("name", ["dbo.sp_GenerateText", "dbo.sp_SelfConsistencyReasoning",
                                  "dbo.sp_ChainOfThoughtReasoning", "dbo.sp_MultiPathReasoning"])
def test_generation_and_reasoning_refuse_before_xact_abort(name):
    # DBA review of the reasoning procedures (as fn_DiscoverConcepts' suggestion 2): SET XACT_ABORT ON
    # came first, so every refused argument (THROW honours XACT_ABORT) doomed the caller's
    # transaction, tSQLt's own included (its rollback to the test's savepoint then fails). The
    # refusals (their THROWs, and sp_CheckReasoningArguments') come before it; the work after it.
    body = _body(next(r for r in render_package("mssql") if r.obj.name == name).sql)
    xact = re.search(r"\bSET\s+XACT_ABORT\s+ON\b", body, re.IGNORECASE)
    work = re.search(r"\bBEGIN\s+TRAN(?:SACTION)?\b|\bsp_execute_external_script\b", body, re.IGNORECASE)
    assert xact and work and xact.start() < work.start(), name
    refusals = [m.start() for m in re.finditer(r"\bTHROW\b|\bEXEC\s+dbo\.sp_CheckReasoningArguments\b", body[:work.start()],
                                               re.IGNORECASE)]
    assert refusals and max(refusals) < xact.start(), name


def test_sp_semantic_search_can_be_captured_with_insert_exec():
    # INSERT ... EXEC inside it would make a caller's INSERT ... EXEC fail (error 8164); results come
    # back through OUTPUT parameters, and WITH RESULT SETS NONE keeps any stray rows from the caller
    search = next(r for r in render_package("mssql") if r.obj.name == "dbo.sp_SemanticSearch")
    assert not re.search(r"INSERT\s+INTO\s+#?\w+\s*(\([^)]*\))?\s*EXEC", search.sql, re.IGNORECASE)
    calls = _external_scripts(search.sql)
    assert len(calls) == 6 and all("WITH RESULT SETS NONE" in rest for _, _, rest in calls)


def refusal_problems(sql: str) -> list[str]:
    """A procedure that refuses to run inside a caller's transaction (it commits on its own) must
    refuse with RAISERROR before SET XACT_ABORT ON (THROW honours XACT_ABORT and would doom the
    caller's transaction) and turn implicit transactions off (a driver's autocommit off would
    otherwise nest every BEGIN TRANSACTION inside one it never commits)."""
    text = blank_comments_and_strings(sql)
    check = re.search(r"IF\s+@@TRANCOUNT\s*>\s*0", text, re.IGNORECASE)
    if not check:
        return []
    problems = []
    refusal = re.search(r"\b(THROW|RAISERROR)\b", text[check.end():], re.IGNORECASE)
    if not refusal or refusal.group(1).upper() != "RAISERROR":
        problems.append("refuses with THROW, which dooms the caller's transaction under XACT_ABORT: use RAISERROR")
    abort = re.search(r"SET\s+XACT_ABORT\s+ON", text, re.IGNORECASE)
    if abort and abort.start() < check.start():
        problems.append("sets XACT_ABORT ON before its @@TRANCOUNT check")
    if not re.search(r"SET\s+IMPLICIT_TRANSACTIONS\s+OFF", text, re.IGNORECASE):
        problems.append("does not SET IMPLICIT_TRANSACTIONS OFF")
    return problems


def test_procedures_that_commit_refuse_a_callers_transaction_without_dooming_it():
    checked = [r for r in render_package("mssql") if re.search(r"@@TRANCOUNT\s*>\s*0", r.sql, re.IGNORECASE)]
    assert {r.obj.name for r in checked} >= {"dbo.sp_BuildVectorIndex", "dbo.sp_RecomputeAllSpatialProjections"}
    assert {r.obj.name: refusal_problems(r.sql) for r in checked} == {r.obj.name: [] for r in checked}


def test_the_refusal_rule_finds_a_throw_and_a_missing_setting():
    bad = ("CREATE PROCEDURE dbo.p AS BEGIN SET XACT_ABORT ON; IF @@TRANCOUNT > 0 THROW 50001, N'no', 1; "
           "BEGIN TRANSACTION; COMMIT; END;")
    assert refusal_problems(bad) == [
        "refuses with THROW, which dooms the caller's transaction under XACT_ABORT: use RAISERROR",
        "sets XACT_ABORT ON before its @@TRANCOUNT check", "does not SET IMPLICIT_TRANSACTIONS OFF"]


@pytest.mark.parametrize(("text", "caught"), [
    ("INSERT INTO dbo.Ledger (TenantId) VALUES (1);", True),
    ("INSERT INTO dbo.Ledger WITH (SNAPSHOT) (TenantId) VALUES (1);", False),
    ("SELECT l.TenantId FROM dbo.Ledger AS l WHERE l.TenantId = 1;", True),
    ("SELECT l.TenantId FROM dbo.Ledger AS l WITH (SNAPSHOT) WHERE l.TenantId = 1;", False),
    ("DELETE FROM [dbo].[Ledger] WITH (SNAPSHOT) WHERE TenantId = 1;", False),
    ("SELECT TenantId FROM dbo.LedgerArchive;", False),  # another table whose name starts the same
])
def test_the_snapshot_rule_finds_a_memory_optimized_access_without_the_hint(text, caught):
    from tools.tsql_gate.rules import memory_optimized_snapshot

    assert bool(memory_optimized_snapshot(blank_comments_and_strings(text), ["dbo.ledger"])) is caught


def test_a_memory_optimized_table_without_an_autocommit_header_fails_the_gate(db_copy):
    # DBA review: the deployer applies each object in a transaction, and In-Memory OLTP DDL is refused
    # in one (error 12331); the table's header takes it out (-- autocommit:)
    from tools.tsql_gate.rules import check_rules

    ledger = db_copy / "tables" / "advanced" / "dbo.BillingUsageLedger_InMemory.mssql.sql"
    assert check_rules(render_package("mssql", db_root=db_copy)) == []
    ledger.write_text(re.sub(r"^-- autocommit:.*\n", "", ledger.read_text(), flags=re.MULTILINE))
    failures = check_rules(render_package("mssql", db_root=db_copy))
    assert [(f.rule, f.object) for f in failures] == [("memory-optimized-autocommit", "dbo.BillingUsageLedger_InMemory")]


def test_a_savepoint_after_a_metered_call_fails_the_gate(db_copy):
    # review of batch binding: sp_IngestAtom took a savepoint around binding after sp_StoreAtom had
    # charged the call, whose ledger is memory-optimized: inside a caller's transaction every ingest
    # of new content with concepts failed (error 12326). The rule follows EXEC to sp_ChargeUsage.
    from tools.tsql_gate.rules import check_rules

    ingest = db_copy / "procedures" / "dbo.sp_IngestAtom.mssql.sql"
    assert check_rules(render_package("mssql", db_root=db_copy)) == []
    ingest.write_text(ingest.read_text().replace(
        "        BEGIN TRY\n            EXEC dbo.sp_BindAtomConcepts",
        "        IF @Outer > 0\n            SAVE TRANSACTION sp_IngestAtom_bind;\n        BEGIN TRY\n            EXEC dbo.sp_BindAtomConcepts"))
    failures = check_rules(render_package("mssql", db_root=db_copy))
    assert [(f.rule, f.object) for f in failures] == [("savepoint-after-memory-optimized", "dbo.sp_IngestAtom")]
    assert "after dbo.sp_storeatom" in failures[0].message and "12326" in failures[0].message


# the autonomous loop's Service Broker plumbing (DBA review of the SQL Server loop) ------------------
def _loop_object(name: str) -> str:
    return next(r for r in render_package("mssql") if r.obj.name == name).sql


def _body(sql: str) -> str:
    """The procedure's text after its AS BEGIN, comments and strings blanked."""
    text = blank_comments_and_strings(sql)
    return text[re.search(r"\bAS\s+BEGIN\b", text, re.IGNORECASE).end():]


def test_the_dispatcher_sets_what_filtered_indexes_need_before_anything_else():
    # D6: activation runs with the database's default SET options; writes to tables with filtered
    # indexes fail (Msg 1934) unless these are ON, and the dispatcher's SETs hold for the phases
    statements = [s.strip() for s in _body(_loop_object("dbo.sp_ProcessLoopMessages")).split(";")][:5]
    assert sorted(re.sub(r"\s+", " ", s).upper() for s in statements) == sorted([
        "SET ANSI_WARNINGS ON", "SET ANSI_PADDING ON", "SET CONCAT_NULL_YIELDS_NULL ON", "SET ARITHABORT ON",
        "SET NUMERIC_ROUNDABORT OFF"])


def _outer_catch(sql: str) -> str:
    text = _body(sql)
    return text[list(re.finditer(r"^    END TRY\s*\n    BEGIN CATCH", text, re.MULTILINE))[-1].end():]


def test_the_dispatchers_outer_catch_counts_the_attempt_it_rolls_back():
    # D5: an error outside the phase's TRY rolls the RECEIVE back; without a count the same message
    # comes back at once, forever
    catch = _outer_catch(_loop_object("dbo.sp_ProcessLoopMessages"))
    rollback = re.search(r"ROLLBACK\s+TRANSACTION", catch)
    count = re.search(r"UPDATE\s+dbo\.AutonomousLoopAttempts\s+SET\s+Attempts\s*=\s*Attempts\s*\+\s*1", catch)
    assert rollback and count and rollback.start() < count.start()
    assert re.search(r"INSERT\s+INTO\s+dbo\.AutonomousLoopAttempts", catch[count.end():])
    assert re.search(r"BEGIN\s+TRANSACTION", catch[rollback.end():count.start()])  # one of its own


def test_lock_conflicts_of_the_phases_are_retried_without_counting_an_attempt():
    # suggestion 2: every number a phase throws when sp_getapplock refuses it, and 1222, is a lock
    # conflict to the dispatcher (the phases' own files say which numbers those are)
    applock_refusals = set()
    for path in (DB_ROOT / "procedures" / "autonomy").glob("dbo.sp_*.mssql.sql"):
        text = path.read_text(encoding="utf-8")
        if "sp_getapplock @Resource = N'hartonomous.autonomous_loop'," in text:
            after = text[text.index("sp_getapplock @Resource = N'hartonomous.autonomous_loop',"):]
            applock_refusals.add(int(re.search(r"THROW (\d+),", after).group(1)))
    assert applock_refusals >= {51302, 51311, 51403, 51410}
    dispatcher = _body(_loop_object("dbo.sp_ProcessLoopMessages"))
    listed = re.search(r"IF\s+ERROR_NUMBER\(\)\s+IN\s+\(([\d,\s]+)\)", dispatcher)
    assert listed, "the phase's CATCH does not tell lock conflicts apart"
    # suggestion 6 (second review): a deadlock victim (1205) is rolled back whole for no fault of its
    # message: retried without counting an attempt, not dead-lettered after three deadlocks
    assert {int(n) for n in listed.group(1).split(",")} == applock_refusals | {1222, 1205}
    # and sp_Act re-throws it before naming the action as the one that doomed the transaction
    act = _autonomy_code("mssql2022", "dbo.sp_Act")
    inner = re.search(r"IF XACT_STATE\(\) = 1\s+ROLLBACK TRANSACTION sp_Act_action;\s+ELSE\s+BEGIN(.*?)END;", act, re.DOTALL)
    assert inner, "sp_Act's action CATCH changed shape"
    rethrow = re.search(r"IF ERROR_NUMBER\(\) = 1205\s+THROW;", inner.group(1))
    assert rethrow and rethrow.end() < inner.group(1).index("SET @DoomedAction = @ActionId;")


@pytest.mark.parametrize("name", ["dbo.sp_StartAutonomousLoop", "dbo.sp_StopAutonomousLoop"])
def test_loop_start_and_stop_alter_the_queues_before_locking_the_settings(name):
    # suggestion 3: an X lock on the settings row held while ALTER QUEUE waits for a reader's whole
    # Act blocks every reader of the settings, or deadlocks with one
    text = _body(_loop_object(name))
    timeout = re.search(r"SET\s+LOCK_TIMEOUT\s+\d+", text)
    alters = [m.start() for m in re.finditer(r"\bALTER\s+QUEUE\b", text)]
    settings = re.search(r"UPDATE\s+dbo\.AutonomousLoopSettings", text)
    assert timeout and len(alters) == 4 and settings
    assert timeout.start() < alters[0] and alters[-1] < settings.start()
    # each only when the queue differs
    assert len(re.findall(r"IF\s+NOT\s+EXISTS\s*\(\s*SELECT\s+1\s+FROM\s+sys\.service_queues", text)) == 4


def test_zero_delay_dialogs_have_no_lifetime_to_expire():
    # D2: the reader ends every zero-delay dialog; a LIFETIME only destroys a phase message that waits
    text = blank_comments_and_strings(_loop_object("dbo.sp_SendLoopMessage"))
    zero = text[:text.index("a delayed message") if "a delayed message" in text else text.index("ELSE\n        BEGIN")]
    dialogs = re.findall(r"BEGIN\s+DIALOG\s+CONVERSATION.*?;", zero, re.DOTALL)
    assert len(dialogs) == 4 and not any("LIFETIME" in d for d in dialogs)


def _mssql_system_executes() -> set[str]:
    text = (DB_ROOT / "procedures" / "security" / "RolePermissions.mssql.sql").read_text(encoding="utf-8")
    return {m.group(1) for m in re.finditer(
        r"^GRANT EXECUTE ON (dbo\.\w+) TO \{\{ \(database_name ~ '_system'\) \| tsql_identifier \}\};$", text, re.MULTILINE)}


def _pg_system_executes() -> set[str]:
    text = (DB_ROOT / "procedures" / "security" / "RolePermissions.pg.sql").read_text(encoding="utf-8")
    routines = set()
    for array in re.finditer(r"FOREACH routine IN ARRAY ARRAY\[(.*?)\] LOOP\s*EXECUTE format\('GRANT EXECUTE ON ROUTINE %s TO ([^']*)',"
                             r"\s*routine,\s*([^)]*)\)", text, re.DOTALL):
        # the arrays granted to the system role alone: the loop's (the row-level security helpers
        # every role executes are no loop procedure)
        if [g.strip() for g in array.group(3).split(",")] == ["system"]:
            routines |= {re.sub(r"\(.*\)$", "", r) for r in re.findall(r"'([^']+)'", array.group(1))}
    return routines


def _engine_specific(name: str, engine: str) -> bool:
    """An object of one engine only: the other has no file of it, or its header says why."""
    other = "pg" if engine == "mssql" else "mssql"
    files = list(DB_ROOT.rglob(f"{name}.{engine}.sql"))
    twins = list(DB_ROOT.rglob(f"{name}.{other}.sql"))
    return not twins or any(re.search(r"^-- engine-specific:", f.read_text(encoding="utf-8"), re.MULTILINE) for f in files)


def test_the_system_role_executes_the_same_loop_procedures_on_both_engines():
    # D4: the loop's own principal must not approve, reject or purge (a human's decisions); what it
    # runs is the same on both engines, less each engine's own dispatcher and helpers
    mssql = {n for n in _mssql_system_executes() if not _engine_specific(n, "mssql")}
    pg = {n for n in _pg_system_executes() if not _engine_specific(n, "pg")}
    assert mssql and "dbo.sp_Analyze" in mssql and "dbo.sp_Analyze" in pg
    assert mssql == pg, {"mssql only": sorted(mssql - pg), "pg only": sorted(pg - mssql)}
    assert not {"dbo.sp_ApproveAction", "dbo.sp_RejectAction", "dbo.sp_PurgeAutonomousHistory"} & _mssql_system_executes()


# the autonomous loop's acting half (DBA review: suggestion 1, D3, suggestions 5 and 6) ------------
def _autonomy_sql(variant: str, name: str) -> str:
    return next(r.sql for r in rendered(variant) if r.obj.name == name)


def _autonomy_code(variant: str, name: str) -> str:
    return blank_comments_and_strings(_autonomy_sql(variant, name))


@pytest.mark.parametrize("variant", list(RENDER_VARIANTS))
def test_index_ddl_runs_only_in_the_online_runner_each_in_a_transaction_of_its_own(variant):
    # suggestion 1: index DDL inside a phase's transaction holds the online build's final Sch-M lock
    # until the phase commits, pins the log, and LOCK_TIMEOUT 5000 can throw a long build away
    act = _autonomy_sql(variant, "dbo.sp_Act")
    executing = re.search(r"IF @ActionType IN \(([^)]*)\)\s*-- decided and recorded only", act)
    assert executing, "sp_Act no longer decides which actions the runner executes"
    assert {"create_index", "drop_index", "reindex_index", "refit_projections", "rebuild_vector_index",
            "recluster_concepts", "archive_billing_usage"} == set(re.findall(r"N'(\w+)'", executing.group(1)))
    # a phase that runs no index statement: Learn and the monthly rebuild execute nothing themselves
    for name in ("dbo.sp_Learn", "dbo.sp_RebuildFragmentedIndexes"):
        assert "sp_executesql" not in _autonomy_code(variant, name), name
    for name, guard in (("dbo.sp_Act", "@OwnTransaction = 1 AND @DryRun = 0"), ("dbo.sp_Learn", "@OwnTransaction = 1"),
                        ("dbo.sp_RebuildFragmentedIndexes", "@Outer = 0 AND @DryRun = 0")):
        code = _autonomy_code(variant, name)
        tail = code[code.rindex("END CATCH;") if "END CATCH;" in code else 0:]
        assert re.search(rf"IF {re.escape(guard)}[^;]*?\s+EXEC dbo\.sp_ExecuteOnlineActions;\s*END;\s*$", tail), name
    runner = _autonomy_code(variant, "dbo.sp_ExecuteOnlineActions")
    from deployer.source.render import read_policy
    timeout = read_policy(DB_ROOT)["LOOP_ONLINE_LOCK_TIMEOUT_SECONDS"] * 1000
    assert re.search(rf"SET LOCK_TIMEOUT {timeout};", runner) and "SET LOCK_TIMEOUT 5000" not in runner
    # every Executing action and every Reverting revert, not only the batch procedures
    pick = re.search(r"SELECT TOP \(1\) @ActionId.*?ORDER BY a\.ActionId;", _autonomy_sql(variant, "dbo.sp_ExecuteOnlineActions"),
                     re.DOTALL).group(0)
    assert "a.Status IN (N'Executing', N'Reverting')" in pick and "ActionType IN" not in pick
    # an index statement commits with the record of its outcome, in a transaction the runner opens
    assert re.search(r"BEGIN TRANSACTION;\s*IF @CommitsItself = 0\s+EXEC sys\.sp_executesql @Statement.*?"
                     r"UPDATE dbo\.AutonomousActions.*?COMMIT TRANSACTION;", runner, re.DOTALL)
    assert re.search(r"UPDATE dbo\.AutonomousActionCatalog SET FailedCount = FailedCount \+ 1", runner)


@pytest.mark.parametrize("variant", list(RENDER_VARIANTS))
def test_an_action_the_statement_function_cannot_build_is_a_user_error_not_a_doomed_transaction(variant):
    # D3: the function raised conversion error 245 on purpose, which dooms the transaction inside TRY
    function = _autonomy_code(variant, "dbo.fn_AutonomousActionStatement")
    assert not re.search(r"\bRETURN\s+CAST\s*\(", function, re.IGNORECASE)  # no error on purpose
    assert re.search(r"IF @ActionType IS NULL\s+OR @ActionType NOT IN \([^)]*\)\s+RETURN NULL;", function)
    assert re.search(r"RETURNS NVARCHAR\(MAX\)\s+WITH INLINE = OFF\s+AS\s+BEGIN", function)  # suggestion 6
    act = _autonomy_code(variant, "dbo.sp_Act")
    assert re.search(r"IF @Statement IS NULL\s+BEGIN\s+SET @Message = [^;]*;\s+THROW 51405, @Message, 1;", act)
    runner = _autonomy_code(variant, "dbo.sp_ExecuteOnlineActions")
    assert re.search(r"IF @Statement IS NULL\s+BEGIN\s+SET @Message = [^;]*;\s+THROW 51462, @Message, 1;", runner)


def test_an_action_whose_error_dooms_the_phase_is_recorded_failed_before_the_error_goes_on():
    # D3: one action that dooms the transaction must not fail every cycle, Proposed forever
    act = _autonomy_sql("mssql2022", "dbo.sp_Act")
    inner = re.search(r"IF XACT_STATE\(\) = 1\s+ROLLBACK TRANSACTION sp_Act_action;\s+ELSE\s+BEGIN(.*?)END;", act, re.DOTALL)
    assert inner and "SET @DoomedAction = @ActionId;" in inner.group(1) and "THROW;" in inner.group(1)
    outer = act[act.index("IF @DoomedAction IS NOT NULL AND @DryRun = 0"):]
    own, caller = outer.split("ELSE\n", 1) if "ELSE\n" in outer else (outer, "")
    # owned: rolled back, then recorded Failed (history, catalog count) in a transaction of its own, then re-thrown
    assert re.search(r"BEGIN TRANSACTION;\s+UPDATE dbo\.AutonomousActions SET Status = N'Failed'.*?"
                     r"FailedCount = c\.FailedCount \+ 1.*?COMMIT TRANSACTION;", own, re.DOTALL)
    assert act.index("ROLLBACK TRANSACTION;", act.index("END TRY\n    BEGIN CATCH")) < act.index("IF @DoomedAction IS NOT NULL")
    # inside the activation loop's transaction: named in the session context, which a rollback leaves
    # alone, and recorded Failed by the next sp_Act of the session before it decides anything
    assert re.search(r"SET @Doomed = \(SELECT @DoomedAction AS action.*?EXEC sys\.sp_set_session_context "
                     r"@key = N'hartonomous\.doomed_action', @value = @Doomed;", caller, re.DOTALL)
    assert outer.index("THROW;") > outer.index("sp_set_session_context")
    recorded = re.search(r"SET @Doomed = CAST\(SESSION_CONTEXT\(N'hartonomous\.doomed_action'\) AS NVARCHAR\(4000\)\);"
                         r"\s+IF @Doomed IS NOT NULL AND @DryRun = 0.*?Status = N'Failed'.*?"
                         r"EXEC sys\.sp_set_session_context @key = N'hartonomous\.doomed_action', @value = NULL;", act, re.DOTALL)
    assert recorded and recorded.end() < act.index("INSERT INTO @Candidates")


@pytest.mark.parametrize("variant", list(RENDER_VARIANTS))
def test_the_drop_index_revert_reads_its_filter_whole_and_refuses_a_spliced_statement(variant):
    # suggestion 5: JSON_VALUE reads NULL past 4000 characters: the index came back without its filter
    raw = _autonomy_sql(variant, "dbo.fn_AutonomousActionStatement")
    assert "JSON_VALUE(@Definition, N'$.filter')" not in raw
    assert re.search(r"FROM OPENJSON\(@Definition\) WITH \(FilterText NVARCHAR\(MAX\) '\$\.filter'\)", raw)
    refusal = re.search(r"IF (CHARINDEX[^\n]*)\n\s+RETURN NULL;", raw)
    assert refusal and all(f"CHARINDEX(N'{mark}', @Filter) > 0" in refusal.group(1) for mark in (";", "--", "/*"))
    header = raw[:raw.index("CREATE OR ALTER FUNCTION")]
    assert all(word in header for word in ("compression", "fill factor", "partitioning", "filegroup"))


@pytest.mark.parametrize("variant", list(RENDER_VARIANTS))
def test_wait_at_low_priority_only_where_the_statement_has_it_on_the_version(variant):
    # CREATE INDEX has WAIT_AT_LOW_PRIORITY from SQL Server 2022 (16.x); ALTER INDEX ... REBUILD on
    # every supported version; DROP INDEX on none
    from deployer.source.render import read_policy
    minutes = -(-read_policy(DB_ROOT)["LOOP_ONLINE_LOCK_TIMEOUT_SECONDS"] // 60)
    low = f"(WAIT_AT_LOW_PRIORITY (MAX_DURATION = {minutes} MINUTES, ABORT_AFTER_WAIT = SELF))"
    raw = _autonomy_sql(variant, "dbo.fn_AutonomousActionStatement")
    build = re.search(r"DECLARE @OnlineBuild NVARCHAR\(200\) = CASE WHEN @Online = 1 THEN\s+N'([^']*)'\s+END;", raw)
    assert build, "the online CREATE INDEX clause is not one literal per rendering"
    if RENDER_VARIANTS[variant]["mssql_version"] >= 2022:
        assert build.group(1) == f" WITH (ONLINE = ON {low})"
    else:
        assert build.group(1) == " WITH (ONLINE = ON)"
    assert f"REBUILD WITH (ONLINE = ON {low})" in raw
    drops = re.findall(r"N'DROP INDEX IF EXISTS '[^;]*;", raw)
    assert drops and not any("LOW_PRIORITY" in d for d in drops)


# second DBA review of the SQL Server loop: D2, suggestion 1 ------------------------------------------
@pytest.mark.parametrize("variant", list(RENDER_VARIANTS))
def test_the_online_runner_runs_with_xact_abort_on_after_its_refusal(variant):
    # D2: with XACT_ABORT OFF a client's timeout or cancel (an attention, which reaches no CATCH) left
    # the action's transaction open with the build's locks, and the session app lock blocked every
    # later runner; ON, the attention rolls the transaction back
    raw = _autonomy_sql(variant, "dbo.sp_ExecuteOnlineActions")
    runner = _body(raw)
    refusal = re.search(r"IF @@TRANCOUNT > 0\s+BEGIN\s+RAISERROR\(.*?RETURN 51461;\s+END;", runner, re.DOTALL)
    abort = re.search(r"SET XACT_ABORT ON;", runner)
    assert refusal and abort and refusal.end() < abort.start()
    assert not re.search(r"SET\s+XACT_ABORT\s+OFF", runner, re.IGNORECASE)
    assert refusal_problems(raw) == []
    # every CATCH rolls back before anything else runs in it (XACT_STATE() is -1 after any error)
    catches = re.findall(r"BEGIN CATCH(.*?)END CATCH;", runner, re.DOTALL)
    assert len(catches) == 2 and all(re.search(r"IF XACT_STATE\(\) <> 0\s+ROLLBACK TRANSACTION;", c) for c in catches)
    assert "no command timeout" in raw[:raw.index("CREATE OR ALTER PROCEDURE")]


@pytest.mark.parametrize("variant", list(RENDER_VARIANTS))
def test_a_reorganize_runs_outside_any_transaction_and_is_recorded_afterwards(variant):
    # suggestion 1: ALTER INDEX ... REORGANIZE (reindex_index where the edition has no online index
    # operations) commits in short internal transactions; inside the runner's it held its locks and
    # the log to the end
    runner = _autonomy_sql(variant, "dbo.sp_ExecuteOnlineActions")
    decided = re.search(r"SET @CommitsItself = CASE WHEN @Reverting = 0\s+AND \((.*?)\)\s+THEN 1 ELSE 0 END;", runner, re.DOTALL)
    assert decided, "the runner no longer decides what runs outside its transaction"
    assert "@ActionType = N'reindex_index' AND @Statement LIKE N'% REORGANIZE'" in decided.group(1)
    assert "refit_projections" in decided.group(1) and "archive_billing_usage" in decided.group(1)
    # decided once the statement is built, and run before the transaction that records it
    assert runner.index("SET @Statement = dbo.fn_AutonomousActionStatement") < decided.start()
    outside = re.search(r"IF @CommitsItself = 1\s+EXEC sys\.sp_executesql @Statement", runner[decided.end():])
    opened = re.search(r"BEGIN TRANSACTION;", runner[decided.end():])
    assert outside and opened and outside.start() < opened.start()
    function = _autonomy_sql(variant, "dbo.fn_AutonomousActionStatement")
    assert re.search(r"ELSE N' REORGANIZE' END\);", function)  # what the runner recognises


@pytest.mark.parametrize("variant", list(RENDER_VARIANTS))
def test_the_runner_records_nothing_and_rolls_back_when_the_applied_update_matches_no_row(variant):
    # suggestion 8 (also a tSQLt test: a lost race rolls the statement back)
    runner = _autonomy_code(variant, "dbo.sp_ExecuteOnlineActions")
    assert re.search(r"WHERE ActionId = @ActionId AND Status = @Status;\s+IF @@ROWCOUNT = 0\s+BEGIN\s+ROLLBACK TRANSACTION;"
                     r"\s+CONTINUE;\s+END;\s+INSERT INTO dbo\.OODALoopMetrics", runner)


def test_the_dispatcher_records_the_doomed_action_with_the_attempt_in_its_own_session():
    # D4: sp_Act names a doomed action in the session context; the retry usually runs in another
    # activation session, so only the dispatcher's doomed branch, right after its rollback, can record it
    dispatcher = _body(_loop_object("dbo.sp_ProcessLoopMessages"))
    raw = _loop_object("dbo.sp_ProcessLoopMessages")
    branch = re.search(r"IF XACT_STATE\(\) <> 0\s+ROLLBACK TRANSACTION;(.*?)SET @Handle = NULL;", dispatcher, re.DOTALL)
    assert branch, "the doomed branch changed shape"
    doomed = branch.group(1)
    counted = re.search(r"BEGIN TRANSACTION;.*?UPDATE dbo\.AutonomousLoopAttempts.*?(IF @DoomedAction IS NOT NULL.*?)COMMIT TRANSACTION;",
                        doomed, re.DOTALL)
    assert counted, "the doomed action is not recorded in the transaction that counts the attempt"
    assert re.search(r"UPDATE dbo\.AutonomousActions SET Status = N'Failed', ErrorMessage = @DoomedError, JudgedAt = SYSUTCDATETIME\(\)"
                     r"\s+WHERE ActionId = @DoomedAction AND Status IN \(N'Proposed', N'Approved', N'Executing'\);", raw)
    assert "INSERT INTO dbo.AutonomousImprovementHistory" in counted.group(1)
    assert "FailedCount = c.FailedCount + 1" in counted.group(1)
    assert re.search(r"SET @Doomed = CAST\(SESSION_CONTEXT\(N'hartonomous\.doomed_action'\)", raw)
    # cleared once recorded (the key is read from the raw text: _body blanks strings)
    assert re.search(r"COMMIT TRANSACTION;\s+IF @Doomed IS NOT NULL\s+EXEC sys\.sp_set_session_context", doomed)
    assert re.search(r"IF @Doomed IS NOT NULL[^\n]*\n\s+EXEC sys\.sp_set_session_context "
                     r"@key = N'hartonomous\.doomed_action', @value = NULL;", raw)


# concept discovery and binding on SQL Server (DBA review: D3, suggestions 2-5 and 10) --------------
def _concepts_sql(name: str) -> str:
    return next(r.sql for r in rendered(SHARED_VARIANT) if r.obj.name == name)


def test_discovery_runs_python_outside_any_transaction_of_its_own():
    # suggestion 4: one transaction across the Python run held an uncommitted IngestionJobs row that
    # the loop's sp_Analyze waited on; the job row now commits first, Python runs outside any, the
    # writes commit in one transaction, and a failure marks the row Failed with the error
    raw = _concepts_sql("dbo.fn_DiscoverConcepts")
    code = blank_comments_and_strings(raw)
    assert re.search(r"DECLARE @Own BIT = CASE WHEN @@TRANCOUNT = 0 THEN 1 ELSE 0 END;", code)
    job = code.index("INSERT INTO dbo.IngestionJobs")
    python = code.index("EXEC sys.sp_execute_external_script")
    begins = [m.start() for m in re.finditer(r"BEGIN TRANSACTION", code)]
    assert len(begins) == 1 and job < python < begins[0], "a transaction is open across the Python run"
    assert re.search(r"IF @Own = 1\s+BEGIN TRANSACTION;", code)
    assert re.search(r"IF @Own = 1\s+COMMIT TRANSACTION;\s+END TRY", code)
    catch = raw[raw.rindex("BEGIN CATCH"):raw.rindex("END CATCH")]
    assert re.search(r"IF XACT_STATE\(\) <> 0\s+ROLLBACK TRANSACTION;.*UPDATE dbo\.IngestionJobs SET Status = N'Failed'[^;]*"
                     r"ErrorMessage = ERROR_MESSAGE\(\)[^;]*\s+WHERE IngestionJobId = @Run;.*THROW;", catch, re.DOTALL)
    # and says the stage it failed in (Parameters' stage, which another session follows)
    assert re.search(r"Parameters = JSON_MODIFY\(Parameters, '\$\.stage', N'failed'\)", catch)
    # the session's lock is released whether the run failed or not
    assert code.count("EXEC sys.sp_releaseapplock @Resource = @Resource, @LockOwner =") == 2
    # an atom deleted while Python ran is left out, not a foreign key error (547)
    memberships = re.search(r"INSERT INTO provenance\.AtomConcepts.*?;", code, re.DOTALL).group(0)
    assert re.search(r"WHERE EXISTS \(SELECT 1 FROM dbo\.Atoms AS a WITH \(REPEATABLEREAD\) WHERE a\.AtomId = m\.AtomId\)",
                     memberships)
    header = raw[:raw.index("CREATE OR ALTER PROCEDURE")]
    assert "Inside a caller's" in header and "transaction everything is in that transaction" in header


def test_discovery_sets_xact_abort_only_after_its_checks():
    # suggestion 2: SET XACT_ABORT ON before the argument THROWs doomed a caller's transaction
    code = blank_comments_and_strings(_concepts_sql("dbo.fn_DiscoverConcepts"))
    abort = [m.start() for m in re.finditer(r"SET XACT_ABORT ON", code)]
    assert len(abort) == 1
    for number in (50030, 50620, 50621, 50622, 50623, 50625):
        assert code.index(f"THROW {number},") < abort[0], number
    assert "XACT_ABORT" not in blank_comments_and_strings(_concepts_sql("dbo.fn_BindConcepts"))


def test_every_concepts_app_lock_result_is_checked_and_binding_waits_briefly():
    # suggestion 3: a refused sp_getapplock (-3, a deadlock victim) carried on without the lock;
    # D3: the bind waited (-1) for a whole discovery run, and now skips the type after 5 s
    discover = blank_comments_and_strings(_concepts_sql("dbo.fn_DiscoverConcepts"))
    locks = list(re.finditer(r"EXEC @Lock = sys\.sp_getapplock", discover))
    assert len(locks) == 2
    assert re.match(r"[^;]*;\s+IF @Lock < 0\s+BEGIN\s+SET @Message = [^;]*;\s+THROW 50626, @Message, 1;",
                    discover[locks[-1].end():])
    bind = blank_comments_and_strings(_concepts_sql("dbo.sp_BindAtomConcepts"))
    lock = re.search(r"EXEC @Lock = sys\.sp_getapplock [^;]*@LockTimeout = (-?\d+);", bind)
    assert lock and int(lock.group(1)) == 5000
    skip = re.search(r"IF @Lock < 0\s+BEGIN\s+(.*?)\s+END;", bind[lock.end():], re.DOTALL)
    assert skip and "CONTINUE;" in skip.group(1) and "PRINT @Message;" in skip.group(1) and "THROW" not in skip.group(1)


def test_a_failing_bind_never_fails_the_ingest():
    # D3: the bind ran with XACT_ABORT ON in a transaction of its own after sp_StoreAtom committed:
    # its error failed the ingest (no AtomId) and rolled a caller's transaction back
    ingest = blank_comments_and_strings(_concepts_sql("dbo.sp_IngestAtom"))
    assert re.search(r"SET XACT_ABORT OFF;", ingest)
    # and no savepoint around it: sp_StoreAtom's charge wrote the memory-optimized ledger, after which a
    # caller's transaction takes none (12326); the bind writes last, so a failure leaves nothing to undo
    call = re.search(r"BEGIN TRY\s+EXEC dbo\.sp_BindAtomConcepts[^;]*;\s+END TRY\s+BEGIN CATCH(.*?)END CATCH;", ingest, re.DOTALL)
    assert call, "the bind is not called in a TRY"
    assert "SAVE TRANSACTION" not in ingest
    catch = call.group(1)
    doomed = re.search(r"IF @Outer > 0 AND XACT_STATE\(\) <> 1\s+BEGIN(.*?)END;", catch, re.DOTALL)
    assert doomed and "THROW 50638, @Message, 1;" in doomed.group(1)
    rest = catch[doomed.end():]
    assert re.search(r"IF @Outer = 0 AND XACT_STATE\(\) <> 0\s+ROLLBACK TRANSACTION;", rest)
    assert "PRINT @Message;" in rest and "THROW" not in rest
    # the bind opens (and rolls back) a transaction only when it has none, and only then aborts on error
    bind = blank_comments_and_strings(_concepts_sql("dbo.sp_BindAtomConcepts"))
    assert re.search(r"IF @Own = 1\s+BEGIN\s+SET IMPLICIT_TRANSACTIONS OFF;\s+SET XACT_ABORT ON;\s+BEGIN TRANSACTION;\s+END;", bind)
    assert len(re.findall(r"SET XACT_ABORT ON", bind)) == 1
    assert re.search(r"BEGIN CATCH\s+IF @Own = 1 AND XACT_STATE\(\) <> 0\s+ROLLBACK TRANSACTION;\s+THROW;\s+END CATCH;", bind)


def test_a_batch_is_bound_in_one_script_call_and_a_failing_bind_never_fails_it():
    # issue #13: sp_IngestAtoms bound nothing; it now binds what it embedded, one external script
    # call per type for the whole batch (SQL Server's launch costs tens of milliseconds per call)
    bind = blank_comments_and_strings(_concepts_sql("dbo.sp_BindAtomConcepts"))
    assert bind.count("EXEC sys.sp_execute_external_script") == 1
    loop_end = re.search(r"UPDATE #bind_groups SET Computed = 1 WHERE GroupId = @Group;\s+END;", bind)
    assert loop_end, "the script's answers are not gathered type by type"
    # nothing is written until every type is computed: a failed bind has nothing to undo
    writes = [m.start() for m in re.finditer(r"(?:DELETE|INSERT INTO|UPDATE)\s+(?:ac\b|provenance\.AtomConcepts)", bind)]
    assert len(writes) == 2 and min(writes) > loop_end.end()
    batch = blank_comments_and_strings(_concepts_sql("dbo.sp_IngestAtoms"))
    commit = [m.end() for m in re.finditer(r"COMMIT TRANSACTION;", batch)]
    assert len(commit) == 1
    block = re.search(r"SET XACT_ABORT OFF;.*?BEGIN TRY\s+EXEC dbo\.sp_BindAtomConcepts ([^;]*);\s+END TRY\s+"
                      r"BEGIN CATCH(.*?)END CATCH;", batch[commit[0]:], re.DOTALL)
    assert block, "the batch is not bound after its commit, in a TRY, with XACT_ABORT off"
    assert "@EmbeddingType = @EmbeddingType" in block.group(1) and "@AtomIds = @AtomIds" in block.group(1)
    # after the charges wrote the memory-optimized ledger a transaction takes no savepoint (12326)
    assert "SAVE TRANSACTION" not in batch
    catch = block.group(2)
    doomed = re.search(r"IF @Outer > 0 AND XACT_STATE\(\) <> 1\s+BEGIN(.*?)END;", catch, re.DOTALL)
    assert doomed and "THROW 50639, @Message, 1;" in doomed.group(1)
    rest = catch[doomed.end():]
    assert "PRINT @Message;" in rest and "THROW" not in rest
    # the rows returned come after the bind (its memberships are in place when the caller reads them)
    assert batch.rindex("SELECT b.Ordinal, b.AtomId, b.Inserted") > commit[0] + block.end()


def test_the_batch_bind_script_binds_every_atom_by_the_rule():
    # sp_BindAtomConcepts' script run as SQL Server runs it: one input data set holding the
    # concepts ('c') and the atoms ('a'), ids as text (a BIGINT may reach pandas as a float)
    import json

    import numpy as np

    (script, outputs, _), = _external_scripts(_concepts_sql("dbo.sp_BindAtomConcepts"))
    script = script.replace("''", "'")
    assert set(outputs) == {"bound", "problem"}
    f4 = lambda *v: np.array(v, dtype="<f4").tobytes()  # noqa: E731
    data = {"Kind": ["c", "c", "a", "a", "a"], "Id": ["7", "9", "100", "101", "102"],
            "Vector": [f4(1, 0), f4(0, 1), f4(0.8, 0.6), f4(0, 1), f4(-1, 0)]}
    names = {"InputDataSet": data, "threshold": 0.3, "max_concepts": 3}
    exec(compile(script, "sp_BindAtomConcepts", "exec"), names)
    assert names["problem"] == ""
    bound = [(a, c, round(s, 3), p) for a, c, s, p in json.loads(names["bound"])]
    assert bound == [(100, 7, 0.8, True), (100, 9, 0.6, False), (101, 9, 1.0, True)]
    # bad input is a problem for the caller to raise (50635), never a script error
    names = {"InputDataSet": {**data, "Vector": data["Vector"][:4] + [f4(1, 0, 0)]}, "threshold": 0.3, "max_concepts": 3}
    exec(compile(script, "sp_BindAtomConcepts", "exec"), names)
    assert "different dimensions" in names["problem"] and names["bound"] == "[]"


def test_discoverys_script_takes_a_null_int_as_none_or_nan():
    # suggestion 5: a NULL INT parameter (@MinClusterSize's default) may reach Python as float NaN,
    # and int(nan) raised ValueError, refused as 50624; run the script itself with both
    import json
    import math

    import numpy as np

    script = _external_scripts(_concepts_sql("dbo.fn_DiscoverConcepts"))[0][0].replace("''", "'")
    angles = [(0 if i < 8 else math.pi / 2) + (i % 8) * 0.01 for i in range(16)]
    rows = [np.array([math.cos(a), math.sin(a)], dtype="<f4").tobytes() for a in angles]
    for null in (None, float("nan")):
        names = {"InputDataSet": {"AtomId": [str(1000 + i) for i in range(16)], "EmbeddingVector": rows,
                                  "Head": [f"tsqlt concept atom {i}".encode() for i in range(16)]},
                 "previous": None, "parameters": json.dumps({"embedding_type": "tsqlt-2d"}),
                 "min_cluster_size": null, "coherence": 0.4, "max_concepts": 1000}
        exec(compile(script, "fn_DiscoverConcepts", "exec"), names)
        assert names["problem"] == "", (null, names["problem"])
        from deployer.source.render import read_policy
        assert json.loads(names["summary_json"])["min_cluster_size_used"] == read_policy(DB_ROOT)["CONCEPT_MIN_CLUSTER_SIZE"]


def test_sp_generate_text_refuses_a_prompt_too_large_to_store_before_the_model_runs():
    # DBA review of the provenance graph: dbo.sp_GraphRecordGeneration stores the prompt as an atom
    # (dbo.sp_StoreAtom: MAX_CONTENT_BYTES and the tenant's MaxIngestBytes, errors 50002/50034) inside
    # the generation's write transaction, after Python has generated: a long prompt ran the model and
    # then rolled the whole call back. The prompt's UTF-8 size is refused before the external script.
    generate = next(r for r in render_package("mssql") if r.obj.name == "dbo.sp_GenerateText")
    text = blank_comments_and_strings(generate.sql)
    refusal = re.search(r"THROW\s+50610\b", text)
    assert refusal, "sp_GenerateText does not refuse a prompt larger than an atom may be"
    assert refusal.start() < text.find("sp_execute_external_script")
    size = text[:refusal.start()]
    assert re.search(r"DATALENGTH\s*\(\s*CAST\s*\(\s*@prompt\s+COLLATE\s+\w+_UTF8\s+AS\s+VARCHAR", size, re.IGNORECASE)
    assert "@TenantMaxBytes" in size and re.search(r"@TenantMaxBytes\s*=\s*p\.MaxIngestBytes", size)
    pg = next(r for r in render_package("postgresql") if r.obj.name == "dbo.fn_GenerateText").sql
    check = pg.find('prompt.encode("utf-8")')
    assert 0 < check < pg.find("generation.generate("), "fn_GenerateText does not refuse the prompt before generating"
    assert "maxingestbytes" in pg[check:pg.find("generation.generate(")]


def test_the_graph_writer_reads_other_sessions_rows_without_waiting_for_them():
    # DBA review of the provenance graph: sp_GraphRecordAtoms runs in the ingest's transaction, which holds
    # exclusive locks on its new atoms and embeddings; two sessions ingesting for one tenant each read
    # the tenant's embeddings (READ_COMMITTED_SNAPSHOT is off by default) and wait on the other's: a
    # deadlock. Every read of the tenant's atoms and embeddings there but the batch's own skips locked rows.
    writer = blank_comments_and_strings(next(r for r in render_package("mssql") if r.obj.name == "dbo.sp_GraphRecordAtoms").sql)
    assert re.search(r"SET TRANSACTION ISOLATION LEVEL READ COMMITTED;", writer)
    reads = re.findall(r"FROM dbo\.AtomEmbeddings AS e( WITH \(READPAST\))? INNER JOIN dbo\.Atoms AS a( WITH \(READPAST\))?", writer)
    assert len(reads) == 3 and all(e and a for e, a in reads), reads
    # and no key-range lock on the probes of its own atoms' nodes and edges (the caller holds those atoms'
    # rows): HOLDLOCK past the last node queued every tenant's ingest behind this one; only the probe
    # for a neighbour stored before the graph existed keeps it
    probes = sorted((m.group(1), m.group(2), re.search(r"= (\w+\.\$?\w+)", writer[m.end():m.end() + 200]).group(1))
                    for m in re.finditer(r"FROM graph\.AtomGraph(Nodes|Edges) AS \w+ WITH \(([^)]*)\)", writer))
    assert probes == [("Edges", "UPDLOCK", "f.$node_id"), ("Nodes", "UPDLOCK", "g.AtomId"),
                      ("Nodes", "UPDLOCK, HOLDLOCK", "h.AtomId")], probes


def test_a_temporary_table_a_called_procedure_also_creates_fails_the_gate(db_copy):
    # DBA review of reasoning: sp_GenerateText created #weights (ModelId first) before calling sp_StoreAtom,
    # which can reach sp_ComputeEmbedding, whose #weights has other columns; a nested procedure's
    # statements may resolve to its caller's table of the same name
    from tools.tsql_gate.rules import check_rules

    generate = db_copy / "procedures" / "dbo.sp_GenerateText.mssql.sql"
    assert check_rules(render_package("mssql", db_root=db_copy)) == []
    generate.write_text(generate.read_text().replace("#generation_weights", "#weights"))
    failures = check_rules(render_package("mssql", db_root=db_copy))
    assert [(f.rule, f.object) for f in failures] == [("nested-temp-table", "dbo.sp_GenerateText")]
    assert "#weights is also created, with other columns, by dbo.sp_computeembedding" in failures[0].message
