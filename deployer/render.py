"""Render: turn ordered catalog objects into SQL text for one engine (third step of the pipeline).

Every file in db/ is a jinja2 template rendered with StrictUndefined, so a misspelt variable is an
error, not an empty string. The hash of an object is taken over its rendered text with line
endings and trailing whitespace normalized: the same package checked out on Windows or Linux
has the same hashes.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import jinja2

from deployer.catalog import Catalog, DbObject
from deployer.library import ExternalLibrary

MSSQL_VERSIONS = (2019, 2022, 2025)
DEFAULT_MSSQL_VERSION = 2022
DEFAULT_DATABASE = "Hartonomous"
# SQL Server on Linux's data folder; one container per database (a container cannot be shared)
DEFAULT_FILESTREAM_FOLDER = "/var/opt/mssql/data"
_GO = re.compile(r"^\s*GO\s*(?:--.*)?$", re.IGNORECASE)
_DATABASE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,115}$")


class RenderError(Exception):
    """A template failed to render; the message names the file."""


def normalize(text: str) -> str:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(line.rstrip() for line in lines).strip("\n") + "\n"


def text_hash(text: str) -> str:
    return hashlib.sha256(normalize(text).encode("utf-8")).hexdigest()


def split_batches(sql: str) -> list[str]:
    """Split T-SQL on GO lines the way sqlcmd does; empty batches are dropped."""
    batches, current = [], []
    for line in sql.replace("\r\n", "\n").split("\n"):
        if _GO.match(line):
            batches.append("\n".join(current))
            current = []
        else:
            current.append(line)
    batches.append("\n".join(current))
    return [b.strip("\n") + "\n" for b in batches if b.strip()]


def check_database_name(name: str) -> str:
    if not _DATABASE_NAME.match(name):
        raise RenderError(
            f"database name {name!r} is not allowed: use letters, digits and '_', starting with a letter or '_'"
        )
    return name


@dataclass(frozen=True)
class RenderOptions:
    engine: str
    package_version: str
    library: ExternalLibrary
    mssql_version: int = DEFAULT_MSSQL_VERSION
    database_name: str = DEFAULT_DATABASE
    filestream_path: str | None = None  # default: DEFAULT_FILESTREAM_FOLDER/<database>_Filestream
    skip_filestream: bool = False
    # True: database name and paths become sqlcmd variables, $(DatabaseName) and $(FilestreamPath)
    sqlcmd_variables: bool = False

    def context(self) -> dict:
        database = "$(DatabaseName)" if self.sqlcmd_variables else check_database_name(self.database_name)
        filestream = "$(FilestreamPath)" if self.sqlcmd_variables else (
            self.filestream_path or f"{DEFAULT_FILESTREAM_FOLDER}/{database}_Filestream")
        return {
            "engine": self.engine,
            "mssql_version": self.mssql_version,
            "database_name": database,
            "filestream_path": filestream,
            "filestream": self.engine == "mssql" and not self.skip_filestream,
            "package_version": self.package_version,
            "library": self.library,
        }


@dataclass(frozen=True)
class RenderedObject:
    obj: DbObject
    sql: str

    @cached_property
    def hash(self) -> str:
        return text_hash(self.sql)

    @property
    def batches(self) -> list[str]:
        return split_batches(self.sql) if self.obj.engine == "mssql" else [self.sql]


def tsql_identifier(name: str) -> str:
    return "[" + name.replace("]", "]]") + "]"


def tsql_string(value: str) -> str:
    return "N'" + value.replace("'", "''") + "'"


def pg_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


@dataclass
class Renderer:
    root: Path
    options: RenderOptions
    _env: jinja2.Environment = field(init=False)

    def __post_init__(self) -> None:
        if self.options.engine == "mssql" and self.options.mssql_version not in MSSQL_VERSIONS:
            raise RenderError(
                f"SQL Server version {self.options.mssql_version} is not supported "
                f"(supported: {', '.join(map(str, MSSQL_VERSIONS))})"
            )
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
            sql = template.render(self.options.context())
        except jinja2.TemplateSyntaxError as exc:
            raise RenderError(f"{obj.source_label}: template syntax error at line {exc.lineno}: {exc.message}") from None
        except jinja2.UndefinedError as exc:
            raise RenderError(f"{obj.source_label}: {exc.message}") from None
        except jinja2.TemplateNotFound as exc:
            raise RenderError(f"{obj.source_label}: includes {exc.name}, which does not exist") from None
        return RenderedObject(obj=obj, sql=normalize(sql))

    def render_all(self, catalog: Catalog, ordered: list[DbObject] | None = None) -> list[RenderedObject]:
        return [self.render(o) for o in (ordered if ordered is not None else catalog.objects)]
