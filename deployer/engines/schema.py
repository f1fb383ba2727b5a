"""SQLAlchemy and alembic, shared by both engine seams: tables described the same way on both.

- `describe_table` / `table_fingerprint`: a canonical description of a live table (columns, keys,
  indexes, unique, foreign key and CHECK constraints), what drift compares and the plan's table
  comparison reads (deployer.target.schema_diff);
- `render_operations`: alembic operations as the SQL a dialect runs (offline, nothing executes);
- the PostGIS `geometry` type, so reflection knows it.

SQLAlchemy's SQL Server dialect reflects neither CHECK nor UNIQUE constraints: they are read from
the catalog views with the seam's own statements (deployer.engines.mssql.statements).
"""

from __future__ import annotations

import hashlib
import io
import json
from contextlib import contextmanager
from typing import Any, Callable, Iterator

import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy.dialects.postgresql import base as postgresql_dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import GenericFunction
from hartonomous_ext.policy import LOOP_INDEX_PREFIX

from deployer.engines.mssql.statements import CHECK_CONSTRAINTS_SQL, UNIQUE_CONSTRAINTS_SQL


class Geometry(sa.types.UserDefinedType):
    """PostGIS geometry, so reflection knows the type (SQLAlchemy itself does not)."""

    cache_ok = True

    def __init__(self, *modifiers):
        self.modifiers = tuple(str(m) for m in modifiers)  # e.g. ("PointZ",) or ("PointZ", "4326")

    def get_col_spec(self, **kw) -> str:
        return f"geometry({','.join(self.modifiers)})" if self.modifiers else "geometry"

    def __repr__(self) -> str:
        return self.get_col_spec()


postgresql_dialect.ischema_names.setdefault("geometry", Geometry)


class left(GenericFunction):  # noqa: N801 - SQLAlchemy names generic functions by their SQL name
    """left(text, n): the first n characters (T-SQL spells it LEFT)."""

    inherit_cache = True


@compiles(left, "mssql")
def _left_mssql(element, compiler, **kw) -> str:
    return f"LEFT({compiler.process(element.clauses, **kw)})"


class count_rows(GenericFunction):  # noqa: N801
    """count(*) as a number that does not overflow: SQL Server's COUNT is an INT, COUNT_BIG a BIGINT."""

    inherit_cache = True


@compiles(count_rows)
def _count_rows(element, compiler, **kw) -> str:
    return "count(*)"


@compiles(count_rows, "mssql")
def _count_rows_mssql(element, compiler, **kw) -> str:
    return "COUNT_BIG(*)"


def sql_count_rows(dialect: sa.engine.Dialect) -> str:
    return str(count_rows().compile(dialect=dialect))


def sql_length(column: str, dialect: sa.engine.Dialect) -> str:
    """The length of a quoted column's value, as the dialect spells it (SQL Server: LEN)."""
    return str(sa.func.length(sa.literal_column(column)).compile(dialect=dialect))


def sql_left(column: str, length: int, dialect: sa.engine.Dialect) -> str:
    return str(left(sa.literal_column(column), sa.literal_column(str(int(length)))).compile(dialect=dialect))


# -- describing a table the same way on both engines ---------------------------------------------
def check_constraints(inspector: sa.Inspector, schema: str, table: str) -> dict[str, str]:
    """CHECK constraints by name, text whitespace-normalized. SQLAlchemy's SQL Server dialect
    cannot reflect them, so there they are read from sys.check_constraints."""
    try:
        found = [(c["name"], c["sqltext"]) for c in inspector.get_check_constraints(table, schema=schema)]
    except NotImplementedError:
        found = inspector.bind.exec_driver_sql(CHECK_CONSTRAINTS_SQL, (schema, table)).fetchall()
    return {str(name): " ".join(str(text).split()) for name, text in found}


