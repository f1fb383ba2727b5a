"""Render: turn ordered catalog objects into SQL text for one engine (third step of the pipeline).

Every file in db/ is a jinja2 template rendered with StrictUndefined, so a misspelt variable is an
error, not an empty string. The hash of an object is taken over its rendered text with line
endings and trailing whitespace normalized: the same package checked out on Windows or Linux
has the same hashes.
"""

from __future__ import annotations

import ast

import hashlib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import jinja2

from deployer.source.catalog import Catalog, DbObject
from deployer.source.library import ExternalLibrary


class RenderError(Exception):
    """A template failed to render; the message names the file."""


def normalize(text: str) -> str:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(line.rstrip() for line in lines).strip("\n") + "\n"


def text_hash(text: str) -> str:
    return hashlib.sha256(normalize(text).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class RenderOptions:
    """What a rendering depends on besides the source: the engine's dialect turns the engine-specific
    ones into template variables (deployer.engines.<engine>.dialect.template_variables)."""
    package_version: str
    library: ExternalLibrary
    mssql_version: int | None = None  # SQL Server: 2019, 2022 or 2025 (default 2022)
    database_name: str | None = None
    filestream_path: str | None = None  # SQL Server; default: <data folder>/<database>_Filestream
    skip_filestream: bool = False
    inmemory_path: str | None = None  # SQL Server; default: <data folder>/<database>_InMemory
    # True: database name and paths become sqlcmd variables: $(DatabaseName), $(FilestreamPath), $(InMemoryPath)
    sqlcmd_variables: bool = False


@dataclass(frozen=True)
class RenderedObject:
    obj: DbObject
    sql: str
    batches: tuple[str, ...]  # as the server runs them, one by one (the dialect splits the text)

    @cached_property
    def hash(self) -> str:
        return text_hash(self.sql)


def tsql_identifier(name: str) -> str:
    return "[" + name.replace("]", "]]") + "]"


def tsql_string(value: str) -> str:
    return "N'" + value.replace("'", "''") + "'"


def pg_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


POLICY_MODULE = Path("external_scripts/hartonomous_ext/policy.py")


def read_policy(root: Path) -> dict[str, object]:
    """The literal assignments of hartonomous_ext.policy (NAME = 123), read without running it: the
    limits and defaults each engine's SQL takes from the one place they are written."""
    path = root / POLICY_MODULE
    if not path.exists():
        return {}
    values: dict[str, object] = {}
    for node in ast.parse(path.read_text(encoding="utf-8"), str(path)).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                values[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                raise RenderError(f"db/{POLICY_MODULE.as_posix()}: {node.targets[0].id} is not a literal") from None
    return values


@dataclass
class Renderer:
    root: Path
    options: RenderOptions
    dialect: Any  # deployer.engines.base.Dialect (duck-typed: the source room does not import engines)
    _env: jinja2.Environment = field(init=False)
    _context: dict = field(init=False)

    def __post_init__(self) -> None:
        self._context = {"engine": self.dialect.name, "package_version": self.options.package_version,
                         "library": self.options.library, "policy": read_policy(self.root),
                         **self.dialect.template_variables(self.options)}
        self._env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(self.root)),
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=True,
            autoescape=False,
        )
        self._env.filters.update(tsql_identifier=tsql_identifier, tsql_string=tsql_string, pg_string=pg_string)

    def render(self, obj: DbObject) -> RenderedObject:
        try:
            template = self._env.get_template(obj.path.as_posix())
            sql = template.render(self._context)
        except jinja2.TemplateSyntaxError as exc:
            raise RenderError(f"{obj.source_label}: template syntax error at line {exc.lineno}: {exc.message}") from None
        except jinja2.UndefinedError as exc:
            raise RenderError(f"{obj.source_label}: {exc.message}") from None
        except jinja2.TemplateNotFound as exc:
            raise RenderError(f"{obj.source_label}: includes {exc.name}, which does not exist") from None
        text = normalize(sql)
        return RenderedObject(obj=obj, sql=text, batches=tuple(self.dialect.batches(text)))

    def render_all(self, catalog: Catalog, ordered: list[DbObject] | None = None) -> list[RenderedObject]:
        return [self.render(o) for o in (ordered if ordered is not None else catalog.objects)]
