"""The T-SQL reference check: tables and columns named in the package's DML must exist.

It sits next to the syntax gate (tools.tsql_gate.parse), after the render step
(deployer.source.render) and before any server, and is run by the test suite
(tests/test_tsql_gate.py). The gate proves each batch parses; this proves that the DML inside
procedures, functions, views and checks names tables and columns the package creates, so a
misspelt column is caught before a publish instead of when the procedure first runs (SQL Server
resolves names in a procedure only when it executes: deferred name resolution). The deployer's
own statements (the registry in tools.tsql_gate.registry) are checked the same way.

The schema comes from tools.tsql_gate.schema: the package's CREATE TABLE statements plus the
deployer's history tables (deploy.*). Names that the package does not define and that are still
fine: system objects (sys.*, INFORMATION_SCHEMA.*), #temp tables, table variables, CTEs,
table-valued functions and the trigger tables inserted/deleted. A #temp table or table variable
whose definition is in the same object is checked against it, and so is a read of one of the
package's inline table-valued functions (`FROM dbo.fn_X(...) AS f`: the columns of its RETURN
SELECT), since a column such a function lacks fails the CREATE PROCEDURE itself (deferred name
resolution covers missing tables, never missing columns).

Each batch is split into simple statements by tools.tsql_gate.statements; each DML statement is
then parsed by sqlglot on its own:

    SELECT (CTEs, joins, subqueries)  sqlglot's qualify() with the schema; an unknown column raises
    INSERT/UPDATE/DELETE/MERGE        the target table must exist and every column it names
                                      (insert list, SET, MERGE actions) must be one of its columns;
                                      the expressions, joins and WHERE clause are then qualified
                                      as an equivalent SELECT
    anything else                     (DECLARE, SET, EXEC, PRINT, IF ...) is not DML; only the
                                      subqueries it holds, `(SELECT ...)`, are checked

A DML statement sqlglot cannot parse is a failure, unless it is on SKIPPED_DML, which says why.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import sqlglot
from sqlglot import exp
from sqlglot.errors import OptimizeError, ParseError, TokenError
from sqlglot.optimizer.qualify import qualify
from sqlglot.schema import MappingSchema
from sqlglot.tokens import Token, TokenType

from deployer.source.render import RenderedObject
from tools.tsql_gate.failures import RefFailure, one_line, reference_failure
from tools.tsql_gate.registry import DEFAULT_VARIANT, deployer_sql, render_variant
from tools.tsql_gate.schema import (
    DEFAULT_SCHEMA,
    Index,
    Schema,
    build_schema,
    create_table_columns,
    deployer_schema,
    lower_columns,
    merge_schemas,
    schema_index,
)
from tools.tsql_gate.statements import DML_START, PERMISSION_WORDS, Statement, paren_depth, split_statements, subqueries
from tools.tsql_gate.text import blank_comments_and_strings

CHECKED_KINDS = {"procedure", "function", "check", "view"}
SYSTEM_SCHEMAS = {"sys", "information_schema"}
TRIGGER_TABLES = {"inserted", "deleted"}
# Stand-in schemas for names that have none, so they fit sqlglot's {schema: {table: ...}} shape.
_TEMP, _VARIABLE, _TRIGGER, _FUNCTION = "__temp__", "__variable__", "__trigger__", "__function__"
_NO_COLUMNS = {"__no_columns__": "UNKNOWN"}
_INDEX_HINT = re.compile(r"\bINDEX\s*\(\s*\[?\w+\]?\s*\)\s*,\s*", re.IGNORECASE)  # in WITH (..., INDEX (ix), ...)
# a table hint on an INSERT's target (INSERT INTO t WITH (SNAPSHOT) (...)), which sqlglot cannot parse
_INSERT_TARGET_HINT = re.compile(r"(\bINSERT\s+(?:INTO\s+)?[\w.\[\]]+)\s+WITH\s*\([^()]*\)", re.IGNORECASE)
# tSQLt.SpyProcedure @ProcedureName = N'dbo.p' makes the table dbo.p_SpyProcedureLog: one column per
# parameter of dbo.p, and _id_
_SPY = re.compile(r"\btSQLt\.SpyProcedure\s+@ProcedureName\s*=\s*N?'\[?(\w+)\]?\.\[?(\w+)\]?'", re.IGNORECASE)
_PROCEDURE_HEADER = re.compile(r"\bCREATE\s+(?:OR\s+ALTER\s+)?PROC(?:EDURE)?\s+\[?(\w+)\]?\.\[?(\w+)\]?(.*?)\bAS\b",
                               re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class Skip:
    """A DML form sqlglot 30 cannot parse; statements of this form are not reference-checked."""

    kind: str
    pattern: re.Pattern[str]
    reason: str
    sample: str  # valid T-SQL sqlglot fails on; the tests keep this true


SKIPPED_DML: tuple[Skip, ...] = (
    Skip(
        kind="graph MATCH",
        pattern=re.compile(r"\bMATCH\s*\(", re.IGNORECASE),
        reason="sqlglot reads MATCH( as MySQL's MATCH ... AGAINST and fails on SQL Graph patterns",
        sample="SELECT b.Name FROM graph.Node AS a, graph.Edge AS e, graph.Node AS b WHERE MATCH(a-(e)->b)",
    ),
    Skip(
        kind="OUTPUT ... INTO",
        pattern=re.compile(r"\bOUTPUT\b[^;]*\bINTO\b", re.IGNORECASE),
        reason="sqlglot parses an OUTPUT clause but not one that writes INTO a table or table variable",
        sample="INSERT INTO dbo.Atoms (ContentType) OUTPUT INSERTED.AtomId INTO @ids (AtomId) VALUES (N'x')",
    ),
)


@dataclass
class _Source:
    category: str  # package, temp, variable, system, trigger, cte, function, unknown
    display: str  # the name as written
    columns: dict[str, str] | None = None  # known columns (lower-case names), None: not known


@dataclass
class _Checker:
    """Checks the statements of one rendered object (or one piece of deployer SQL)."""

    index: Index  # (schema, table) lower-case -> columns lower-case
    report: Callable[[Statement, str, str], None]  # (statement, unresolved name, message)
    temp_tables: dict[str, dict[str, str]] = field(default_factory=dict)  # #name -> columns
    table_variables: dict[str, dict[str, str]] = field(default_factory=dict)  # @name -> columns
    functions: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)  # inline TVF -> columns

    # -- local definitions

    def learn_local_tables(self, statements: Iterable[Statement]) -> None:
        for statement in statements:
            words = statement.words()
            temporary = len(statement.tokens) > 2 and statement.tokens[2].token_type == TokenType.HASH
            if words[:2] == ["CREATE", "TABLE"] and temporary:
                definition = create_table_columns(statement.text)
                if definition is not None:
                    self.temp_tables[definition[1].lower()] = lower_columns(definition[2])
            elif words[:1] == ["DECLARE"] and "TABLE" in words:
                try:
                    declare = sqlglot.parse_one(statement.text, dialect="tsql")
                except (ParseError, TokenError):
                    continue  # not DML; an undeclared-looking table variable is then not column-checked
                for item in declare.find_all(exp.DeclareItem):
                    kind, names = item.args.get("kind"), item.this if isinstance(item.this, list) else [item.this]
                    if isinstance(kind, exp.Schema):
                        columns = {c.name.lower(): "UNKNOWN" for c in kind.expressions if isinstance(c, exp.ColumnDef)}
                        for name in names:
                            self.table_variables[name.name.lower()] = columns

    # -- names

    def classify(self, table: exp.Table, ctes: set[str]) -> _Source:
        this = table.this
        if isinstance(this, exp.Parameter):
            return _Source("variable", f"@{table.name}", self.table_variables.get(table.name.lower()))
        if not isinstance(this, exp.Identifier):
            columns = self.functions.get(((table.db or DEFAULT_SCHEMA).lower(), _function_name(table)))
            return _Source("function", table.sql(dialect="tsql"), columns)
        name, db = table.name, table.db
        if this.args.get("temporary") or this.args.get("global_"):
            prefix = "##" if this.args.get("global_") else "#"
            return _Source("temp", prefix + name, self.temp_tables.get(name.lower()))
        if db.lower() in SYSTEM_SCHEMAS:
            return _Source("system", table.sql(dialect="tsql"))
        if not db and name.lower() in ctes:
            return _Source("cte", name)
        if not db and name.lower() in TRIGGER_TABLES:
            return _Source("trigger", name)
        display = ".".join(p for p in (table.catalog, db or DEFAULT_SCHEMA, name) if p)
        if table.catalog:
            return _Source("unknown", display)  # another database: not the package's
        columns = self.index.get(((db or DEFAULT_SCHEMA).lower(), name.lower()))
        return _Source("package", display, columns) if columns is not None else _Source("unknown", display)

    # -- statements

    def check_statement(self, statement: Statement) -> None:
        first = statement.first
        if statement.condition or first not in DML_START:
            if first in PERMISSION_WORDS:
                return
            for query in subqueries(statement):
                self.check_dml_text(statement, query)
            return
        code = blank_comments_and_strings(statement.text)
        if any(skip.pattern.search(code) for skip in SKIPPED_DML):
            return
        text = statement.text
        if first == "INSERT":
            words = statement.words()
            at = next((j for j, w in enumerate(words)
                       if w in ("EXEC", "EXECUTE") and paren_depth(statement.tokens, j) == 0), None)
            if at is not None:
                # INSERT ... EXEC: sqlglot 30 cannot parse an EXEC source. The EXEC is not DML, so
                # only the target and its column list are checked, with a stand-in VALUES source.
                text = statement.sql[statement.tokens[0].start: statement.tokens[at].start] + " VALUES (NULL)"
        self.check_dml_text(statement, text)

    def check_dml_text(self, statement: Statement, text: str) -> None:
        # a table hint INDEX (name) names an index, which sqlglot would read as a column: left out
        text = _INDEX_HINT.sub("", text)
        text = _INSERT_TARGET_HINT.sub(r"\1", text)
        try:
            parsed = sqlglot.parse(text, dialect="tsql")
        except (ParseError, TokenError) as exc:
            self.report(statement, statement.first or "?",
                        f"sqlglot cannot parse this DML statement: {_parse_message(exc)}")
            return
        parsed = [p for p in parsed if p is not None]
        if len(parsed) != 1 or isinstance(parsed[0], exp.Command):
            self.report(statement, statement.first or "?",
                        "sqlglot cannot parse this DML statement (is a ';' missing between two statements?)")
            return
        expression = parsed[0]
        if isinstance(expression, exp.Query):
            self.qualify(statement, expression)
        elif isinstance(expression, exp.Insert):
            self.check_insert(statement, expression)
        elif isinstance(expression, exp.Update):
            self.check_update(statement, expression)
        elif isinstance(expression, exp.Delete):
            self.check_delete(statement, expression)
        elif isinstance(expression, exp.Merge):
            self.check_merge(statement, expression)
        else:
            self.report(statement, statement.first or "?",
                        f"not a statement the reference check knows ({type(expression).__name__})")

    def target(self, statement: Statement, table: exp.Table, ctes: set[str]) -> _Source | None:
        """The target table of INSERT/UPDATE/DELETE/MERGE; None (reported) when it does not exist."""
        source = self.classify(table, ctes)
        if source.category == "unknown":
            self.report(statement, source.display, f"table {source.display} is not defined in the package")
            return None
        return source

    def check_columns(self, statement: Statement, target: _Source, names: Iterable[str]) -> None:
        if target.columns is None:
            return
        for name in names:
            if name.lower() not in target.columns:
                self.report(statement, name, f"{name} is not a column of {target.display}")

    def check_insert(self, statement: Statement, insert: exp.Insert) -> None:
        into = insert.this
        table = into.this if isinstance(into, exp.Schema) else into
        ctes = _cte_names(insert)
        target = self.target(statement, table, ctes)
        if target is None:
            return
        if isinstance(into, exp.Schema):
            self.check_columns(statement, target, [c.name for c in into.expressions])
        source = insert.expression
        with_ = insert.args.get("with_")
        if isinstance(source, exp.Query):
            query = source.copy()
            if with_ is not None:
                query.set("with_", with_.copy())
            self.qualify(statement, query)
        elif source is not None:  # VALUES: only the subqueries in it read tables
            for subquery in source.find_all(exp.Subquery):
                if subquery.find_ancestor(exp.Subquery) is None:
                    self.qualify(statement, subquery.this.copy())

    def check_update(self, statement: Statement, update: exp.Update) -> None:
        from_ = update.args.get("from_")
        ctes = _cte_names(update)
        table = _aliased(update.this, from_.this if from_ else None)
        target = self.target(statement, table, ctes)
        if target is None:
            return
        assignments = [e for e in update.expressions if isinstance(e, exp.EQ)]
        self.check_columns(statement, target, [a.this.name for a in assignments if isinstance(a.this, exp.Column)])
        values = [a.expression for a in assignments if not _is_default(a.expression)]
        source = from_.this if from_ else update.this
        self.qualify_as_select(statement, update, values, source.sql(dialect="tsql"), update.args.get("where"))

    def check_delete(self, statement: Statement, delete: exp.Delete) -> None:
        tables, this = delete.args.get("tables"), delete.this
        ctes = _cte_names(delete)
        table = _aliased(tables[0], this or None) if tables else this
        if self.target(statement, table, ctes) is None:
            return
        source = this if this else table
        self.qualify_as_select(statement, delete, [], source.sql(dialect="tsql"), delete.args.get("where"))

    def check_merge(self, statement: Statement, merge: exp.Merge) -> None:
        target = self.target(statement, merge.this, _cte_names(merge))
        if target is None:
            return
        values: list[exp.Expression] = []
        for when in merge.args["whens"].expressions:
            if when.args.get("condition") is not None:
                values.append(when.args["condition"])
            action = when.args.get("then")
            if isinstance(action, exp.Update):
                assignments = [e for e in action.expressions if isinstance(e, exp.EQ)]
                self.check_columns(statement, target, [a.this.name for a in assignments if isinstance(a.this, exp.Column)])
                values.extend(a.expression for a in assignments if not _is_default(a.expression))
            elif isinstance(action, exp.Insert):
                columns = action.this.expressions if isinstance(action.this, (exp.Tuple, exp.Schema)) else []
                self.check_columns(statement, target, [c.name for c in columns])
                if isinstance(action.expression, exp.Tuple):
                    values.extend(e for e in action.expression.expressions if not _is_default(e))
        source = (f"{merge.this.sql(dialect='tsql')} JOIN {merge.args['using'].sql(dialect='tsql')} "
                  f"ON {merge.args['on'].sql(dialect='tsql')}")
        self.qualify_as_select(statement, merge, values, source, None)

    def qualify_as_select(self, statement: Statement, dml: exp.Expression, values: list[exp.Expression],
                          source: str, where: exp.Where | None) -> None:
        """Check the columns a DML statement reads by qualifying the SELECT that reads the same."""
        with_ = dml.args.get("with_")
        text = (
            (with_.sql(dialect="tsql") + " " if with_ is not None else "")
            + "SELECT " + (", ".join(v.sql(dialect="tsql") for v in values) or "1")
            + " FROM " + source
            + (" " + where.sql(dialect="tsql") if where is not None else "")
        )
        try:
            query = sqlglot.parse_one(text, dialect="tsql")
        except (ParseError, TokenError) as exc:
            self.report(statement, statement.first or "?",
                        f"cannot check the columns this statement reads (sqlglot: {_parse_message(exc)})")
            return
        self.qualify(statement, query)

    def qualify(self, statement: Statement, query: exp.Expression) -> None:
        """Every table a query reads must exist; then sqlglot's qualify() resolves every column."""
        ctes = _cte_names(query)
        sources: list[tuple[exp.Table, _Source]] = []
        for table in list(query.find_all(exp.Table)):
            source = self.classify(table, ctes)
            if source.category == "unknown":
                self.report(statement, source.display, f"table {source.display} is not defined in the package")
                return
            sources.append((table, source))
        mapping = _schema_for(sources, query, self.index)
        for table, source in sources:
            _rewrite(table, source)
        try:
            qualify(query, schema=MappingSchema(mapping, dialect="tsql"), dialect="tsql",
                    validate_qualify_columns=True, quote_identifiers=False, identify=False)
        except OptimizeError as exc:
            # sqlglot's "Line: 1, Col: 19" points into the statement as re-parsed here, not the batch
            message = re.sub(r"\.? Line: \d+, Col: \d+\.?$", "", str(exc).splitlines()[0])
            name = _unresolved_name(message, statement.text)
            self.report(statement, name, f"column {name} does not resolve ({message})")
        except Exception as exc:  # sqlglot's own limits: reported, never skipped silently
            self.report(statement, statement.first or "?", f"sqlglot could not analyse this statement: {exc}")


