"""The T-SQL syntax gate: every SQL Server batch the deployer can send must parse.

It sits after the render step (deployer.source.render) and before anything reaches a server:
each GO-separated batch of each rendering the registry names (tools.tsql_gate.registry: every
supported SQL Server version and the switches that change the text) goes through sqlfluff's
`tsql` grammar, and so does the deployer's own T-SQL (the registry of statements the SQL Server
seam sends, deployer.engines.mssql.statements). A syntax error in db/*.mssql.sql therefore fails
the tests (tests/test_tsql_gate.py) on a machine without SQL Server, instead of failing a publish
half way through.

sqlfluff does not know every statement SQL Server has. The statement kinds it cannot parse are
listed once, in EXEMPTIONS, each with the reason and a sample that proves sqlfluff still fails on
it. A batch holding such a statement is not parsed; the tests compare its rendering with a golden
file instead, so it is reviewed by a person whenever it changes.

`python -m tools.tsql_gate` runs the gate outside pytest and prints failures and timing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from deployer.package import DB_ROOT
from deployer.source.render import RenderedObject
from tools.tsql_gate.failures import GateFailure
from tools.tsql_gate.registry import RENDER_VARIANTS, deployer_sql, operation_batches, render_variant
from tools.tsql_gate.statements import split_statements
from tools.tsql_gate.text import blank_comments_and_strings


@dataclass(frozen=True)
class Exemption:
    """A statement kind sqlfluff's tsql dialect cannot parse (checked against sqlfluff 4.x)."""

    kind: str
    pattern: re.Pattern[str]
    reason: str
    samples: tuple[str, ...]  # valid T-SQL that sqlfluff fails on; the tests keep this true


def _statement(regex: str) -> re.Pattern[str]:
    return re.compile(regex, re.IGNORECASE)


