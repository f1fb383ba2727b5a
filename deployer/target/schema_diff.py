"""Schema diff: compare the tables the package declares with the tables on the target.

Part of the plan step. The package's tables are materialised in a shadow database (the engine
seam makes one and applies the package's prerequisites and tables to it), both databases are
reflected with SQLAlchemy, and alembic's autogenerate comparison lists the differences as
operations: add/drop column, type/nullability/default changes, indexes, unique and foreign-key
constraints. alembic does not compare CHECK constraints, so they are compared here by name and
text. The plan keeps the operations as data; the engine's dialect renders them to SQL
(deployer.engines.schema.render_operations) for the plan's script and for publish: one producer
for preview and apply.

Every change that can lose data carries a query counting the rows it affects, so the plan can
say "dropping column X loses 1,204 values" before anything runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import sqlalchemy as sa
from alembic.autogenerate import produce_migrations
from alembic.migration import MigrationContext
from alembic.operations import ops as alembic_ops

from deployer.engines.schema import check_constraints, describe_table, is_loop_index, sql_count_rows, sql_left, sql_length


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
    renamed: dict[str, str] = field(default_factory=dict)  # columns renamed in place: old -> new
    unsupported: list[str] = field(default_factory=list)  # differences nothing here can alter

    @property
    def empty(self) -> bool:
        return not self.changes


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
    count = sql_count_rows(dialect)
    changes: list[TableChange] = []
    if isinstance(op, alembic_ops.AddColumnOp):
        column = op.column
        detail = f"{column.type.compile(dialect)} {'NULL' if column.nullable else 'NOT NULL'}"
        change = TableChange("column added", column.name, detail)
        generated = column.identity is not None or column.computed is not None
        if not column.nullable and column.server_default is None and not column.primary_key and not generated:
            change.loss_query = f"SELECT {count} FROM {where}"
            change.loss_text = "rows cannot take a new NOT NULL column without a default: give it a default"
            change.fatal = True
        changes.append(change)
    elif isinstance(op, alembic_ops.DropColumnOp):
        name = op.column_name
        changes.append(TableChange("column dropped", name, "",
                                   f"SELECT {count} FROM {where} WHERE {prep.quote(name)} IS NOT NULL",
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
                    change.loss_query = f"SELECT {count} FROM {where} WHERE {sql_length(column, dialect)} > {int(length)}"
                    change.loss_text = f"values are longer than {length} characters; they are cut to {length}"
                else:
                    change.loss_query = f"SELECT {count} FROM {where} WHERE {column} IS NOT NULL"
                    change.loss_text = "values may not fit the narrower type"
            changes.append(change)
        if op.modify_nullable is not None:
            if op.modify_nullable is False:
                default = _default_text(op.modify_server_default) or _default_text(op.existing_server_default)
                changes.append(TableChange("made NOT NULL", name, "",
                                           f"SELECT {count} FROM {where} WHERE {column} IS NULL",
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
        before.append(alembic_ops.ExecuteSQLOp(
            f"UPDATE {where} SET {column} = {sql_left(column, length, dialect)} "
            f"WHERE {sql_length(column, dialect)} > {int(length)}"))
    default = _default_text(op.modify_server_default) or _default_text(op.existing_server_default)
    if op.modify_nullable is False and default is not None:
        before.append(alembic_ops.ExecuteSQLOp(f"UPDATE {where} SET {column} = {default} WHERE {column} IS NULL"))
    return before


def _check_constraint_ops(live: sa.Inspector, shadow: sa.Inspector, schema: str, table: str,
                          dialect: sa.engine.Dialect, renamed: dict[str, str] | None = None) -> list:
    """CHECK constraints by name and (whitespace-normalized) text: alembic does not compare them.
    A constraint over renamed columns is compared as it will read once they are renamed (the
    server rewrites it with the column)."""
    have, want = check_constraints(live, schema, table), check_constraints(shadow, schema, table)
    if renamed:
        have = {name: _renamed_in_expression(text, renamed) for name, text in have.items()}
    ops = []
    for name in sorted(have.keys() - want.keys() | {n for n in have.keys() & want.keys() if have[n] != want[n]}):
        ops.append(alembic_ops.DropConstraintOp(name, table, type_="check", schema=schema))
    for name in sorted(want.keys() - have.keys() | {n for n in have.keys() & want.keys() if have[n] != want[n]}):
        ops.append(alembic_ops.CreateCheckConstraintOp(name, table, sa.text(want[name]), schema=schema))
    return ops


# a string literal, a cast's type name, a quoted identifier ("x" or [x]) or a bare one, in that order
_EXPRESSION_TOKEN = re.compile(r"('(?:[^']|'')*')|(::\s*[A-Za-z_][\w$]*)|\"((?:[^\"]|\"\")*)\"|\[([^\]]*)\]|([A-Za-z_][\w$]*)")


def _renamed_in_expression(text: str, renamed: dict[str, str]) -> str:
    """A CHECK expression with its renamed columns' names replaced: identifiers only, never string
    literals or a cast's type; a quoted name keeps its quotes (PostgreSQL: only an exact match)."""
    def replace(match: re.Match) -> str:
        literal, cast, double_quoted, bracketed, bare = match.groups()
        if double_quoted is not None:
            new = renamed.get(double_quoted.lower()) if double_quoted == double_quoted.lower() else None
            return f'"{new}"' if new else match.group(0)
        if bracketed is not None:
            new = renamed.get(bracketed.lower())
            return f"[{new}]" if new else match.group(0)
        if bare is not None:
            return renamed.get(bare.lower(), bare)
        return match.group(0)
    return _EXPRESSION_TOKEN.sub(replace, text)