def _function_name(table: exp.Table) -> str:
    """The lower-case name of a table-valued function a FROM clause calls (`dbo.fn_X(...)`)."""
    this = table.this
    name = this.this if isinstance(this, exp.Anonymous) else getattr(this, "name", "")
    return str(name or "").lower()


def _cte_names(expression: exp.Expression) -> set[str]:
    return {cte.alias_or_name.lower() for cte in expression.find_all(exp.CTE)}


def _aliased(target: exp.Table, source: exp.Expression | None) -> exp.Table:
    """`UPDATE t ... FROM dbo.T AS t`: the table the alias stands for."""
    if source is not None and isinstance(target, exp.Table) and not target.db:
        for table in source.find_all(exp.Table):
            if table.alias and table.alias.lower() == target.name.lower():
                return table
    return target


def _is_default(expression: exp.Expression) -> bool:
    return isinstance(expression, exp.Column) and not expression.table and expression.name.upper() == "DEFAULT"


def _schema_for(sources: list[tuple[exp.Table, _Source]], query: exp.Expression,
                index: Index) -> Schema:
    """The schema qualify() gets: the package's tables, plus the query's other sources.

    A source whose columns are not known (sys.*, a #temp table not created in the object ...) is
    given the columns the query qualifies with its alias, and the unqualified columns no known
    source of the query has: those cannot be checked, so they must not fail.
    """
    mapping: Schema = defaultdict(dict)
    for (db, table), columns in index.items():
        mapping[db][table] = columns
    qualified: dict[str, set[str]] = defaultdict(set)
    unqualified = set()
    for column in query.find_all(exp.Column):
        if column.table:
            qualified[column.table.lower()].add(column.name.lower())
        else:
            unqualified.add(column.name.lower())
    known = set()
    for _, source in sources:
        if source.columns is not None:
            known |= set(source.columns)
    for table, source in sources:
        name = _qualified_name(table, source)
        if name is None or source.category == "package":
            continue
        alias = (table.alias or table.name).lower()
        columns = source.columns if source.columns is not None else {
            column: "UNKNOWN" for column in sorted(qualified[alias] | (unqualified - known))
        }
        mapping[name[0]][name[1]] = columns or dict(_NO_COLUMNS)
    return dict(mapping)


