"""The tSQLt test classes (tests/tsqlt/): one class per public procedure of the SQL Server package,
run on a server by scripts/mssql-tests.sh, checked here without one by the T-SQL gate.

Public: an object of db/**/*.mssql.sql whose header says `-- kind: procedure` or `-- kind: function`,
in the dbo schema, and not internal. Internal: its header has an `-- engine-specific:` line (it
has no twin on PostgreSQL) and another procedure or function of the package lists it in its
`-- requires:` line: a SQL Server-only helper that works for its callers (dbo.sp_ApplyWeightMap
reads its caller's #map, dbo.sp_StoreModel its caller's #chunks), not something a user calls.
An engine-specific object that only checks require (dbo.sp_PythonEnvironment) stays public.

A class file is tests/tsqlt/<class>.sql, the class named test_<procedure name>; it starts with
`EXEC tSQLt.NewTestClass '<class>';` and defines its tests as GO-separated
`CREATE PROCEDURE <class>.[test ...]` batches. tests/tsqlt/_<class>.sql holds shared fixtures (no tests).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from deployer.engines import dialect_for
from deployer.package import DB_ROOT, render_package
from deployer.source.catalog import load_catalog
from tools.tsql_gate.parse import exemptions_for, parse_problems
from tools.tsql_gate.references import check_references
from tools.tsql_gate.text import blank_comments_and_strings
from tools.tsql_gate.tsqlt import class_files, class_object, function_call_arguments, max_typed_variant_arguments

ROOT = Path(__file__).resolve().parents[1]
TSQLT = ROOT / "tests" / "tsqlt"
SCRIPT = ROOT / "scripts" / "mssql-tests.sh"
PUBLIC_KINDS = {"procedure", "function"}
_HEADER = re.compile(r"\bCREATE\s+(?:OR\s+ALTER\s+)?PROC(?:EDURE)?\s+(dbo\.\w+)(.*?)(?:^\s*AS\s*$|\bAS\s+BEGIN\b)",
                     re.IGNORECASE | re.DOTALL | re.MULTILINE)
_CALL = re.compile(r"\bEXEC(?:UTE)?\s+(dbo\.\w+)([^;]*)", re.IGNORECASE)
_TEST = re.compile(r"^\s*CREATE\s+PROCEDURE\s+(\w+)\.\[(test[^\]]*)\]", re.IGNORECASE | re.MULTILINE)


def internal_objects() -> set[str]:
    objects = load_catalog(DB_ROOT, "mssql").objects
    # helpers: engine-specific routines that routines, or the row-level security policy, build on
    required_by_routines = {r for o in objects if o.kind in PUBLIC_KINDS | {"policy"} for r in o.requires}
    return {o.name for o in objects if o.kind in PUBLIC_KINDS and o.engine_specific and o.name in required_by_routines}


def public_objects() -> list[str]:
    internal = internal_objects()
    return sorted(o.name for o in load_catalog(DB_ROOT, "mssql").objects
                  if o.kind in PUBLIC_KINDS and o.name.split(".")[0] == "dbo" and o.name not in internal)


def class_name(obj: str) -> str:
    return "test_" + obj.split(".", 1)[1]


def test_the_public_object_rule_sorts_the_known_helpers_out():
    assert "dbo.sp_ApplyWeightMap" in internal_objects()
    public = public_objects()
    assert "dbo.sp_StoreModel" in public  # both engines' one writer of a model's rows, called by clients
    assert "dbo.sp_PythonEnvironment" in public  # engine-specific, but called by people (and a check)
    assert {"dbo.sp_IngestAtom", "dbo.sp_SemanticSearch", "dbo.sp_GenerateText", "dbo.sp_CreateWeightSnapshot",
            "dbo.sp_RestoreWeightSnapshot", "dbo.sp_RollbackWeightsToTimestamp"} <= set(public)


def test_every_public_procedure_and_function_has_a_test_class():
    missing = [f"{obj}: tests/tsqlt/{class_name(obj)}.sql" for obj in public_objects()
               if not (TSQLT / f"{class_name(obj)}.sql").is_file()]
    assert missing == []


@pytest.mark.parametrize("path", class_files(TSQLT), ids=lambda p: p.name)
def test_a_class_file_creates_its_class_and_defines_tests_in_it(path):
    text = path.read_text(encoding="utf-8")
    name, fixtures = path.stem.lstrip("_"), path.stem.startswith("_")
    batches = list(dialect_for("mssql").batches(text))
    assert re.search(rf"^EXEC tSQLt\.NewTestClass '{name}';\s*$", batches[0], re.MULTILINE), \
        f"{path.name}: the first batch must be EXEC tSQLt.NewTestClass '{name}';"
    tests = [(schema, test) for batch in batches for schema, test in _TEST.findall(batch)]
    assert all(schema == name for schema, _ in tests), f"{path.name}: a test outside class {name}"
    if not fixtures:
        assert len(tests) >= 1, f"{path.name}: no CREATE PROCEDURE {name}.[test ...]"
        assert len({t for _, t in tests}) == len(tests), f"{path.name}: two tests of the same name"


@pytest.mark.parametrize("path", class_files(TSQLT), ids=lambda p: p.name)
def test_every_batch_of_a_class_file_parses(path):
    batches = class_object(path).batches
    assert [b for b in batches if exemptions_for(b)] == []  # nothing in a test class is exempt
    assert {i: parse_problems(b) for i, b in enumerate(batches, 1) if parse_problems(b)} == {}


def test_the_class_files_resolve_against_the_package():
    classes = [class_object(path) for path in class_files(TSQLT)]
    assert [str(f) for f in check_references([*render_package("mssql"), *classes])] == []


def test_the_reference_check_catches_a_misspelt_column_in_a_test_class(tmp_path):
    source = TSQLT / "test_sp_IngestAtom.sql"
    text = source.read_text(encoding="utf-8")
    assert "ReferenceCount" in text
    broken = tmp_path / "test_sp_IngestAtom.sql"
    broken.write_text(text.replace("ReferenceCount", "ReferenceCnt", 1), encoding="utf-8")
    failures = check_references([*render_package("mssql"), class_object(broken)])
    assert failures and all(f.name.endswith("ReferenceCnt") for f in failures), [str(f) for f in failures]
    assert failures[0].object == "test_sp_IngestAtom"


def test_the_reference_check_catches_a_misspelt_table_in_a_test_class(tmp_path):
    broken = tmp_path / "test_broken.sql"
    broken.write_text("EXEC tSQLt.NewTestClass 'test_broken';\nGO\n"
                      "CREATE PROCEDURE test_broken.[test reads a table]\nAS\nBEGIN\n"
                      "    DECLARE @n INT = (SELECT COUNT(*) FROM dbo.Atom WHERE TenantId = 424242);\n"
                      "    EXEC tSQLt.AssertEquals @Expected = 0, @Actual = @n;\nEND;\nGO\n", encoding="utf-8")
    failures = check_references([*render_package("mssql"), class_object(broken)])
    assert [f.name for f in failures] == ["dbo.Atom"]


@pytest.mark.parametrize("path", class_files(TSQLT), ids=lambda p: p.name)
def test_no_class_passes_a_max_typed_variable_to_a_variant_assertion(path):
    assert max_typed_variant_arguments(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize("path", class_files(TSQLT), ids=lambda p: p.name)
def test_no_class_passes_a_function_call_as_an_exec_argument(path):
    assert function_call_arguments(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize("path", class_files(TSQLT), ids=lambda p: p.name)
def test_no_setup_leaves_a_temporary_table_for_its_tests(path):
    # review of the graph classes: tSQLt runs SetUp as a procedure of its own, and a #table created in a
    # procedure is dropped when it returns: test_fn_BindConcepts' tests read SetUp's #atom and would
    # all fail with "Invalid object name"
    setups = re.findall(r"\[SetUp\]\s+AS\s+BEGIN(.*?)^END;", path.read_text(encoding="utf-8"), re.S | re.M | re.I)
    assert [m.group(0) for setup in setups for m in re.finditer(r"CREATE\s+TABLE\s+#\w+|INTO\s+#\w+", setup, re.I)] == []


def test_no_rendered_procedure_passes_a_function_call_as_an_exec_argument():
    assert {r.obj.name: function_call_arguments(r.sql) for r in render_package("mssql")
            if function_call_arguments(r.sql)} == {}


def test_the_function_argument_rule_finds_a_call():
    text = ("BEGIN CATCH\n    EXEC tSQLt.Fail 'unexpected error: ', ERROR_MESSAGE();\n"
            "    EXEC tSQLt.Fail 'fine: ', @Error;\n    EXEC @rc = sys.sp_getapplock @Resource = @R, @LockMode = N'X';\n"
            "    EXEC dbo.p @a = CONCAT(N'a', N'b');\nEND CATCH;")
    assert [f.split(" in ")[0] for f in function_call_arguments(text)] == ["ERROR_MESSAGE()", "CONCAT()"]


def test_the_variant_assertion_rule_finds_a_max_typed_variable():
    text = ("CREATE PROCEDURE t.[test x]\nAS\nBEGIN\n    DECLARE @Data VARBINARY(MAX), @Text NVARCHAR(MAX), @Small VARBINARY(64);\n"
            "    EXEC tSQLt.AssertEquals @Expected = 0x01, @Actual = @Data;\n"
            "    EXEC tSQLt.AssertEqualsString @Expected = N'a', @Actual = @Text;\n"
            "    EXEC tSQLt.AssertEquals @Expected = 0x01, @Actual = @Small;\nEND;\nGO\n"
            "CREATE PROCEDURE t.[test y]\nAS\nBEGIN\n    EXEC tSQLt.AssertNotEquals @Expected = 0x01, @Actual = @Data;\nEND;\nGO\n")
    assert [f.split(" in ")[0] for f in max_typed_variant_arguments(text)] == ["@Data"]


def test_the_runner_script_is_valid_bash():
    result = subprocess.run(["bash", "-n", str(SCRIPT)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck is not installed")
def test_the_runner_script_passes_shellcheck():
    result = subprocess.run(["shellcheck", str(SCRIPT)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_the_runner_script_refuses_to_start_without_a_dsn_or_tsqlt(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    result = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, env=env)
    assert result.returncode == 2 and "HARTONOMOUS_MSSQL_DSN" in result.stderr
    env["HARTONOMOUS_MSSQL_DSN"] = "DRIVER={ODBC Driver 18 for SQL Server};SERVER=db,1433;UID=u;PWD=secret"
    result = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, env=env)
    assert result.returncode == 2 and "tSQLt.class.sql" in result.stderr
    assert "secret" not in result.stdout + result.stderr


def procedure_parameters() -> dict[str, set[str]]:
    """dbo procedure name (lower-case) -> its parameter names (lower-case), from the rendered package."""
    found = {}
    for item in render_package("mssql"):
        if item.obj.kind == "procedure":
            for match in _HEADER.finditer(blank_comments_and_strings(item.sql)):
                found[match.group(1).lower()] = {p.lower() for p in re.findall(r"@(\w+)", match.group(2))}
    return found


def test_the_class_files_call_package_procedures_with_their_parameters():
    # the reference check reads DML, not EXEC; a misspelt parameter would fail only on a server (error
    # 8145), and would satisfy an ExpectException that names no error number
    parameters, wrong = procedure_parameters(), []
    for path in class_files(TSQLT):
        code = blank_comments_and_strings(path.read_text(encoding="utf-8"))
        for call in _CALL.finditer(code):
            name, arguments = call.group(1).lower(), call.group(2)
            line = code.count("\n", 0, call.start()) + 1
            if name not in parameters:
                wrong.append(f"{path.name}:{line}: {call.group(1)} is not a procedure of the package")
                continue
            wrong.extend(f"{path.name}:{line}: {call.group(1)} has no parameter @{p}"
                         for p in re.findall(r"@(\w+)\s*=", arguments) if p.lower() not in parameters[name])
    assert wrong == []


def test_the_runner_script_passes_the_password_only_in_the_environment(tmp_path):
    # a stand-in sqlcmd records its arguments and whether SQLCMDPASSWORD reached it; it fails RunAll
    log, fake = tmp_path / "calls.log", tmp_path / "bin"
    fake.mkdir()
    (fake / "sqlcmd").write_text('#!/bin/sh\n'
                                 'echo "$(echo "$*" | tr "\\n" " ") [password in env: ${SQLCMDPASSWORD:+yes}]"'
                                 ' >> "$FAKE_LOG"\n'
                                 'case "$*" in *tSQLt.RunAll*) exit 1 ;; esac\nexit 0\n')
    (fake / "sqlcmd").chmod(0o755)
    tsqlt = tmp_path / "tSQLt.class.sql"
    tsqlt.write_text("-- stand-in\n")
    env = {"PATH": f"{fake}:/usr/bin:/bin", "HOME": str(tmp_path), "FAKE_LOG": str(log),
           "HARTONOMOUS_MSSQL_DSN": "DRIVER={ODBC Driver 18 for SQL Server};SERVER=db,1433;DATABASE=Hx;"
                                    "UID=tester;PWD={p4ss;w}}rd};TrustServerCertificate=yes"}
    result = subprocess.run(["bash", str(SCRIPT), str(tsqlt)], capture_output=True, text=True, env=env, timeout=120)
    calls = log.read_text()
    assert result.returncode == 1 and "tests failed" in result.stderr
    assert "p4ss" not in calls + result.stdout + result.stderr
    lines = [line for line in calls.splitlines() if line.startswith("-S ")]
    assert lines and all("-S db,1433 -b -I -U tester -C" in line and line.endswith("[password in env: yes]")
                         for line in lines)
    assert sum(f"-d Hx -i {TSQLT}/" in line for line in lines) == len(class_files(TSQLT))


NO_TRANSACTION = "--[@tSQLt:NoTransaction]('test_fixtures.RollbackOpen')"
SPY_CHARGE = re.compile(r"CREATE\s+PROCEDURE\s+\w+\.\[SetUp\].*?\btSQLt\.SpyProcedure\s+@ProcedureName\s*=\s*"
                        r"N'dbo\.sp_ChargeUsage'", re.IGNORECASE | re.DOTALL)


def ledger_access() -> tuple[set[str], set[str], set[str]]:
    """(memory-optimized tables, the routines that touch one in their own text, every routine that
    reaches one through what it requires)."""
    from tools.tsql_gate.rules import memory_optimized_tables

    rendered = render_package("mssql")
    tables = set(memory_optimized_tables(rendered))
    direct = {r.obj.name for r in rendered if r.obj.kind in PUBLIC_KINDS
              and any(t in r.sql.lower() for t in tables)}
    objects = load_catalog(DB_ROOT, "mssql").objects
    reaching, grown = set(direct), True
    while grown:
        more = {o.name for o in objects if o.kind in PUBLIC_KINDS and set(o.requires) & reaching} - reaching
        reaching |= more
        grown = bool(more)
    return tables, direct, reaching


@pytest.mark.parametrize("path", class_files(TSQLT), ids=lambda p: p.name)
def test_a_test_that_reaches_the_memory_optimized_ledger_runs_outside_tsqlts_transaction(path):
    # DBA review: tSQLt runs each test in a transaction with a savepoint, and a transaction that
    # touched a memory-optimized table takes no savepoint (error 12326). A class either spies
    # dbo.sp_ChargeUsage in its SetUp (the metered procedures then never reach the ledger), or the
    # test runs NoTransaction in a transaction of its own that test_fixtures.RollbackOpen rolls back.
    tables, direct, reaching = ledger_access()
    text = path.read_text(encoding="utf-8")
    unsafe = (direct - {"dbo.sp_ChargeUsage"}) if SPY_CHARGE.search(text) else reaching
    for batch in dialect_for("mssql").batches(text):
        if not _TEST.search(batch) and "[SetUp]" not in batch:
            continue
        # (a bracketed test name may hold an apostrophe, which is no string's start)
        code = blank_comments_and_strings(re.sub(r"\[[^\]\n]*\]", "[name]", batch)).lower()
        touches = {t for t in tables if t in code} | {c.lower() for c, _ in _CALL.findall(batch)} & {u.lower() for u in unsafe}
        if touches:
            assert NO_TRANSACTION in batch, \
                f"{path.name}: {batch.splitlines()[1]} reaches {sorted(touches)} inside tSQLt's transaction"
            # its writes need a transaction of its own, unless it expects its first call to fail
            first_exec = re.search(r"\bexec(?:ute)?\s+([\w.]+)", code)
            opens = re.search(r"^\s*begin\s+transaction\b", code, re.MULTILINE)
            assert opens or (first_exec and first_exec.group(1) == "tsqlt.expectexception"), \
                f"{path.name}: {batch.splitlines()[1]} runs NoTransaction without a transaction of its own"
            if opens:
                # (second review) it rolls back itself, in its TRY and its CATCH: a procedure that ends
                # with another transaction count raises 266; an expectation comes before the transaction
                assert code.count("rollback transaction") >= 2 and "begin catch" in code, \
                    f"{path.name}: {batch.splitlines()[1]} leaves its transaction to the clean-up (error 266)"
                expect = code.find("tsqlt.expectexception")
                assert expect < 0 or expect < opens.start(), \
                    f"{path.name}: {batch.splitlines()[1]} expects an exception inside the transaction it rolls back"


def test_the_ledger_rule_knows_who_reaches_the_ledger():
    tables, direct, reaching = ledger_access()
    assert tables == {"dbo.billingusageledger_inmemory"}
    assert direct == {"dbo.sp_ChargeUsage", "dbo.sp_ArchiveBillingUsage"}
    assert {"dbo.sp_IngestAtom", "dbo.sp_SemanticSearch", "dbo.sp_GenerateText", "dbo.sp_GenerateEmbedding"} <= reaching
