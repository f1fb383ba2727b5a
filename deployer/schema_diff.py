"""Schema diff: compare the tables the package declares with the tables on the target.

Part of the plan step. The package's tables are materialised in a shadow database (the engine
seam makes one and applies the package's prerequisites and tables to it), both databases are
reflected with SQLAlchemy, and alembic's autogenerate comparison lists the differences as
operations: add/drop column, type/nullability/default changes, indexes, unique and foreign-key
constraints. alembic does not compare CHECK constraints, so they are compared here by name and
text. The same operations are rendered to SQL by alembic for the plan's script and executed by
publish: one producer for preview and apply.

Every change that can lose data carries a query counting the rows it affects, so the plan can
say "dropping column X loses 1,204 values" before anything runs.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass, field

import sqlalchemy as sa
from alembic.autogenerate import produce_migrations
from alembic.migration import MigrationContext
from alembic.operations import Operations
from alembic.operations import ops as alembic_ops
from sqlalchemy.dialects.postgresql import base as postgresql_dialect


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


@dataclass
class TableChange:
    change: str  # e.g. "column added", "type changed", "index dropped"
    target: str  # the column, index or constraint
    detail: str = ""
    # SQL returning one number: the rows this change would lose or cannot convert (None: no risk)
    loss_query: str | None = None
    loss_text: str = ""
    # True: with affected rows the change cannot succeed at all, so the plan blocks it
    fatal: bool = False

    def as_dict(self) -> dict:
        return {"change": self.change, "target": self.target, "detail": self.detail}


@dataclass
class TableDiff:
    schema: str
    table: str
    changes: list[TableChange] = field(default_factory=list)
    operations: list = field(default_factory=list)  # alembic ops, in execution order
    unsupported: list[str] = field(default_factory=list)  # differences nothing here can alter

    @property
    def empty(self) -> bool:
        return not self.changes


# -- describing a table the same way on both engines ---------------------------------------------
def check_constraints(inspector: sa.Inspector, schema: str, table: str) -> dict[str, str]:
    """CHECK constraints by name, text whitespace-normalized. SQLAlchemy's SQL Server dialect
    cannot reflect them, so there they are read from sys.check_constraints."""
    try:
        found = [(c["name"], c["sqltext"]) for c in inspector.get_check_constraints(table, schema=schema)]
    except NotImplementedError:
        from deployer.engines.mssql import CHECK_CONSTRAINTS_SQL

        found = inspector.bind.exec_driver_sql(CHECK_CONSTRAINTS_SQL, (schema, table)).fetchall()
    return {str(name): " ".join(str(text).split()) for name, text in found}


def unique_constraints(inspector: sa.Inspector, schema: str, table: str) -> list[dict]:
    try:
        found = [(u["name"], tuple(u["column_names"])) for u in inspector.get_unique_constraints(table, schema=schema)]
    except NotImplementedError:
        from deployer.engines.mssql import UNIQUE_CONSTRAINTS_SQL

        rows = inspector.bind.exec_driver_sql(UNIQUE_CONSTRAINTS_SQL, (schema, table)).fetchall()
        by_name: dict[str, list[str]] = {}
        for name, column in rows:
            by_name.setdefault(name, []).append(column)
        found = [(name, tuple(columns)) for name, columns in by_name.items()]
    return sorted(({"name": name, "columns": list(columns)} for name, columns in found), key=lambda u: str(u["name"]))


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
         for i in inspector.get_indexes(table, schema=schema)), key=lambda i: str(i["name"]))
    uniques = unique_constraints(inspector, schema, table)
    fks = sorted(({"name": f["name"], "columns": f["constrained_columns"], "references":
                   f"{f.get('referred_schema')}.{f['referred_table']}({','.join(f['referred_columns'])})",
                   "options": {k: v for k, v in sorted(f.get("options", {}).items())}}
                  for f in inspector.get_foreign_keys(table, schema=schema)), key=lambda f: str(f["name"]))
    checks = [{"name": name, "sqltext": text} for name, text in sorted(check_constraints(inspector, schema, table).items())]
    return {"columns": columns, "primary_key": {"name": pk.get("name"), "columns": pk.get("constrained_columns")},
            "indexes": indexes, "unique": uniques, "foreign_keys": fks, "checks": checks}


def table_fingerprint(inspector: sa.Inspector, schema: str, table: str) -> str:
    text = json.dumps(describe_table(inspector, schema, table), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


# -- comparing ---------------------------------------------------------------------------------
def _qualified(preparer, schema: str, table: str) -> str:
    return f"{preparer.quote_schema(schema)}.{preparer.quote(table)}"


def _type_narrows(old: sa.types.TypeEngine, new: sa.types.TypeEngine) -> bool:
    old_len, new_len = getattr(old, "length", None), getattr(new, "length", None)
    if isinstance(new, sa.String) and isinstance(old, sa.String):
        return new_len is not None and (old_len is None or new_len < old_len)
    integer_width = {sa.SmallInteger: 2, sa.Integer: 4, sa.BigInteger: 8}
    def width(t):
        for cls in (sa.SmallInteger, sa.BigInteger, sa.Integer):
            if isinstance(t, cls):
                return integer_width[cls]
        return None
    if width(old) and width(new):
        return width(new) < width(old)
    if type(old) is not type(new):
        return True  # a change of type family: values may not convert
    for attribute in ("length", "precision", "scale", "timezone"):  # numeric, temporal, binary
        before, after = getattr(old, attribute, None), getattr(new, attribute, None)
        if attribute == "timezone":
            if before and not after:
                return True
        elif after is not None and (before is None or after < before):
            return True
    return False


def _changes_for(op, schema: str, table: str, dialect: sa.engine.Dialect) -> list[TableChange]:
    prep = dialect.identifier_preparer
    where = _qualified(prep, schema, table)
    changes: list[TableChange] = []
    if isinstance(op, alembic_ops.AddColumnOp):
        column = op.column
        detail = f"{column.type.compile(dialect)} {'NULL' if column.nullable else 'NOT NULL'}"
        change = TableChange("column added", column.name, detail)
        generated = column.identity is not None or column.computed is not None
        if not column.nullable and column.server_default is None and not column.primary_key and not generated:
            change.loss_query = f"SELECT count(*) FROM {where}"
            change.loss_text = "rows cannot take a new NOT NULL column without a default: give it a default"
            change.fatal = True
        changes.append(change)
    elif isinstance(op, alembic_ops.DropColumnOp):
        name = op.column_name
        changes.append(TableChange("column dropped", name, "",
                                   f"SELECT count(*) FROM {where} WHERE {prep.quote(name)} IS NOT NULL",
                                   "values are lost"))
    elif isinstance(op, alembic_ops.AlterColumnOp):
        name, column = op.column_name, prep.quote(op.column_name)
        if op.modify_type is not None:
            old, new = op.existing_type, op.modify_type
            detail = f"{old.compile(dialect) if old is not None else '?'} -> {new.compile(dialect)}"
            change = TableChange("type changed", name, detail)
            if old is None or _type_narrows(old, new):
                length = getattr(new, "length", None)
                if isinstance(new, sa.String) and length is not None:
                    fn = "len" if dialect.name == "mssql" else "length"
                    change.loss_query = f"SELECT count(*) FROM {where} WHERE {fn}({column}) > {int(length)}"
                    change.loss_text = f"values are longer than {length} characters; they are cut to {length}"
                else:
                    change.loss_query = f"SELECT count(*) FROM {where} WHERE {column} IS NOT NULL"
                    change.loss_text = "values may not fit the narrower type"
            changes.append(change)
        if op.modify_nullable is not None:
            if op.modify_nullable is False:
                default = _default_text(op.modify_server_default) or _default_text(op.existing_server_default)
                changes.append(TableChange("made NOT NULL", name, "",
                                           f"SELECT count(*) FROM {where} WHERE {column} IS NULL",
                                           f"rows hold NULL here; they take the default {default}" if default
                                           else "rows hold NULL here and there is no default to give them",
                                           fatal=default is None))
            else:
                changes.append(TableChange("made NULL", name))
        if op.modify_server_default is not False:
            new_default = op.modify_server_default
            text = getattr(getattr(new_default, "arg", None), "text", new_default)
            changes.append(TableChange("default changed", name, f"-> {text}"))
    elif isinstance(op, alembic_ops.CreateIndexOp):
        changes.append(TableChange("index added", op.index_name, ", ".join(str(c) for c in op.columns)))
    elif isinstance(op, alembic_ops.DropIndexOp):
        changes.append(TableChange("index dropped", op.index_name))
    elif isinstance(op, alembic_ops.CreateForeignKeyOp):
        changes.append(TableChange("foreign key added", op.constraint_name or "?", f"-> {op.referent_table}"))
    elif isinstance(op, alembic_ops.AddConstraintOp):
        kind = "check" if isinstance(op, alembic_ops.CreateCheckConstraintOp) else "constraint"
        changes.append(TableChange(f"{kind} added", op.constraint_name or "?"))
    elif isinstance(op, alembic_ops.DropConstraintOp):
        kind = {"foreignkey": "foreign key", None: "constraint"}.get(op.constraint_type, op.constraint_type)
        changes.append(TableChange(f"{kind} dropped", op.constraint_name or "?"))
    else:
        changes.append(TableChange(type(op).__name__, table))
    return changes


def _default_text(default) -> str | None:
    if default is None or default is False:
        return None
    arg = getattr(default, "arg", default)
    return str(getattr(arg, "text", arg))


def _preparing_ops(op, schema: str, table: str, dialect: sa.engine.Dialect) -> list:
    """Statements that must run before `op` for it to succeed on a table with rows.

    Both only matter once --allow-data-loss accepted the loss the plan reported:
    a narrower string type cuts longer values to the new length first, and a column made NOT NULL
    takes its (new) default where it holds NULL.
    """
    if not isinstance(op, alembic_ops.AlterColumnOp):
        return []
    prep = dialect.identifier_preparer
    where, column = _qualified(prep, schema, table), prep.quote(op.column_name)
    before = []
    new, old = op.modify_type, op.existing_type
    length = getattr(new, "length", None)
    if isinstance(new, sa.String) and length is not None and (old is None or _type_narrows(old, new)):
        left, size = ("LEFT", "LEN") if dialect.name == "mssql" else ("left", "length")
        before.append(alembic_ops.ExecuteSQLOp(
            f"UPDATE {where} SET {column} = {left}({column}, {int(length)}) WHERE {size}({column}) > {int(length)}"))
    default = _default_text(op.modify_server_default) or _default_text(op.existing_server_default)
    if op.modify_nullable is False and default is not None:
        before.append(alembic_ops.ExecuteSQLOp(f"UPDATE {where} SET {column} = {default} WHERE {column} IS NULL"))
    return before


def _check_constraint_ops(live: sa.Inspector, shadow: sa.Inspector, schema: str, table: str,
                          dialect: sa.engine.Dialect) -> list:
    """CHECK constraints by name and (whitespace-normalized) text: alembic does not compare them."""
    have, want = check_constraints(live, schema, table), check_constraints(shadow, schema, table)
    ops = []
    for name in sorted(have.keys() - want.keys() | {n for n in have.keys() & want.keys() if have[n] != want[n]}):
        ops.append(alembic_ops.DropConstraintOp(name, table, type_="check", schema=schema))
    for name in sorted(want.keys() - have.keys() | {n for n in have.keys() & want.keys() if have[n] != want[n]}):
        ops.append(alembic_ops.CreateCheckConstraintOp(name, table, sa.text(want[name]), schema=schema))
    return ops


def compare_tables(live: sa.Connection, shadow: sa.Connection, tables: list[tuple[str, str]]) -> dict[tuple[str, str], TableDiff]:
    """Differences of the given tables, live -> as the shadow (the package) has them."""
    wanted = {(s.lower(), t.lower()) for s, t in tables}
    schemas = sorted({s for s, _ in tables})
    metadata = sa.MetaData()
    shadow_inspector, live_inspector = sa.inspect(shadow), sa.inspect(live)
    names = {s: {t for t in shadow_inspector.get_table_names(schema=s)} for s in schemas}
    for schema in schemas:
        present = [t for t in names[schema] if (schema.lower(), t.lower()) in wanted]
        metadata.reflect(shadow, schema=schema, only=present)

    # alembic reports objects of the connection's default schema with schema None
    default_schema = (live.dialect.default_schema_name or "").lower()

    def schema_of(name) -> str:
        return (name or default_schema).lower()

    def include_name(name, type_, parent_names):
        if type_ == "schema":
            return schema_of(name) in {s.lower() for s in schemas}
        if type_ == "table":
            return (schema_of(parent_names.get("schema_name")), name.lower()) in wanted
        return True

    context = MigrationContext.configure(live, opts={
        "compare_type": True, "compare_server_default": True, "include_schemas": True,
        "include_name": include_name,
    })
    script = produce_migrations(context, metadata)
    diffs = {(s, t): TableDiff(s, t) for s, t in tables}
    lookup = {(s.lower(), t.lower()): key for key in diffs for s, t in [key]}
    for op in script.upgrade_ops.ops:
        if isinstance(op, alembic_ops.ModifyTableOps):
            key = lookup.get((schema_of(op.schema), op.table_name.lower()))
            if key is None:
                continue
            for sub in op.ops:
                if isinstance(sub, alembic_ops.DropColumnOp) and live.dialect.name == "mssql":
                    # SQL Server refuses to drop a column its default, check or foreign key still uses
                    sub.kw.update(mssql_drop_default=True, mssql_drop_check=True, mssql_drop_foreign_key=True)
                if isinstance(sub, alembic_ops.AlterColumnOp):
                    for mysql_only in ("autoincrement", "existing_autoincrement"):  # others warn about them
                        sub.kw.pop(mysql_only, None)
                diffs[key].operations.extend(_preparing_ops(sub, key[0], key[1], live.dialect))
                diffs[key].operations.append(sub)
                diffs[key].changes.extend(_changes_for(sub, key[0], key[1], live.dialect))
    for (schema, table), diff in diffs.items():
        if not live_inspector.has_table(table, schema=schema) or not shadow_inspector.has_table(table, schema=schema):
            continue
        for op in _check_constraint_ops(live_inspector, shadow_inspector, schema, table, live.dialect):
            diff.operations.append(op)
            diff.changes.extend(_changes_for(op, schema, table, live.dialect))
        _index_and_key_differences(diff, live_inspector, shadow_inspector, metadata, live.dialect)
    return diffs


def _index_and_key_differences(diff: TableDiff, live: sa.Inspector, shadow: sa.Inspector, metadata: sa.MetaData,
                               dialect: sa.engine.Dialect) -> None:
    """What alembic does not see: an index whose INCLUDE list or predicate changed is dropped and
    re-created; a changed primary key, unique or foreign key alembic left alone cannot be altered
    by the deployer, so it is listed as unsupported (the plan blocks the table)."""
    schema, table = diff.schema, diff.table
    have, want = describe_table(live, schema, table), describe_table(shadow, schema, table)
    handled = {op.index_name for op in diff.operations
               if isinstance(op, (alembic_ops.CreateIndexOp, alembic_ops.DropIndexOp))}
    live_indexes = {i["name"]: i for i in have["indexes"]}
    reflected = next((t for t in metadata.tables.values()
                      if t.name.lower() == table.lower() and (t.schema or "").lower() == schema.lower()), None)
    for index in want["indexes"]:
        name = index["name"]
        if name in handled or name not in live_indexes or live_indexes[name] == index or reflected is None:
            continue
        target = next((i for i in reflected.indexes if i.name == name), None)
        if target is None:
            continue
        diff.operations.append(alembic_ops.DropIndexOp(name, table, schema=schema))
        diff.operations.append(alembic_ops.CreateIndexOp.from_index(target))
        diff.changes.append(TableChange("index changed", name, "dropped and created again"))
    for part in ("primary_key", "unique", "foreign_keys"):
        if have[part] != want[part] and not any(
                isinstance(op, (alembic_ops.AddConstraintOp, alembic_ops.DropConstraintOp, alembic_ops.CreateForeignKeyOp))
                for op in diff.operations):
            diff.changes.append(TableChange("unsupported change", part.replace("_", " "),
                                            "the deployer cannot alter this in place; change it by hand",
                                            fatal=True))
            diff.unsupported.append(part)


def render_operations(operations: list, dialect_name: str) -> str:
    """The SQL alembic emits for these operations on this dialect (offline mode, nothing runs)."""
    buffer = io.StringIO()
    context = MigrationContext.configure(dialect_name=dialect_name,
                                         opts={"as_sql": True, "output_buffer": buffer, "literal_binds": True})
    runner = Operations(context)
    for op in operations:
        runner.invoke(op)
    return buffer.getvalue().strip() + ("\n" if buffer.getvalue().strip() else "")