def _qualified_name(table: exp.Table, source: _Source) -> tuple[str, str] | None:
    """(schema, table) under which qualify() finds a source; None for CTEs and functions."""
    stand_in = {"temp": _TEMP, "variable": _VARIABLE, "trigger": _TRIGGER}
    if source.category == "function" and source.columns is not None:
        return _FUNCTION, _function_name(table)
    if source.category in stand_in:
        return stand_in[source.category], table.name.lower()
    if source.category == "system":
        return table.db.lower(), table.name.lower()
    if source.category == "package":
        return (table.db or DEFAULT_SCHEMA).lower(), table.name.lower()
    return None


def _rewrite(table: exp.Table, source: _Source) -> None:
    """Name a source the way _schema_for registered it (#t, @t and inserted get a stand-in schema)."""
    name = _qualified_name(table, source)
    if name is None:
        return
    table.set("this", exp.to_identifier(name[1] if source.category == "function" else table.name))
    table.set("db", exp.to_identifier(name[0]))
    table.set("catalog", None)  # master.sys.databases is sys.databases


def _parse_message(exc: Exception) -> str:
    errors = getattr(exc, "errors", None)
    if errors:
        first = errors[0]
        near = (first.get("highlight") or "").strip()
        return f"{first.get('description')} at line {first.get('line')}, column {first.get('col')}" + (
            f" near {near!r}" if near else "")
    return str(exc).splitlines()[0]


