"""The tSQLt test classes (tests/tsqlt/) as the T-SQL gate reads them.

The classes are T-SQL the package does not carry: scripts/mssql-tests.sh loads them, with tSQLt,
into a published database. Statically they are checked like the sqlcmd smoke test: each
GO-separated batch through the syntax gate (tools.tsql_gate.parse), and the DML inside the tests
through the reference check (tools.tsql_gate.references) against the package's tables, so a test
that names a misspelt table or column fails before any server. This module turns a class file
into the RenderedObject those checks take (class_object) (kind `check`: its DML is reference-checked).

tSQLt's own objects are not in the package, and need no entry: the tests only call them with
EXEC (tSQLt.NewTestClass, FakeTable, AssertEquals, AssertEqualsTable, ExpectException, Fail), and
the reference check resolves names in DML, not procedure calls. The same holds for the helpers in
the test-class schemas (test_fixtures.CreateModel) and their scalar functions, which DML reads as
function calls, not tables. An unknown schema is never accepted wholesale: DML that reads a table
the package does not define (tSQLt.TestResult included) fails, as a misspelt dbo table does.
"""

from __future__ import annotations

import re
from pathlib import Path

from deployer.engines import dialect_for
from deployer.source.catalog import DbObject
from deployer.source.render import RenderedObject, normalize
from deployer.source.stages import Stage


def class_files(folder: Path) -> list[Path]:
    """The class files of a folder, in the order scripts/mssql-tests.sh loads them (by name:
    _*.sql fixtures first)."""
    return sorted(folder.glob("*.sql"))


def class_object(path: Path) -> RenderedObject:
    """A class file as a rendered `check` object of the SQL Server package (named after the class)."""
    text = normalize(path.read_text(encoding="utf-8"))
    batches = tuple(dialect_for("mssql").batches(text))
    try:
        label = path.resolve().relative_to(Path(__file__).resolve().parents[2])
    except ValueError:  # a copy outside the repository (a test's tmp_path)
        label = Path("tests/tsqlt") / path.name
    return RenderedObject(DbObject(path.stem, "check", Stage.VERIFICATION, "mssql", label), text, batches)


# tSQLt.AssertEquals and AssertNotEquals take SQL_VARIANT, which cannot hold a MAX type: passing a
# (N)VARCHAR(MAX) or VARBINARY(MAX) variable fails with error 206 (operand type clash) before
# anything is compared. Strings go through AssertEqualsString; bytes need VARBINARY(8000) or less.
_MAX_DECLARED = re.compile(r"(@\w+)\s+(?:N?VARCHAR|VARBINARY)\s*\(\s*MAX\s*\)", re.IGNORECASE)
_VARIANT_ASSERT = re.compile(r"\btSQLt\.Assert(?:Not)?Equals\b(?!String|Table)([^;]*)", re.IGNORECASE)
_ARGUMENT_VALUE = re.compile(r"=\s*(@\w+)")


def max_typed_variant_arguments(text: str) -> list[str]:
    """Each tSQLt.AssertEquals/AssertNotEquals call of a GO-separated T-SQL text that passes a
    variable its batch declared with a MAX type, as 'variable in call'."""
    found = []
    for batch in re.split(r"^\s*GO\s*$", text, flags=re.MULTILINE | re.IGNORECASE):
        declared = {m.group(1).lower() for m in _MAX_DECLARED.finditer(batch)}
        for call in _VARIANT_ASSERT.finditer(batch):
            for value in _ARGUMENT_VALUE.findall(call.group(1)):
                if value.lower() in declared:
                    found.append(f"{value} in {' '.join(call.group(0).split())[:120]}")
    return found


# An EXEC argument is a constant, a variable or DEFAULT: a function call there
# (EXEC tSQLt.Fail 'x', ERROR_MESSAGE()) is a syntax error the parser used by the gate accepts.
_EXEC_CALL = re.compile(r"\bEXEC(?:UTE)?\s+(?:@\w+\s*=\s*)?[\w.\[\]]+([^;]*?)(?=;|\n\s*(?:END|GO|IF|SET|SELECT|EXEC|DECLARE|RETURN|BEGIN)\b)",
                        re.IGNORECASE)
_FUNCTION_ARGUMENT = re.compile(r"(?:^|,|=)\s*([A-Za-z_][\w.]*)\s*\(")


def function_call_arguments(text: str) -> list[str]:
    """Each EXEC of a T-SQL text (comments and strings blanked) that passes a function call as an
    argument, as 'function in call'."""
    from tools.tsql_gate.text import blank_comments_and_strings

    found = []
    for call in _EXEC_CALL.finditer(blank_comments_and_strings(text)):
        arguments = call.group(1)
        if arguments.lstrip().startswith("("):  # EXEC (N'...') runs a string, no arguments
            continue
        for function in _FUNCTION_ARGUMENT.findall(arguments):
            found.append(f"{function}() in {' '.join(call.group(0).split())[:100]}")
    return found
