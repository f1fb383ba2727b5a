"""The schema model of the T-SQL gate: which tables and columns the package defines.

It sits after the render step (deployer.source.render) and before any server: the tables are
read from the package's own text, the CREATE TABLE statements of the rendered SQL Server `table`
objects, plus the deployer's history tables (deploy.*) from the DDL the SQL Server seam runs
(HISTORY_DDL, through tools.tsql_gate.registry). The reference check
(tools.tsql_gate.references) resolves the names in the package's DML against this model.

sqlglot reads each CREATE TABLE; where it cannot (FILESTREAM columns, for one), the column list
is read from the statement's tokens (tools.tsql_gate.statements).
"""

from __future__ import annotations

import re

from collections.abc import Iterable

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import TokenType

from deployer.source.render import RenderedObject
from tools.tsql_gate.failures import RefFailure, reference_failure
from tools.tsql_gate.registry import history_ddl
from tools.tsql_gate.statements import split_statements, tokenize, word_at

Schema = dict[str, dict[str, dict[str, str]]]  # {schema: {table: {column: type}}}
Index = dict[tuple[str, str], dict[str, str]]  # (schema, table) lower-case -> {column lower-case: type}

DEFAULT_SCHEMA = "dbo"  # what an unqualified table name resolves to
TABLE_ITEM_WORDS = {"CONSTRAINT", "PRIMARY", "UNIQUE", "FOREIGN", "CHECK", "INDEX", "PERIOD"}


def create_table_columns(text: str) -> tuple[str, str, dict[str, str]] | None:
    """(schema, table, {column: type}) of one CREATE TABLE statement; None if it is not one.

    sqlglot reads the statement; where it cannot (FILESTREAM columns, for one), the column list is
    read from the tokens instead: every item between the outer parentheses that is not a table
    constraint or index is a column, named by its first token, typed by the words that follow.
    """
    try:
        create = sqlglot.parse_one(text, dialect="tsql")
    except (ParseError, TokenError):
        create = None
    if isinstance(create, exp.Create) and create.kind == "TABLE" and isinstance(create.this, exp.Schema):
        table = create.this.this
        columns = {
            item.name: (item.args["kind"].sql(dialect="tsql") if item.args.get("kind") else "UNKNOWN")
            for item in create.this.expressions if isinstance(item, exp.ColumnDef)
        }
        found = (table.db or DEFAULT_SCHEMA), table.name, columns
    else:
        found = _create_table_from_tokens(text)
    graph = _GRAPH_TABLE.search(text)
    if found is not None and graph:  # SQL Graph: the pseudo-columns statements read and write
        found[2].update(GRAPH_PSEUDO_COLUMNS[graph.group(1).upper()])
    return found


# a NODE or EDGE table (CREATE TABLE ... ) AS NODE / AS EDGE) and the pseudo-columns SQL Server gives it
_GRAPH_TABLE = re.compile(r"\)\s*AS\s+(NODE|EDGE)\s*;?\s*$", re.IGNORECASE)
GRAPH_PSEUDO_COLUMNS = {"NODE": {"$node_id": "UNKNOWN"},
                        "EDGE": {"$edge_id": "UNKNOWN", "$from_id": "UNKNOWN", "$to_id": "UNKNOWN"}}


def _create_table_from_tokens(text: str) -> tuple[str, str, dict[str, str]] | None:
    try:
        tokens = tokenize(text)
    except TokenError:
        return None
    words = [word_at(text, tokens, i) for i in range(len(tokens))]
    if words[:2] != ["CREATE", "TABLE"]:
        return None
    try:
        open_at = next(i for i, t in enumerate(tokens) if t.token_type == TokenType.L_PAREN)
    except StopIteration:
        return None
    name_parts = [t.text for t in tokens[2:open_at] if t.token_type not in (TokenType.DOT, TokenType.HASH)]
    if not name_parts:
        return None
    items: list[list[int]] = [[]]
    depth = 0
    for j in range(open_at + 1, len(tokens)):
        kind = tokens[j].token_type
        if kind == TokenType.R_PAREN and depth == 0:
            break
        depth += kind == TokenType.L_PAREN
        depth -= kind == TokenType.R_PAREN
        if kind == TokenType.COMMA and depth == 0:
            items.append([])
        else:
            items[-1].append(j)
    columns = {}
    for item in items:
        if not item or words[item[0]] in TABLE_ITEM_WORDS:
            continue
        type_words = [tokens[k].text for k in item[1:3] if words[k] and words[k] != "AS"]
        columns[tokens[item[0]].text] = type_words[0].upper() if type_words else "UNKNOWN"
    schema = name_parts[-2] if len(name_parts) > 1 else DEFAULT_SCHEMA
    return schema, name_parts[-1], columns