def _unresolved_name(message: str, text: str) -> str:
    """The name an OptimizeError is about, spelt as in the statement (sqlglot lower-cases it)."""
    match = re.search(r"'([^']+)' could not be resolved for table: '([^']+)'", message)
    if match:
        name = f"{match.group(2)}.{match.group(1)}"
    else:
        match = re.search(r"'([^']+)'", message) or re.search(r"Unknown column: (\S+)", message)
        name = match.group(1) if match else "?"
    parts = [re.escape(p) for p in name.split(".")]
    written = re.search(r"(?<![\w@#$])" + r"\s*\.\s*".join(parts) + r"(?![\w$])", text, re.IGNORECASE)
    return written.group(0) if written else name


_INLINE_FUNCTION = re.compile(r"\bCREATE\s+(?:OR\s+ALTER\s+)?FUNCTION\s+(?:\[?(\w+)\]?\.)?\[?(\w+)\]?"
                              r".*?\bRETURNS\s+TABLE\b.*?\bRETURN\b(.*)", re.IGNORECASE | re.DOTALL)


def inline_function_columns(rendered: Sequence[RenderedObject]) -> dict[tuple[str, str], dict[str, str]]:
    """(schema, name) -> output columns of the package's inline table-valued functions (their
    RETURN SELECT's names); a function whose SELECT cannot be read, or uses *, is left out."""
    functions = {}
    for item in rendered:
        if item.obj.engine_name != "mssql" or item.obj.kind != "function":
            continue
        for batch in item.batches:
            found = _INLINE_FUNCTION.search(batch)
            if not found:
                continue
            try:
                query = sqlglot.parse_one(found.group(3).strip().rstrip(";"), dialect="tsql").unnest()
            except (ParseError, TokenError):
                continue
            if isinstance(query, exp.Select) and query.expressions and not query.is_star:
                names = [e.alias_or_name.lower() for e in query.expressions]
                if all(names):
                    functions[((found.group(1) or DEFAULT_SCHEMA).lower(), found.group(2).lower())] = {
                        name: "UNKNOWN" for name in names}
    return functions