# Matched against the batch with comments and string literals blanked out, so a statement
# mentioned in a comment or inside a Python script string does not exempt a batch.
EXEMPTIONS: tuple[Exemption, ...] = (
    Exemption(
        kind="CREATE/ALTER/DROP EXTERNAL LIBRARY",
        pattern=_statement(r"\b(?:CREATE|ALTER|DROP)\s+EXTERNAL\s+LIBRARY\b"),
        reason="Machine Learning Services DDL; sqlfluff's tsql grammar has no external library "
        "statements. Stage 3 installs the package wheel with it (db/external_scripts/hartonomous_ext).",
        samples=(
            "CREATE EXTERNAL LIBRARY hartonomous_ext\nFROM (CONTENT = 0x504B0304)\nWITH (LANGUAGE = 'Python');\n",
            "ALTER EXTERNAL LIBRARY hartonomous_ext\nSET (CONTENT = 0x504B0304)\nWITH (LANGUAGE = 'Python');\n",
            "DROP EXTERNAL LIBRARY hartonomous_ext;\n",
        ),
    ),
    Exemption(
        kind="ALTER DATABASE ... ADD FILEGROUP ... CONTAINS FILESTREAM",
        pattern=_statement(r"\bADD\s+FILEGROUP\s+\S+\s+CONTAINS\s+(?:FILESTREAM|MEMORY_OPTIMIZED_DATA)\b"),
        reason="sqlfluff parses ADD FILEGROUP but not its CONTAINS FILESTREAM / "
        "MEMORY_OPTIMIZED_DATA clause; the payload store needs a FILESTREAM filegroup.",
        samples=(
            "ALTER DATABASE [Hartonomous] ADD FILEGROUP HartonomousFilestream CONTAINS FILESTREAM;\n",
            "ALTER DATABASE [Hartonomous] ADD FILEGROUP HartonomousInMemory CONTAINS MEMORY_OPTIMIZED_DATA;\n",
        ),
    ),
    Exemption(
        kind="Service Broker message types (CREATE/ALTER/DROP MESSAGE TYPE)",
        pattern=_statement(r"\b(?:CREATE|ALTER|DROP)\s+MESSAGE\s+TYPE\b"),
        reason="Service Broker DDL is not in sqlfluff's tsql grammar; stage 5 (db/servicebroker) needs it.",
        samples=(
            "CREATE MESSAGE TYPE [//Hartonomous/Request] VALIDATION = WELL_FORMED_XML;\n",
            "DROP MESSAGE TYPE [//Hartonomous/Request];\n",
        ),
    ),
    Exemption(
        kind="Service Broker contracts (CREATE/DROP CONTRACT)",
        pattern=_statement(r"\b(?:CREATE|DROP)\s+CONTRACT\b"),
        reason="Service Broker DDL is not in sqlfluff's tsql grammar; stage 5 (db/servicebroker) needs it.",
        samples=(
            "CREATE CONTRACT [//Hartonomous/Contract] ([//Hartonomous/Request] SENT BY INITIATOR);\n",
            "DROP CONTRACT [//Hartonomous/Contract];\n",
        ),
    ),
    Exemption(
        kind="Service Broker queues (CREATE/ALTER/DROP QUEUE)",
        pattern=_statement(r"\b(?:CREATE|ALTER|DROP)\s+QUEUE\b"),
        reason="Service Broker DDL is not in sqlfluff's tsql grammar; stage 5 (db/servicebroker) needs it.",
        samples=(
            "CREATE QUEUE dbo.HartonomousQueue WITH STATUS = ON;\n",
            "ALTER QUEUE dbo.HartonomousQueue WITH ACTIVATION (STATUS = ON, "
            "PROCEDURE_NAME = dbo.sp_Activate, MAX_QUEUE_READERS = 1, EXECUTE AS OWNER);\n",
            "DROP QUEUE dbo.HartonomousQueue;\n",
        ),
    ),
    Exemption(
        kind="Service Broker services (CREATE/ALTER/DROP SERVICE)",
        pattern=_statement(r"\b(?:CREATE|ALTER|DROP)\s+SERVICE\b"),
        reason="Service Broker DDL is not in sqlfluff's tsql grammar; stage 5 (db/servicebroker) needs it.",
        samples=(
            "CREATE SERVICE [//Hartonomous/Service] ON QUEUE dbo.HartonomousQueue ([//Hartonomous/Contract]);\n",
            "ALTER SERVICE [//Hartonomous/Service] ON QUEUE dbo.OtherQueue;\n",
            "DROP SERVICE [//Hartonomous/Service];\n",
        ),
    ),
    Exemption(
        kind="Service Broker BEGIN DIALOG",
        pattern=_statement(r"\bBEGIN\s+DIALOG\b"),
        reason="Service Broker conversation statements are not in sqlfluff's tsql grammar "
        "(END CONVERSATION is, so it is not listed).",
        samples=(
            "BEGIN DIALOG CONVERSATION @handle FROM SERVICE [//Hartonomous/Service] "
            "TO SERVICE N'//Hartonomous/Service' ON CONTRACT [//Hartonomous/Contract] WITH ENCRYPTION = OFF;\n",
        ),
    ),
    Exemption(
        kind="Service Broker BEGIN CONVERSATION TIMER",
        pattern=_statement(r"\bBEGIN\s+CONVERSATION\s+TIMER\b"),
        reason="Service Broker conversation statements are not in sqlfluff's tsql grammar; the loop "
        "delays a message with a conversation timer (dbo.sp_SendLoopMessage).",
        samples=("BEGIN CONVERSATION TIMER (@handle) TIMEOUT = 60;\n",),
    ),
    Exemption(
        kind="Service Broker SEND",
        pattern=_statement(r"\bSEND\s+ON\s+CONVERSATION\b"),
        reason="Service Broker conversation statements are not in sqlfluff's tsql grammar.",
        samples=("SEND ON CONVERSATION @handle MESSAGE TYPE [//Hartonomous/Request] (@body);\n",),
    ),
    Exemption(
        kind="Service Broker RECEIVE",
        # RECEIVE ... FROM <queue> within one statement; a lone word "receive" is not enough
        pattern=_statement(r"\bRECEIVE\b(?=[^;]*\bFROM\b)"),
        reason="Service Broker conversation statements are not in sqlfluff's tsql grammar.",
        samples=(
            "RECEIVE TOP (1) @handle = conversation_handle, @body = message_body FROM dbo.HartonomousQueue;\n",
            "WAITFOR (RECEIVE TOP (1) @handle = conversation_handle FROM dbo.HartonomousQueue), TIMEOUT 1000;\n",
        ),
    ),
    Exemption(
        kind="CREATE SPATIAL INDEX",
        pattern=_statement(r"\bCREATE\s+SPATIAL\s+INDEX\b"),
        reason="sqlfluff's tsql grammar has no spatial indexes; the embedding projections may use them.",
        samples=(
            "CREATE SPATIAL INDEX SIX_AtomEmbeddings_Spatial ON dbo.AtomEmbeddings (SpatialPoint) "
            "USING GEOMETRY_AUTO_GRID WITH (BOUNDING_BOX = (0, 0, 100, 100));\n",
        ),
    ),
    Exemption(
        kind="BACKUP / RESTORE",
        pattern=_statement(r"\b(?:BACKUP|RESTORE)\s+(?:DATABASE|LOG|VERIFYONLY|FILELISTONLY|HEADERONLY)\b"),
        reason="sqlfluff's tsql grammar has no BACKUP or RESTORE; the backup and restore scripts "
        "(deployer.engines.mssql.operations) use them.",
        samples=(
            "BACKUP DATABASE @Database TO DISK = @File WITH COPY_ONLY, CHECKSUM, INIT, FORMAT, STATS = 10;\n",
            "RESTORE VERIFYONLY FROM DISK = @File WITH CHECKSUM;\n",
            "RESTORE DATABASE @Database FROM DISK = @File WITH MOVE @DataName TO @DataFile, CHECKSUM, RECOVERY;\n",
        ),
    ),
    Exemption(
        kind="graph MATCH",
        pattern=_statement(r"\bMATCH\s*\("),
        reason="SQL Graph pattern matching (MATCH, SHORTEST_PATH) is not in sqlfluff's tsql grammar; "
        "the graph schema's queries use it.",
        samples=(
            "SELECT b.Name FROM graph.Node AS a, graph.Edge AS e, graph.Node AS b WHERE MATCH(a-(e)->b);\n",
        ),
    ),
    Exemption(
        kind="SQL Graph pseudo-columns ($node_id, $from_id, $to_id, $edge_id)",
        pattern=_statement(r"\$(?:node_id|from_id|to_id|edge_id)\b"),
        reason="sqlfluff's tsql grammar does not read the graph tables' pseudo-columns, which writing an "
        "edge and indexing an edge table's ends need (graph.AtomGraphEdges and its writers).",
        samples=(
            "INSERT INTO graph.Edge ($from_id, $to_id, Kind) SELECT a.$node_id, b.$node_id, 1 "
            "FROM graph.Node AS a, graph.Node AS b;\n",
            "CREATE UNIQUE INDEX UX_Edge ON graph.Edge ($from_id, $to_id, Kind);\n",
        ),
    ),
)


