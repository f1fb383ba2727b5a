"""Server-behaviour rules: T-SQL that parses and resolves, and still does the wrong thing on a server.

The third check of the gate, beside the syntax gate (parse) and the reference check (references),
after the render step. Each rule is one finding of a SQL Server review turned into a check, so the
same mistake cannot come back:

- output-reset: an OUTPUT parameter is also an input. `SELECT @AtomId = AtomId ... WHERE ...` that
  matches no row keeps the caller's value, so a caller reusing its variable gets another call's id.
  The procedure's first use of each of its OUTPUT parameters must assign it (`SET @p = ...`).
- catch-xact-state: with XACT_ABORT ON an error dooms the transaction, and any write in the CATCH
  block then fails (error 3930) and hides the first error. A CATCH block that writes must look at
  XACT_STATE() (and roll back) before its first write.
- spatial-nearest: a nearest-neighbour query (`TOP ... ORDER BY g.STDistance(@p)`) uses the spatial
  index only with a `g.STDistance(@p) IS NOT NULL` predicate (Microsoft, "Query spatial data for
  nearest neighbor").
- external-bigint: sp_execute_external_script hands a BIGINT parameter to Python as a float, exact
  only to 2^53: pass it as text (its digits) and int() it in the script.
- insert-absent-dedupes: `INSERT INTO T ... SELECT ... WHERE NOT EXISTS (SELECT ... FROM T ...)`
  keeps out rows T already has, not duplicates within its own source: two identical chunks in one
  batch (zeroed weights) violate T's key. The source must be deduplicated (DISTINCT, GROUP BY or
  ROW_NUMBER).
- external-binary-result: a result set from Python gets its column types from pandas (str maps to
  NVARCHAR; a column of bytes objects has no documented mapping), so INSERT ... EXEC
  sp_execute_external_script must not target a temp table with BINARY/VARBINARY columns: return
  hex text and CONVERT(VARBINARY(MAX), x, 2) it.
- external-script-compiles: the Python of every sp_execute_external_script @script literal compiles
  (a re-indented T-SQL block would otherwise carry an IndentationError to the first call).
- memory-optimized-autocommit: In-Memory OLTP DDL is refused inside a user transaction (error
  12331), and the deployer applies each object in one: a memory-optimized table's file must say
  `-- autocommit:` in its header.
- memory-optimized-snapshot: a procedure's access to a memory-optimized table carries the table hint
  WITH (SNAPSHOT). MEMORY_OPTIMIZED_ELEVATE_TO_SNAPSHOT covers callers at READ COMMITTED only; in a
  caller's REPEATABLE READ or SERIALIZABLE transaction the access fails (error 41333) without it.
- savepoint-after-memory-optimized: a transaction that has touched a memory-optimized table takes no
  savepoint (error 12326). A procedure must not SAVE TRANSACTION after it has touched one itself, or
  called a procedure that does (dbo.sp_ChargeUsage writes the in-memory billing ledger, so every
  metered procedure does): sp_IngestAtom's savepoint around binding, after sp_StoreAtom's charge,
  failed every ingest inside a caller's transaction.
- nested-temp-table: a procedure that creates #t must not call (directly or through others) one that
  creates its own #t with other columns: the nested one's statements may resolve to the caller's
  table (Microsoft, CREATE TABLE: a nested procedure's temporary table of the same name needs the same
  structure). sp_GenerateText's #weights and sp_ComputeEmbedding's differed.
- apply-aggregate-outer-reference: an aggregate on the right side of a CROSS or OUTER APPLY may not
  reference a column of the left side (error 4101, when the statement is bound: an inline function's
  CREATE fails). dbo.fn_ConceptDrift's SUM(CASE WHEN f.FirstAt >= r.StartTime ...) inside its APPLY
  would have failed its deployment on every version; compare in a derived table, aggregate the result.

The rules read the rendered text with comments and string literals blanked, so a script inside a
string (the Python of sp_execute_external_script) or a comment does not trip them; external-bigint
reads the @params declaration, which is a string, from the text as written.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from dataclasses import dataclass

from deployer.source.render import RenderedObject
from tools.tsql_gate.text import blank_comments_and_strings

# the header ends at the AS that starts the body (on a line of its own, or before BEGIN), not at
# the AS of a parameter declared `@p AS INT`
_PROCEDURE = re.compile(r"\bCREATE\s+(?:OR\s+ALTER\s+)?PROC(?:EDURE)?\s+[\w.\[\]]+(.*?)(?:^\s*AS\s*$|\bAS\s+BEGIN\b)",
                        re.IGNORECASE | re.DOTALL | re.MULTILINE)
_CATCH = re.compile(r"\bBEGIN\s+CATCH\b(.*?)\bEND\s+CATCH\b", re.IGNORECASE | re.DOTALL)
_WRITE = re.compile(r"\b(?:INSERT|UPDATE|DELETE|MERGE)\b", re.IGNORECASE)
_NEAREST = re.compile(r"\bORDER\s+BY\s+([\w.\[\]]+)\.STDistance\s*\(", re.IGNORECASE)


@dataclass(frozen=True)
class RuleFailure:
    rule: str
    object: str
    source: str
    batch: int
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.source} ({self.object}), batch {self.batch}, line {self.line}: [{self.rule}] {self.message}"


def _line(text: str, position: int) -> int:
    return text.count("\n", 0, position) + 1


def _output_parameters(header: str) -> list[str]:
    parameters, depth, current = [], 0, ""
    for char in header + ",":
        if char == "," and depth == 0:
            parameters.append(current)
            current = ""
            continue
        depth += {"(": 1, ")": -1}.get(char, 0)
        current += char
    return [m.group(1) for p in parameters if re.search(r"\bOUT(?:PUT)?\b", p, re.IGNORECASE)
            for m in [re.search(r"@(\w+)", p)] if m]


def output_reset(code: str) -> list[tuple[int, str]]:
    """(position, message) for each OUTPUT parameter whose first use does not assign it."""
    match = _PROCEDURE.search(code)
    if not match:
        return []
    problems = []
    body_start = match.end()
    for name in _output_parameters(match.group(1)):
        use = re.search(rf"@{name}\b", code[body_start:], re.IGNORECASE)
        if use is None:
            continue
        position = body_start + use.start()
        statement_start = code[:position].rstrip()
        assigned = re.search(r"\bSET\s*$", statement_start, re.IGNORECASE) and \
            re.match(rf"@{name}\s*=\s*(?!@{name}\b)", code[position:], re.IGNORECASE)
        reset = re.search(r"\bSELECT\s*$", statement_start, re.IGNORECASE) and \
            re.match(rf"@{name}\s*=\s*NULL\s*;", code[position:], re.IGNORECASE)
        if not (assigned or reset):
            problems.append((position, f"OUTPUT parameter @{name} is read or passed on before the procedure "
                                       f"assigns it: reset it first (SET @{name} = NULL;), or a caller's value "
                                       "survives a lookup that finds nothing"))
    return problems


def catch_xact_state(code: str) -> list[tuple[int, str]]:
    problems = []
    for match in _CATCH.finditer(code):
        block = match.group(1)
        # writes to table variables survive a doomed transaction; the rest need a rollback first
        write = next((w for w in _WRITE.finditer(block)
                      if not re.match(r"\w+\s+(?:INTO\s+)?@", block[w.start():], re.IGNORECASE)), None)
        checked = re.search(r"(?:\bXACT_STATE\s*\(\s*\)|@@TRANCOUNT)[^;]*?\bROLLBACK\b",
                            block[:write.start()] if write else "", re.IGNORECASE | re.DOTALL)
        if write and not checked:
            problems.append((match.start(1) + write.start(),
                             "a CATCH block writes without checking XACT_STATE() first: in a doomed "
                             "transaction the write fails (3930) and hides the error; "
                             "IF XACT_STATE() <> 0 ROLLBACK TRANSACTION; first"))
    return problems


def spatial_nearest(code: str) -> list[tuple[int, str]]:
    problems = []
    for match in _NEAREST.finditer(code):
        column = re.escape(match.group(1))
        statement = code[code.rfind(";", 0, match.start()) + 1:match.start()]
        if not re.search(r"\bTOP\b", statement, re.IGNORECASE):
            continue  # not a nearest-neighbour query
        bounded = rf"{column}\.STDistance\s*\([^;]*?\)\s*(?:IS\s+NOT\s+NULL|<=?|>=?|<>)"
        if not re.search(bounded, statement, re.IGNORECASE | re.DOTALL):
            problems.append((match.start(), f"a nearest-neighbour query orders by {match.group(1)}.STDistance(...) "
                                            f"without `{match.group(1)}.STDistance(...) IS NOT NULL` in its WHERE: "
                                            "the spatial index is not used"))
    return problems


_EXTERNAL_PARAMS = re.compile(r"\bsp_execute_external_script\b.*?@params\s*=\s*N?'((?:[^']|'')*)'",
                              re.IGNORECASE | re.DOTALL)


def external_bigint(code: str, raw: str) -> list[tuple[int, str]]:
    return [(match.start(1), "a BIGINT parameter of sp_execute_external_script reaches Python as a float: "
                             "pass NVARCHAR digits and int() them in the script")
            for match in _EXTERNAL_PARAMS.finditer(raw) if re.search(r"\bBIGINT\b", match.group(1), re.IGNORECASE)]


OLDEST_PYTHON = (3, 10)  # SQL Server 2022/2025 runtimes (2019's 3.7 runs only the vector bindings: README)
_EXTERNAL_SCRIPT = re.compile(r"\bsp_execute_external_script\b.*?@script\s*=\s*N?'((?:[^']|'')*)'",
                              re.IGNORECASE | re.DOTALL)


def external_script_compiles(code: str, raw: str) -> list[tuple[int, str]]:
    problems = []
    for match in _EXTERNAL_SCRIPT.finditer(raw):
        try:
            # the oldest Python a supported Machine Learning Services runtime has
            ast.parse(match.group(1).replace("''", "'"), "<@script>", feature_version=OLDEST_PYTHON)
        except SyntaxError as exc:
            problems.append((match.start(1), f"the Python of @script does not compile: {exc.msg} "
                                             f"(line {exc.lineno} of the script)"))
    return problems


_INSERT_SELECT = re.compile(r"\bINSERT\s+INTO\s+([\w.\[\]#]+)[^;]*?\bSELECT\b[^;]*", re.IGNORECASE | re.DOTALL)


def insert_absent_dedupes(code: str) -> list[tuple[int, str]]:
    problems = []
    for match in _INSERT_SELECT.finditer(code):
        target = match.group(1).replace("[", "").replace("]", "").lower()
        statement = match.group(0)
        absent = re.search(r"\bNOT\s+EXISTS\s*\(\s*SELECT\b[^)]*?\bFROM\s+([\w.\[\]#]+)", statement, re.IGNORECASE)
        if not absent or absent.group(1).replace("[", "").replace("]", "").lower() != target:
            continue
        if not re.search(r"\bDISTINCT\b|\bGROUP\s+BY\b|\bROW_NUMBER\s*\(", statement, re.IGNORECASE):
            problems.append((match.start(), f"INSERT INTO {match.group(1)} ... WHERE NOT EXISTS (... {match.group(1)} ...) "
                                            "does not dedupe its own source: select DISTINCT, GROUP BY or keep "
                                            "ROW_NUMBER() = 1 per key"))
    return problems


_INSERT_EXTERNAL = re.compile(r"\bINSERT\s+INTO\s+(#\w+)[^;]*?\bEXEC(?:UTE)?\s+(?:sys\.)?sp_execute_external_script\b",
                              re.IGNORECASE | re.DOTALL)


def external_binary_result(code: str) -> list[tuple[int, str]]:
    problems = []
    for match in _INSERT_EXTERNAL.finditer(code):
        table = re.escape(match.group(1))
        definition = re.search(rf"\bCREATE\s+TABLE\s+{table}\s*\((.*?)\)\s*;", code, re.IGNORECASE | re.DOTALL)
        if definition and re.search(r"\b(?:VAR)?BINARY\b", definition.group(1), re.IGNORECASE):
            problems.append((match.start(), f"{match.group(1)} takes Python's result set and has binary columns: "
                                            "return hex text and CONVERT(VARBINARY(MAX), x, 2) it"))
    return problems


_INPUT_QUERY = re.compile(r"@input_data_1\s*=\s*N?'((?:[^']|'')*)'", re.IGNORECASE)
_QUERY_SOURCE = re.compile(r"\b(?:FROM|JOIN)\s+([^\s(),;]+)", re.IGNORECASE)


def external_input_reads_tables(raw: str) -> list[tuple[int, str]]:
    """sp_execute_external_script runs its @input_data_1 query in the caller's own security context,
    outside the procedure's ownership chain: a query of dbo's tables fails for an application user,
    who holds no SELECT on them. Fill a temporary table in the procedure; let the query read that."""
    problems = []
    for match in _INPUT_QUERY.finditer(raw):
        for source in _QUERY_SOURCE.finditer(match.group(1)):
            if not source.group(1).startswith("#"):
                problems.append((match.start(1) + source.start(), f"@input_data_1 reads {source.group(1)}: it runs "
                                 "as the caller, outside the ownership chain; read a #temporary table filled here"))
    return problems


_APPLY = re.compile(r"\b(?:CROSS|OUTER)\s+APPLY\s*\(", re.IGNORECASE)
_AGGREGATE = re.compile(r"\b(?:SUM|COUNT|COUNT_BIG|AVG|MIN|MAX|STRING_AGG|STDEV|STDEVP|VAR|VARP)\s*\(", re.IGNORECASE)
_ALIAS = re.compile(r"\bAS\s+\[?(\w+)\]?|\b(?:FROM|JOIN|APPLY)\s+[\w.\[\]#@]+\s+(?!(?:AS|ON|WHERE|INNER|LEFT|RIGHT|FULL|"
                    r"CROSS|OUTER|JOIN|GROUP|ORDER|WITH)\b)\[?(\w+)\]?", re.IGNORECASE)
_QUALIFIED = re.compile(r"\b(\w+)\s*\.\s*\[?\w+\]?")


def _closing(code: str, opening: int) -> int:
    """The position of the parenthesis that closes the one at `opening` (len(code) if none)."""
    depth = 0
    for position in range(opening, len(code)):
        if code[position] == "(":
            depth += 1
        elif code[position] == ")":
            depth -= 1
            if depth == 0:
                return position
    return len(code)


def apply_aggregate_outer_reference(code: str) -> list[tuple[int, str]]:
    """An aggregate inside an APPLY's right-side query whose argument names a table alias that the
    right side does not define: a column of the left side (error 4101)."""
    problems = []
    for apply in _APPLY.finditer(code):
        body = code[apply.end():_closing(code, apply.end() - 1)]
        defined = {(m.group(1) or m.group(2)).lower() for m in _ALIAS.finditer(body)}
        for aggregate in _AGGREGATE.finditer(body):
            argument = body[aggregate.end():_closing(body, aggregate.end() - 1)]
            outer = sorted({m.group(1) for m in _QUALIFIED.finditer(argument)
                            if m.group(1).lower() not in defined and m.group(1).lower() not in ("dbo", "sys")})
            if outer:
                problems.append((apply.end() + aggregate.start(), (
                    f"an aggregate on the right side of an APPLY references {', '.join(outer)} of its left side "
                    "(error 4101): compare in a derived table, aggregate the result")))
    return problems


# rule name -> check(code with comments and strings blanked, the text as written)
RULES = {
    "output-reset": lambda code, raw: output_reset(code),
    "catch-xact-state": lambda code, raw: catch_xact_state(code),
    "spatial-nearest": lambda code, raw: spatial_nearest(code),
    "insert-absent-dedupes": lambda code, raw: insert_absent_dedupes(code),
    "apply-aggregate-outer-reference": lambda code, raw: apply_aggregate_outer_reference(code),
    "external-bigint": external_bigint,
    "external-binary-result": lambda code, raw: external_binary_result(code),
    "external-input-reads-tables": lambda code, raw: external_input_reads_tables(raw),
    "external-script-compiles": external_script_compiles,
}


_MEMORY_OPTIMIZED = re.compile(r"\bMEMORY_OPTIMIZED\s*=\s*ON\b", re.IGNORECASE)
_CREATE_TABLE = re.compile(r"\bCREATE\s+TABLE\s+\[?(\w+)\]?\.\[?(\w+)\]?", re.IGNORECASE)


def memory_optimized_tables(rendered: Iterable[RenderedObject]) -> dict[str, RenderedObject]:
    """schema.name (lower case) -> the object, for every table created MEMORY_OPTIMIZED = ON."""
    tables = {}
    for item in rendered:
        for batch in item.batches:
            code = blank_comments_and_strings(batch)
            created = _CREATE_TABLE.search(code)
            if created and _MEMORY_OPTIMIZED.search(code):
                tables[f"{created.group(1)}.{created.group(2)}".lower()] = item
    return tables


def memory_optimized_snapshot(code: str, tables: Iterable[str]) -> list[tuple[int, str]]:
    problems = []
    for table in tables:
        schema, name = table.split(".")
        pattern = rf"\[?{schema}\]?\.\[?{name}\]?(?![\w\]])"
        for use in re.finditer(pattern, code, re.IGNORECASE):
            rest = code[use.end():]
            if not re.match(r"(?:\s+(?:AS\s+)?(?!WITH\b)\w+)?\s+WITH\s*\(\s*SNAPSHOT\s*\)", rest, re.IGNORECASE):
                problems.append((use.start(), f"{table} is memory-optimized: access it WITH (SNAPSHOT), or a caller's "
                                              "REPEATABLE READ or SERIALIZABLE transaction fails here (error 41333)"))
    return problems


_SAVEPOINT = re.compile(r"\bSAVE\s+TRAN(?:SACTION)?\b", re.IGNORECASE)
_EXEC_PROCEDURE = re.compile(r"\bEXEC(?:UTE)?\s+(?:@\w+\s*=\s*)?\[?(\w+)\]?\.\[?(\w+)\]?", re.IGNORECASE)


def _touches(code: str, tables: Iterable[str]) -> list[tuple[int, str]]:
    """Where the code references a memory-optimized table: (position, name)."""
    found = []
    for table in tables:
        schema, name = table.split(".")
        found += [(m.start(), table) for m in re.finditer(rf"\[?{schema}\]?\.\[?{name}\]?(?![\w\]])", code, re.IGNORECASE)]
    return found


def savepoint_after_memory_optimized(procedures: dict[str, str], tables: Iterable[str]) -> dict[str, list[tuple[int, str]]]:
    """procedures: schema.name (lower case) -> code. For each, the savepoints that follow (in the
    text) its first touch of a memory-optimized table, its own or through a procedure it EXECs."""
    tables = list(tables)
    touching = {name for name, code in procedures.items() if _touches(code, tables)}
    while True:  # the procedures that call one that touches, to a fixed point
        more = {name for name, code in procedures.items() if name not in touching
                and any(f"{m.group(1)}.{m.group(2)}".lower() in touching for m in _EXEC_PROCEDURE.finditer(code))}
        if not more:
            break
        touching |= more
    problems: dict[str, list[tuple[int, str]]] = {}
    for name, code in procedures.items():
        touches = _touches(code, tables) + [(m.start(), f"{m.group(1)}.{m.group(2)}".lower())
                                            for m in _EXEC_PROCEDURE.finditer(code)
                                            if f"{m.group(1)}.{m.group(2)}".lower() in touching]
        if not touches:
            continue
        first, what = min(touches)
        for save in _SAVEPOINT.finditer(code):
            if save.start() > first:
                problems.setdefault(name, []).append((save.start(), (
                    f"a savepoint after {what} (line {_line(code, first)}), which touches a memory-optimized table: "
                    "a transaction that touched one takes no savepoint (error 12326)")))
    return problems


_CREATE_TEMP = re.compile(r"\bCREATE\s+TABLE\s+(#\w+)\s*\((.*?)\);", re.IGNORECASE | re.DOTALL)


def nested_temp_tables(procedures: dict[str, str]) -> dict[str, list[tuple[int, str]]]:
    """procedures: schema.name (lower case) -> code. For each, the #tables it creates that a procedure
    it EXECs (directly or through others) also creates with another definition."""
    created = {name: {m.group(1).lower(): (m.start(), " ".join(m.group(2).split()).lower())
                      for m in _CREATE_TEMP.finditer(code)} for name, code in procedures.items()}
    calls = {name: [(m.start(), f"{m.group(1)}.{m.group(2)}".lower()) for m in _EXEC_PROCEDURE.finditer(code)
                    if f"{m.group(1)}.{m.group(2)}".lower() in procedures]
             for name, code in procedures.items()}

    def reach(names: set[str]) -> set[str]:  # everything these call, to a fixed point
        reached, frontier = set(), set(names)
        while frontier:
            reached |= frontier
            frontier = {c for f in frontier for _, c in calls[f]} - reached
        return reached

    problems: dict[str, list[tuple[int, str]]] = {}
    for name in procedures:
        for table, (position, columns) in created[name].items():
            # the table exists for the calls that follow its CREATE
            for callee in sorted(reach({c for at, c in calls[name] if at > position}) - {name}):
                theirs = created[callee].get(table)
                if theirs is not None and theirs[1] != columns:
                    problems.setdefault(name, []).append((position, (
                        f"{table} is also created, with other columns, by {callee}, which this procedure calls: the "
                        "nested procedure's statements may resolve to this one; give one of them another name")))
    return problems


def check_rules(rendered: Iterable[RenderedObject]) -> list[RuleFailure]:
    rendered = [item for item in rendered if item.obj.engine_name == "mssql"]
    in_memory = memory_optimized_tables(rendered)
    failures = [RuleFailure("memory-optimized-autocommit", item.obj.name, item.obj.source_label, 1, 1,
                            "a memory-optimized table is created outside a user transaction only (error 12331): "
                            "say why in an '-- autocommit:' header line")
                for item in in_memory.values() if not item.obj.autocommit]
    bodies = {item.obj.name.lower(): "\n".join(blank_comments_and_strings(b) for b in item.batches)
              for item in rendered if item.obj.kind == "procedure"}
    nested = nested_temp_tables(bodies)
    for item in rendered:
        for position, message in savepoint_after_memory_optimized(bodies, in_memory).get(item.obj.name.lower(), []):
            failures.append(RuleFailure("savepoint-after-memory-optimized", item.obj.name, item.obj.source_label, 1,
                                        _line(bodies[item.obj.name.lower()], position), message))
        for position, message in nested.get(item.obj.name.lower(), []):
            failures.append(RuleFailure("nested-temp-table", item.obj.name, item.obj.source_label, 1,
                                        _line(bodies[item.obj.name.lower()], position), message))
    for item in rendered:
        if item.obj.kind not in ("procedure", "function", "check"):
            continue
        for number, batch in enumerate(item.batches, start=1):
            code = blank_comments_and_strings(batch)
            found = [(rule, problem) for rule, check in RULES.items() for problem in check(code, batch)]
            found += [("memory-optimized-snapshot", problem) for problem in memory_optimized_snapshot(code, in_memory)]
            for rule, (position, message) in found:
                failures.append(RuleFailure(rule, item.obj.name, item.obj.source_label, number,
                                            _line(code, position), message))
    return failures