def spy_log_tables(rendered: Sequence[RenderedObject]) -> Index:
    """The log tables of the procedures tSQLt classes spy on (tSQLt.SpyProcedure), with their columns."""
    parameters = {}
    for item in rendered:
        if item.obj.kind == "procedure":
            for batch in item.batches:
                found = _PROCEDURE_HEADER.search(blank_comments_and_strings(batch))
                if found:
                    parameters[(found.group(1).lower(), found.group(2).lower())] = {
                        name.lower(): "UNKNOWN" for name in re.findall(r"@(\w+)", found.group(3))}
    tables = {}
    for item in rendered:
        for batch in item.batches:
            for schema, name in _SPY.findall(batch):
                columns = parameters.get((schema.lower(), name.lower()))
                if columns is not None:
                    tables[(schema.lower(), f"{name.lower()}_spyprocedurelog")] = {"_id_": "INT", **columns}
    return tables


def check_references(rendered: Sequence[RenderedObject]) -> list[RefFailure]:
    """Reference failures of the package's procedures, functions, views and checks (and of the tSQLt
    classes given with them, whose spies' log tables count as defined)."""
    package, failures = build_schema(rendered)
    index = {**schema_index(merge_schemas(deployer_schema(), package)), **spy_log_tables(rendered)}
    functions = inline_function_columns(rendered)
    for item in rendered:
        if item.obj.engine_name != "mssql" or item.obj.kind not in CHECKED_KINDS:
            continue

        def failure(number: int, statement: Statement, name: str, message: str, item=item) -> RefFailure:
            return reference_failure(item, number, statement.line, statement.text, name, message)

        failures.extend(_check_batches(index, item.batches, failure, functions))
    return failures