@dataclass(frozen=True)
class StandIn:
    """A one-line statement sqlfluff cannot parse, read as one it can (same line) before parsing:
    a batch holding it is still parsed, instead of exempted whole."""

    kind: str
    pattern: re.Pattern[str]
    replacement: str
    samples: tuple[str, ...]  # valid T-SQL that sqlfluff fails on; the tests keep this true


STAND_INS: tuple[StandIn, ...] = (
    StandIn(
        kind="EXECUTE AS USER / LOGIN (a context switch; tSQLt tests run as a tenant's user with it)",
        pattern=_statement(r"\bEXECUTE\s+AS\s+(?:USER|LOGIN)\s*=\s*N?'[^'\n]*'\s*;"),
        replacement="SET NOCOUNT ON;",
        samples=("EXECUTE AS USER = N'tsqlt_alice';\n", "EXECUTE AS LOGIN = 'someone';\n"),
    ),
    StandIn(
        kind="REVERT (the end of a context switch)",
        pattern=_statement(r"\bREVERT\s*;"),
        replacement="SET NOCOUNT ON;",
        samples=("REVERT;\n",),
    ),
)


def with_stand_ins(batch: str) -> str:
    for stand_in in STAND_INS:
        batch = stand_in.pattern.sub(stand_in.replacement, batch)
    return batch


@dataclass(frozen=True)
class ParseProblem:
    line: int  # within the batch
    position: int
    message: str


@dataclass(frozen=True)
class ExemptedBatch:
    object: RenderedObject
    number: int
    text: str
    exemptions: tuple[Exemption, ...]


def exemptions_for(batch: str) -> tuple[Exemption, ...]:
    code = blank_comments_and_strings(batch)
    return tuple(e for e in EXEMPTIONS if e.pattern.search(code))


def gate_config():
    from sqlfluff.core import FluffConfig

    return FluffConfig(overrides={
        "dialect": "tsql",
        # the raw templater: rendered SQL is final text, and the Python inside the procedures'
        # script strings may contain `{{`/`{%`, which sqlfluff's default jinja templater would read
        "templater": "raw",
        # sqlfluff skips files over 20 KB by default; the library batch carries a whole wheel as a
        # hex literal. Parsing strings does not apply the limit today, but the gate must never
        # depend on that: 0 switches it off.
        "large_file_skip_byte_limit": 0,
    })


@lru_cache(maxsize=1)
def _linter():
    from sqlfluff.core import Linter

    return Linter(config=gate_config())


_LOCATION_PREFIX = re.compile(r"^Line \d+, Position \d+: ")


# Keyed by batch text: most batches are identical in every rendering (2019/2022/2025, sqlcmd
# variables or not), and sqlfluff is the slow part, so each distinct text is parsed once.
@lru_cache(maxsize=None)
def parse_problems(batch: str) -> tuple[ParseProblem, ...]:
    """sqlfluff's parse errors for one batch (empty: it parses)."""
    batch = with_stand_ins(batch)
    return tuple(_pinpoint(batch, problem) for problem in _sqlfluff_problems(batch))