def unique_constraints(inspector: sa.Inspector, schema: str, table: str) -> list[dict]:
    try:
        found = [(u["name"], tuple(u["column_names"])) for u in inspector.get_unique_constraints(table, schema=schema)]
    except NotImplementedError:
        rows = inspector.bind.exec_driver_sql(UNIQUE_CONSTRAINTS_SQL, (schema, table)).fetchall()
        by_name: dict[str, list[str]] = {}
        for name, column in rows:
            by_name.setdefault(name, []).append(column)
        found = [(name, tuple(columns)) for name, columns in by_name.items()]
    return sorted(({"name": name, "columns": list(columns)} for name, columns in found), key=lambda u: str(u["name"]))


def is_loop_index(name: str | None) -> bool:
    """An index the autonomous loop created (hartonomous_ext.autonomy.index_name): the loop keeps or
    reverts it on its own measurements, so a publish neither reports it as drift nor drops it."""
    return bool(name) and name.lower().startswith(LOOP_INDEX_PREFIX)


def describe_table(inspector: sa.Inspector, schema: str, table: str) -> dict:
    """A canonical description of a live table: what its fingerprint is taken over."""
    columns = [
        {"name": c["name"], "type": str(c["type"]), "nullable": bool(c["nullable"]),
         "default": str(c.get("default")) if c.get("default") is not None else None,
         "identity": bool(c.get("identity"))}
        for c in inspector.get_columns(table, schema=schema)
    ]
    pk = inspector.get_pk_constraint(table, schema=schema)
    indexes = sorted(
        ({"name": i["name"], "columns": [str(c) for c in i["column_names"]], "unique": bool(i["unique"]),
          "include": [str(c) for c in i.get("include_columns") or []],
          "options": {k: str(v) for k, v in sorted((i.get("dialect_options") or {}).items())}}
         for i in inspector.get_indexes(table, schema=schema) if not is_loop_index(i["name"])),
        key=lambda i: str(i["name"]))
    uniques = unique_constraints(inspector, schema, table)
    fks = sorted(({"name": f["name"], "columns": f["constrained_columns"], "references":
                   f"{f.get('referred_schema')}.{f['referred_table']}({','.join(f['referred_columns'])})",
                   "options": {k: v for k, v in sorted(f.get("options", {}).items())}}
                  for f in inspector.get_foreign_keys(table, schema=schema)), key=lambda f: str(f["name"]))
    checks = [{"name": name, "sqltext": text} for name, text in sorted(check_constraints(inspector, schema, table).items())]
    return {"columns": columns, "primary_key": {"name": pk.get("name"), "columns": pk.get("constrained_columns")},
            "indexes": indexes, "unique": uniques, "foreign_keys": fks, "checks": checks}


@contextmanager
def reflection_connection(sqlalchemy_url: str, connect: Callable[[], Any]) -> Iterator[sa.Connection]:
    """A SQLAlchemy connection over one new driver connection (no pool), closed on the way out."""
    bind = sa.create_engine(sqlalchemy_url, creator=connect, poolclass=sa.pool.NullPool)
    try:
        with bind.connect() as connection:
            yield connection
    finally:
        bind.dispose()


def table_fingerprints(connection: sa.Connection, dialect, tables: list) -> dict[str, str | None]:
    """The fingerprint of each table object as it is on the server now (None: it is not there)."""
    inspector = sa.inspect(connection)
    found: dict[str, str | None] = {}
    for obj in tables:
        schema, bare = dialect.catalog_key(obj.name)
        found[obj.name] = table_fingerprint(inspector, schema, bare) if inspector.has_table(bare, schema=schema) \
            else None
    return found


def table_fingerprint(inspector: sa.Inspector, schema: str, table: str) -> str:
    text = json.dumps(describe_table(inspector, schema, table), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def render_operations(operations: list, dialect_name: str) -> str:
    """The SQL alembic emits for these operations on this dialect (offline mode, nothing runs)."""
    buffer = io.StringIO()
    context = MigrationContext.configure(dialect_name=dialect_name,
                                         opts={"as_sql": True, "output_buffer": buffer, "literal_binds": True})
    runner = Operations(context)
    for op in operations:
        runner.invoke(op)
    return buffer.getvalue().strip() + ("\n" if buffer.getvalue().strip() else "")