def check_deployer_references(rendered: Sequence[RenderedObject] | None = None) -> list[RefFailure]:
    """The deployer's own DML (every statement of the registry) against the tables it uses: the
    history tables (deploy.*) and, for the client commands' data operations, the package's tables,
    read from `rendered` (default: the DEFAULT_VARIANT rendering of db/)."""
    if rendered is None:
        rendered = render_variant(DEFAULT_VARIANT)
    package, _ = build_schema(rendered)  # a table object that cannot be read fails check_references
    index = schema_index(merge_schemas(deployer_schema(), package))
    functions = inline_function_columns(rendered)
    failures = []
    for label, sql in deployer_sql():
        def failure(number: int, statement: Statement, name: str, message: str, label=label) -> RefFailure:
            return RefFailure("deployer", label, number, statement.line, one_line(statement.text), name, message)

        failures.extend(_check_batches(index, [sql], failure, functions))
    return failures


def _check_batches(index: Index, batches: Sequence[str],
                   make_failure: Callable[[int, Statement, str, str], RefFailure],
                   functions: dict[tuple[str, str], dict[str, str]] | None = None) -> list[RefFailure]:
    failures: list[RefFailure] = []
    split: list[tuple[int, list[Statement]]] = []
    for number, batch in enumerate(batches, start=1):
        try:
            split.append((number, split_statements(batch)))
        except TokenError as exc:
            whole = Statement(batch, [Token(TokenType.VAR, batch, start=0, end=len(batch) - 1)])
            failures.append(make_failure(number, whole, "?", f"cannot read the batch: {exc}"))
    # a #temp table lives for the session, so one created in any batch of the object counts; a
    # table variable lives for its batch only
    everywhere = [s for _, statements in split for s in statements if s.words()[:2] == ["CREATE", "TABLE"]]
    for number, statements in split:
        def report(statement: Statement, name: str, message: str, number=number) -> None:
            failures.append(make_failure(number, statement, name, message))

        checker = _Checker(index, report, functions=dict(functions or {}))
        checker.learn_local_tables(everywhere)
        checker.learn_local_tables(s for s in statements if s.words()[:1] == ["DECLARE"])
        for statement in statements:
            checker.check_statement(statement)
    return failures