def _sqlfluff_problems(sql: str) -> list[ParseProblem]:
    parsed = _linter().parse_string(sql)
    problems = [
        ParseProblem(v.line_no, v.line_pos, _LOCATION_PREFIX.sub("", v.desc()))
        for v in parsed.violations
    ]
    if parsed.tree is None and not problems:
        problems.append(ParseProblem(1, 1, "sqlfluff produced no parse tree"))
    elif parsed.tree is not None:
        # every unparsable section is reported as a violation today; should a sqlfluff release
        # stop doing so, the tree still tells
        reported = {p.line for p in problems}
        for segment in parsed.tree.recursive_crawl("unparsable"):
            line, position = segment.pos_marker.line_no, segment.pos_marker.line_pos
            if line not in reported:
                problems.append(ParseProblem(line, position, f"unparsable section: {segment.raw[:80]!r}"))
    return problems


_WHOLE_BLOCK = re.compile(r"^Found unparsable section: ['\"]\s*(?:CREATE|ALTER|BEGIN|IF|WHILE|ELSE)\b", re.IGNORECASE)


def _pinpoint(batch: str, problem: ParseProblem) -> ParseProblem:
    """The statement that is wrong, when sqlfluff rejects the whole block around it.

    One bad statement inside CREATE PROCEDURE ... BEGIN ... END makes sqlfluff reject the whole
    procedure at its first line. The block's simple statements (and IF/WHILE conditions), parsed
    one by one, show which one it is; if none fails on its own (a missing END, say), the problem
    stays where sqlfluff put it.
    """
    if not _WHOLE_BLOCK.match(problem.message):
        return problem
    try:
        statements = split_statements(batch)
    except Exception:  # the tokenizer gives up on some broken text; sqlfluff's report stands
        return problem
    for statement in statements:
        if statement.line < problem.line:
            continue
        text = f"IF {statement.text}\n    PRINT 1;\n" if statement.condition else statement.text + ";\n"
        offset = 3 if statement.condition else 0  # the "IF " in front of a condition
        for inner in _sqlfluff_problems(text):
            column = statement.tokens[0].start - batch.rfind("\n", 0, statement.tokens[0].start)
            position = column + inner.position - 1 - offset if inner.line == 1 else inner.position
            return ParseProblem(
                statement.line + inner.line - 1, position,
                f"{inner.message} (sqlfluff rejects the whole block from line {problem.line})",
            )
    return problem


def _mssql_batches(rendered: Iterable[RenderedObject]):
    for item in rendered:
        if item.obj.engine_name != "mssql":
            continue
        for number, batch in enumerate(item.batches, start=1):
            yield item, number, batch


def check_rendered(rendered: Iterable[RenderedObject]) -> list[GateFailure]:
    """Gate failures of rendered SQL Server objects (exempted batches are not parsed)."""
    failures = []
    for item, number, batch in _mssql_batches(rendered):
        if exemptions_for(batch):
            continue
        for problem in parse_problems(batch):
            failures.append(GateFailure(item.obj.name, item.obj.source_label, number, problem.line, problem.message))
    return failures


def exempted_batches(rendered: Iterable[RenderedObject]) -> list[ExemptedBatch]:
    """The batches the gate does not parse, with the exemptions that apply to each."""
    found = []
    for item, number, batch in _mssql_batches(rendered):
        exemptions = exemptions_for(batch)
        if exemptions:
            found.append(ExemptedBatch(item, number, batch, exemptions))
    return found


def check_deployer_sql() -> list[GateFailure]:
    """Gate failures of the deployer's own T-SQL (tools.tsql_gate.registry.deployer_sql)."""
    failures = []
    for label, sql in deployer_sql():
        if exemptions_for(sql):
            failures.append(GateFailure("deployer", label, 1, 1, "uses a statement sqlfluff cannot parse"))
            continue
        for problem in parse_problems(sql):
            failures.append(GateFailure("deployer", label, 1, problem.line, problem.message))
    return failures


def check_operation_scripts() -> list[GateFailure]:
    """Gate failures of the backup and restore scripts (exempted batches have golden files instead)."""
    failures = []
    for label, number, batch in operation_batches():
        if exemptions_for(batch):
            continue
        for problem in parse_problems(batch):
            failures.append(GateFailure("operations", label, number, problem.line, problem.message))
    return failures


def check_package(
    variants: Sequence[str] = tuple(RENDER_VARIANTS), *, db_root: Path = DB_ROOT
) -> list[GateFailure]:
    """The whole gate: every rendering variant of the package, then the deployer's own T-SQL."""
    failures: list[GateFailure] = []
    seen: set[GateFailure] = set()
    for variant in variants:
        for failure in check_rendered(render_variant(variant, db_root=db_root)):
            if failure not in seen:  # the same broken batch in every variant is one failure
                seen.add(failure)
                failures.append(failure)
    return failures + check_deployer_sql() + check_operation_scripts()