def _declared_renames(ops: list, renames: dict[str, str], schema: str, table: str,
                      dialect: sa.engine.Dialect) -> tuple[list, list[TableChange], dict[str, str]]:
    """alembic sees a renamed column as one dropped and one added: where the table's header
    declares the rename (old -> new) and the live table has the old column and not the new, the
    pair becomes one rename that keeps the values."""
    dropped = {op.column_name.lower(): op for op in ops if isinstance(op, alembic_ops.DropColumnOp)}
    added = {op.column.name.lower(): op for op in ops if isinstance(op, alembic_ops.AddColumnOp)}
    pairs = [(dropped[old], added[new.lower()]) for old, new in renames.items() if old in dropped and new.lower() in added]
    if not pairs:
        return ops, [], {}
    replaced = {id(op) for pair in pairs for op in pair}
    kept = [op for op in ops if id(op) not in replaced]
    renaming = [alembic_ops.AlterColumnOp(table, drop.column_name, schema=drop.schema, modify_name=add.column.name,
                                          existing_type=add.column.type, existing_nullable=add.column.nullable)
                for drop, add in pairs]
    changes = [TableChange("column renamed", add.column.name, f"from {drop.column_name}") for drop, add in pairs]
    for drop, add in pairs:
        # the rename alone would leave any other difference unapplied, and unseen once recorded
        live, new = drop.to_column(), add.column
        if (live.type.compile(dialect=dialect) != new.type.compile(dialect=dialect) or live.nullable != new.nullable
                or _default_text(live.server_default) != _default_text(new.server_default)):
            changes.append(TableChange("unsupported change", new.name,
                                       f"renamed from {drop.column_name} and changed in the same package: rename it "
                                       "in one release and change it in the next", fatal=True))
    # new names as the package spells them: SQL Server keeps a renamed column's case, and the keys,
    # indexes and CHECKs are compared with the package's spelling
    return renaming + kept, changes, {drop.column_name.lower(): add.column.name for drop, add in pairs}


def compare_tables(live: sa.Connection, shadow: sa.Connection, tables: list[tuple[str, str]],
                   renames: dict[tuple[str, str], dict[str, str]] | None = None) -> dict[tuple[str, str], TableDiff]:
    """Differences of the given tables, live -> as the shadow (the package) has them. `renames`:
    per table, the columns its header declares renamed (old -> new)."""
    renames = {(s.lower(), t.lower()): {o.lower(): n for o, n in r.items()}
               for (s, t), r in (renames or {}).items()}
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
        if type_ == "index":
            return not is_loop_index(name)
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
            subs, renamed, diffs[key].renamed = _declared_renames(
                list(op.ops), renames.get((key[0].lower(), key[1].lower()), {}), key[0], key[1], live.dialect)
            diffs[key].changes.extend(renamed)
            for sub in subs:
                if isinstance(sub, alembic_ops.AlterColumnOp) and sub.modify_name is not None:
                    diffs[key].operations.append(sub)
                    continue
                if isinstance(sub, alembic_ops.DropColumnOp):
                    # SQL Server refuses to drop a column its default, check or foreign key still
                    # uses; alembic's other dialects ignore these options
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
        for op in _check_constraint_ops(live_inspector, shadow_inspector, schema, table, live.dialect, diff.renamed):
            diff.operations.append(op)
            diff.changes.extend(_changes_for(op, schema, table, live.dialect))
        _index_and_key_differences(diff, live_inspector, shadow_inspector, metadata, live.dialect)
    return diffs


def _as_renamed(description: dict, renamed: dict[str, str]) -> dict:
    """A live table's keys and indexes as they will read once its renamed columns are renamed."""
    if not renamed:
        return description

    def names(columns):
        return [renamed.get(str(c).lower(), c) for c in columns] if columns else columns

    for entry in [description["primary_key"], *description["indexes"], *description["unique"],
                  *description["foreign_keys"]]:
        for key in ("columns", "include"):
            if key in entry:
                entry[key] = names(entry[key])
    return description


def _index_and_key_differences(diff: TableDiff, live: sa.Inspector, shadow: sa.Inspector, metadata: sa.MetaData,
                               dialect: sa.engine.Dialect) -> None:
    """What alembic does not see: an index whose INCLUDE list or predicate changed is dropped and
    re-created; a changed primary key, unique or foreign key alembic left alone cannot be altered
    by the deployer, so it is listed as unsupported (the plan blocks the table)."""
    schema, table = diff.schema, diff.table
    have, want = _as_renamed(describe_table(live, schema, table), diff.renamed), describe_table(shadow, schema, table)
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
    altering = {"primary_key": (alembic_ops.CreatePrimaryKeyOp, "primary"),
                "unique": (alembic_ops.CreateUniqueConstraintOp, "unique"),
                "foreign_keys": (alembic_ops.CreateForeignKeyOp, "foreignkey")}
    for part in ("primary_key", "unique", "foreign_keys"):
        create, dropped = altering[part]
        if have[part] != want[part] and not any(
                isinstance(op, create) or (isinstance(op, alembic_ops.DropConstraintOp) and op.constraint_type == dropped)
                for op in diff.operations):
            diff.changes.append(TableChange("unsupported change", part.replace("_", " "),
                                            "the deployer cannot alter this in place; change it by hand",
                                            fatal=True))
            diff.unsupported.append(part)