def table_definitions(sql: str) -> list[tuple[str, str, dict[str, str]]]:
    """Every CREATE TABLE in a batch, wherever it sits (inside IF ... BEGIN ... END too)."""
    found = []
    for statement in split_statements(sql):
        words = statement.words()[:2]
        if words == ["CREATE", "TABLE"]:
            definition = create_table_columns(statement.text)
            if definition is not None:
                found.append(definition)
    return found


# What a SELECT from a Service Broker queue returns (Microsoft, "CREATE QUEUE": "Queue columns"):
# the package's `queue` objects read like tables with these columns (the runbook counts their rows).
QUEUE_COLUMNS = {
    "status": "TINYINT", "priority": "TINYINT", "queuing_order": "BIGINT", "conversation_group_id": "UNIQUEIDENTIFIER",
    "conversation_handle": "UNIQUEIDENTIFIER", "message_sequence_number": "BIGINT", "service_name": "NVARCHAR(512)",
    "service_id": "INT", "service_contract_name": "NVARCHAR(256)", "service_contract_id": "INT",
    "message_type_name": "NVARCHAR(256)", "message_type_id": "INT", "validation": "NCHAR(2)",
    "message_body": "VARBINARY(MAX)", "message_enqueue_time": "DATETIMEOFFSET",
}


def build_schema(rendered: Iterable[RenderedObject]) -> tuple[Schema, list[RefFailure]]:
    """The package's tables, from its rendered SQL Server `table` objects, and its queues."""
    schema: Schema = {}
    failures = []
    for item in rendered:
        if item.obj.engine_name == "mssql" and item.obj.kind == "queue":
            db, _, table = item.obj.name.rpartition(".")
            schema.setdefault(db or DEFAULT_SCHEMA, {})[table] = dict(QUEUE_COLUMNS)
            continue
        if item.obj.engine_name != "mssql" or item.obj.kind != "table":
            continue
        found = False
        for number, batch in enumerate(item.batches, start=1):
            try:
                definitions = table_definitions(batch)
            except TokenError as exc:
                failures.append(reference_failure(item, number, 1, batch, "?", f"cannot read the batch: {exc}"))
                continue
            for db, table, columns in definitions:
                schema.setdefault(db, {})[table] = columns
                found = True
        if not found:
            failures.append(reference_failure(item, 1, 1, item.sql, item.obj.name,
                                              "no CREATE TABLE could be read from this table object"))
    return schema, failures


def deployer_schema() -> Schema:
    """The deployer's history tables (deploy.*), from the DDL it runs (HISTORY_DDL)."""
    schema: Schema = {}
    for sql in history_ddl():
        for db, table, columns in table_definitions(sql):
            schema.setdefault(db, {})[table] = columns
    return schema


def merge_schemas(*schemas: Schema) -> Schema:
    """The schemas' tables together; a later schema's table replaces an earlier one of that name."""
    merged: Schema = {}
    for schema in schemas:
        for db, tables in schema.items():
            merged.setdefault(db, {}).update(tables)
    return merged


def lower_columns(columns: dict[str, str]) -> dict[str, str]:
    """Column names lower-cased (SQL Server's default collation is case-insensitive)."""
    return {name.lower(): kind for name, kind in columns.items()}


def schema_index(schema: Schema) -> Index:
    """The schema keyed for lookups: (schema, table) and column names lower-cased."""
    return {
        (db.lower(), table.lower()): lower_columns(columns)
        for db, tables in schema.items() for table, columns in tables.items()
    }

