"""Catalog: read the database source in db/ into objects (first step of the pipeline).

One object per file. The file name is the object name plus the engine it is written for:

    db/tables/dbo.Atoms.mssql.sql      SQL Server
    db/tables/dbo.Atoms.pg.sql         PostgreSQL

The folder gives the stage (see deployer.source.stages). A header of `-- key: value` comment lines at
the top of the file says what the object is and what it needs:

    -- kind: table
    -- requires: dbo.Models, dbo.Atoms
    -- engine-specific: why this object exists on one engine only
    -- context: server        (SQL Server: run from master, e.g. CREATE DATABASE)
    -- autocommit: why        (applied outside a transaction: DDL the engine refuses in one)

Files whose name starts with "_" are jinja includes, not objects. Every object must exist for
both engines unless its header says why it is engine-specific; `check_engine_parity` enforces it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from deployer.source.stages import STAGE_FOLDERS, Stage

ENGINES = ("mssql", "postgresql")
ENGINE_SUFFIX = {"mssql": ".mssql.sql", "postgresql": ".pg.sql"}

# Kinds the deployer knows. "Replaceable" kinds can be re-applied at any time (CREATE OR ALTER /
# CREATE OR REPLACE / guarded statements), so they are re-applied when they or something they
# require change. Tables are not: their data must survive, so a changed table is altered in place
# from a structural diff (deployer.target.schema_diff), never re-run. Queues hold messages likewise.
KINDS = {
    "database", "schema", "setting", "extension", "filegroup", "role",
    "table", "library", "procedure", "function", "view", "queue", "policy", "grant", "check",
}
REPLACEABLE_KINDS = KINDS - {"table", "queue"}
# A role object `role_<kind>` is the database's role <database>_<kind> (README, "Security model"):
# roles are server-wide on PostgreSQL, so each database's carry its name.
ROLE_PREFIX = "role_"
ROLE_KINDS = ("admin", "app", "reader", "system")


def role_name(object_name: str, database: str) -> str:
    """The server's name of a role object's role in `database` (role_app -> <database>_app)."""
    return f"{database}_{object_name.removeprefix(ROLE_PREFIX)}"
HEADER_KEYS = {"kind", "requires", "engine-specific", "context", "renamed", "autocommit"}
CONTEXTS = {"database", "server"}

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")
_HEADER_LINE = re.compile(r"^--\s*([a-z-]+)\s*:\s*(.*?)\s*$")


class CatalogError(Exception):
    """The source in db/ is malformed; the message names the file."""


@dataclass(frozen=True)
class DbObject:
    name: str
    kind: str
    stage: Stage
    engine_name: str
    path: Path  # relative to the db root, e.g. tables/dbo.Atoms.pg.sql
    requires: tuple[str, ...] = ()
    engine_specific: str | None = None
    context: str = "database"
    # a table's columns renamed since an earlier package: (old, new), so a publish renames them in
    # place instead of dropping the old column with its data and adding an empty new one
    renamed: tuple[tuple[str, str], ...] = ()
    # why the object is applied in autocommit, not in the per-object transaction (SQL Server's
    # In-Memory OLTP DDL is refused inside a user transaction, error 12331); None: in a transaction
    autocommit: str | None = None

    @property
    def replaceable(self) -> bool:
        return self.kind in REPLACEABLE_KINDS

    @property
    def source_label(self) -> str:
        return f"db/{self.path.as_posix()}"


@dataclass
class Catalog:
    engine_name: str
    root: Path
    objects: list[DbObject] = field(default_factory=list)

    def by_name(self) -> dict[str, DbObject]:
        return {o.name: o for o in self.objects}


def valid_name(name: str) -> bool:
    return bool(_NAME.match(name))


def stage_for(relative: Path) -> Stage:
    folder = relative.parent.as_posix()
    for prefix, stage in STAGE_FOLDERS.items():  # longest prefixes first, see STAGE_FOLDERS
        if folder == prefix or folder.startswith(prefix + "/"):
            return stage
    raise CatalogError(f"db/{relative.as_posix()}: not under a stage folder ({', '.join(STAGE_FOLDERS)})")


def parse_header(text: str, label: str) -> dict[str, str]:
    """The `-- key: value` lines at the very top of a file; the first other line ends the header."""
    header: dict[str, str] = {}
    for line in text.splitlines():
        match = _HEADER_LINE.match(line.strip())
        if not match:
            break
        key, value = match.groups()
        if key not in HEADER_KEYS:
            raise CatalogError(f"{label}: unknown header key '{key}' (known: {', '.join(sorted(HEADER_KEYS))})")
        if key in header:
            raise CatalogError(f"{label}: header key '{key}' given twice")
        header[key] = value
    return header


def read_object(root: Path, path: Path, engine_name: str) -> DbObject:
    relative = path.relative_to(root)
    label = f"db/{relative.as_posix()}"
    name = path.name[: -len(ENGINE_SUFFIX[engine_name])]
    if not _NAME.match(name):
        raise CatalogError(f"{label}: '{name}' is not a valid object name (schema.Name or Name)")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise CatalogError(f"{label}: not valid UTF-8 ({exc.reason} at byte {exc.start})") from None
    header = parse_header(text, label)
    kind = header.get("kind")
    if kind is None:
        raise CatalogError(f"{label}: the header has no '-- kind:' line")
    if kind not in KINDS:
        raise CatalogError(f"{label}: unknown kind '{kind}' (known: {', '.join(sorted(KINDS))})")
    context = header.get("context", "database")
    if context not in CONTEXTS:
        raise CatalogError(f"{label}: unknown context '{context}' (known: {', '.join(sorted(CONTEXTS))})")
    requires = tuple(r.strip() for r in header.get("requires", "").split(",") if r.strip())
    for required in requires:
        if not _NAME.match(required):
            raise CatalogError(f"{label}: requires '{required}', which is not a valid object name")
    renamed = parse_renames(header.get("renamed", ""), label)
    if renamed and kind != "table":
        raise CatalogError(f"{label}: '-- renamed:' names columns, so only a table has it")
    return DbObject(
        name=name,
        kind=kind,
        stage=stage_for(relative),
        engine_name=engine_name,
        path=relative,
        requires=requires,
        engine_specific=header.get("engine-specific") or None,
        context=context,
        renamed=renamed,
        autocommit=header.get("autocommit") or None,
    )


def parse_renames(value: str, label: str) -> tuple[tuple[str, str], ...]:
    """`-- renamed: OldColumn -> NewColumn, Other -> Another` as pairs."""
    pairs = []
    for part in (p.strip() for p in value.split(",") if p.strip()):
        old, arrow, new = (s.strip() for s in part.partition("->"))
        if not arrow or not _NAME.match(old) or not _NAME.match(new) or "." in old + new:
            raise CatalogError(f"{label}: renamed '{part}' is not 'OldColumn -> NewColumn'")
        pairs.append((old, new))
    for names, what in (([o.lower() for o, _ in pairs], "renamed from"), ([n.lower() for _, n in pairs], "renamed to")):
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise CatalogError(f"{label}: {', '.join(twice)} {what} twice in '-- renamed:'")
    return tuple(pairs)


def load_catalog(root: Path, engine_name: str) -> Catalog:
    if engine_name not in ENGINES:
        raise CatalogError(f"unknown engine '{engine_name}' (known: {', '.join(ENGINES)})")
    if not root.is_dir():
        raise CatalogError(f"{root}: the database source folder does not exist")
    catalog = Catalog(engine_name=engine_name, root=root)
    seen: dict[str, DbObject] = {}
    for path in sorted(root.rglob("*" + ENGINE_SUFFIX[engine_name])):
        if path.name.startswith("_"):
            continue
        obj = read_object(root, path, engine_name)
        if obj.name in seen:
            raise CatalogError(f"{obj.source_label}: object {obj.name} is also defined in {seen[obj.name].source_label}")
        seen[obj.name] = obj
        catalog.objects.append(obj)
    return catalog


def check_engine_parity(root: Path) -> list[str]:
    """Objects that exist for one engine only without saying why (empty list: all is well)."""
    catalogs = {engine: load_catalog(root, engine).by_name() for engine in ENGINES}
    problems = []
    for engine, objects in catalogs.items():
        for other in ENGINES:
            if other == engine:
                continue
            for name, obj in objects.items():
                if name not in catalogs[other] and not obj.engine_specific:
                    problems.append(
                        f"{obj.source_label}: {name} exists for {engine} but not for {other}; "
                        f"add {name}{ENGINE_SUFFIX[other]} or an '-- engine-specific: <reason>' header line"
                    )
    return problems


def engine_specific_objects(root: Path) -> list[DbObject]:
    """The one list of engine-specific objects, with their reasons (README and tests read it)."""
    return [o for engine in ENGINES for o in load_catalog(root, engine).objects if o.engine_specific]
