"""SQL Server's dialect: what is SQL Server-specific but needs no server (see engines.base.Dialect).

Objects split into GO-separated batches the way sqlcmd splits them; the versions the package
renders for (the VECTOR type exists on 2025 only); the database name and the FILESTREAM and
In-Memory OLTP containers the templates take, or their sqlcmd variables; the combined script is
for `sqlcmd -i`.
"""

from __future__ import annotations

import re
from typing import Iterable

from deployer.engines.base import TargetError, object_header
from deployer.engines.mssql.operations import operation_scripts
from deployer.source.catalog import ROLE_PREFIX
from deployer.source.render import RenderError, tsql_identifier, tsql_string

VERSIONS = (2019, 2022, 2025)
DEFAULT_VERSION = 2022
DEFAULT_DATABASE = "Hartonomous"
# SQL Server on Linux's data folder, where the FILESTREAM and In-Memory OLTP containers go when no
# server said where; one container per database (a container cannot be shared)
DEFAULT_FILESTREAM_FOLDER = "/var/opt/mssql/data"
# The session settings the package's objects are created under. sqlcmd (ODBC) starts with
# QUOTED_IDENTIFIER OFF unless given -I; filtered and spatial indexes and computed columns need
# these exact values, and a procedure keeps the QUOTED_IDENTIFIER and ANSI_NULLS it was created
# with. They are set in a batch of their own, before any object, and hold for the whole session;
# each file of `render --out` objects/ starts with them too, so it runs on its own. (The ODBC
# driver the deployer publishes through sets the ANSI ones by default, and leaves XACT_ABORT and
# ARITHABORT off: the deployer's per-object transaction is what rolls a failed object back.)
SESSION_SETTINGS = (
    "SET XACT_ABORT ON;",
    "SET ANSI_NULLS ON;",
    "SET QUOTED_IDENTIFIER ON;",
    "SET ANSI_PADDING ON;",
    "SET ANSI_WARNINGS ON;",
    "SET CONCAT_NULL_YIELDS_NULL ON;",
    "SET ARITHABORT ON;",
    "SET NUMERIC_ROUNDABORT OFF;",
)
_GO = re.compile(r"^\s*GO\s*(?:--.*)?$", re.IGNORECASE)
_DATABASE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,115}$")


def check_database_name(name: str) -> str:
    if not _DATABASE_NAME.match(name):
        raise RenderError(
            f"database name {name!r} is not allowed: use letters, digits and '_', starting with a letter or '_'"
        )
    return name


def in_data_folder(data_path: str, name: str, separator: str | None) -> str:
    """A file or folder directly in the instance's default data folder (SERVERPROPERTY
    ('InstanceDefaultDataPath'), with or without its trailing separator), joined with the server's
    path separator (SERVERPROPERTY('PathSeparator'): '\\' on Windows, '/' on Linux; None from a
    server older than SQL Server on Linux, so Windows, as settings_for_server takes it)."""
    return data_path.rstrip("\\/") + (separator or "\\") + name


def filestream_container(data_path: str, database: str) -> str:
    """The FILESTREAM container of `database` in the default data folder: a folder of its own, named
    after the database (a container cannot be shared; the server creates it, its parent must exist).
    The published database's (settings_for_server) and the shadow database's (MssqlEngine.shadow).
    A Windows path: FILESTREAM exists only there."""
    return in_data_folder(data_path, f"{database}_Filestream", "\\")


def inmemory_container(data_path: str, database: str, separator: str | None) -> str:
    """The In-Memory OLTP container (the MEMORY_OPTIMIZED_DATA filegroup's) of `database`, as
    filestream_container but on either platform, so with the server's separator."""
    return in_data_folder(data_path, f"{database}_InMemory", separator)


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


# A system-versioned table cannot be dropped while versioning is on, and its history table stays
# behind unless dropped too (its name is the server's: read from sys.tables, quoted by QUOTENAME).
_DROP_TABLE = """DECLARE @History NVARCHAR(600) = (
    SELECT QUOTENAME(OBJECT_SCHEMA_NAME(history_table_id)) + N'.' + QUOTENAME(OBJECT_NAME(history_table_id))
    FROM sys.tables WHERE object_id = OBJECT_ID({name}) AND temporal_type = 2);
IF @History IS NOT NULL
BEGIN
    ALTER TABLE {table} SET (SYSTEM_VERSIONING = OFF);
    DROP TABLE {table};
    DECLARE @DropHistory NVARCHAR(MAX) = N'DROP TABLE ' + @History + N';';
    EXEC sys.sp_executesql @DropHistory;
END
ELSE
    DROP TABLE IF EXISTS {table};"""


class MssqlDialect:
    name = "mssql"
    sqlalchemy_name = "mssql"
    versions = VERSIONS
    default_version = DEFAULT_VERSION

    def template_variables(self, options) -> dict:
        version = options.mssql_version or DEFAULT_VERSION
        if version not in VERSIONS:
            raise RenderError(f"SQL Server version {version} is not supported "
                              f"(supported: {', '.join(map(str, VERSIONS))})")
        if options.sqlcmd_variables:
            database, filestream_path, inmemory_path = "$(DatabaseName)", "$(FilestreamPath)", "$(InMemoryPath)"
        else:
            database = check_database_name(DEFAULT_DATABASE if options.database_name is None else options.database_name)
            filestream_path = options.filestream_path or f"{DEFAULT_FILESTREAM_FOLDER}/{database}_Filestream"
            inmemory_path = options.inmemory_path or inmemory_container(DEFAULT_FILESTREAM_FOLDER, database, "/")
        return {"mssql_version": version, "database_name": database, "filestream_path": filestream_path,
                "filestream": not options.skip_filestream, "inmemory_path": inmemory_path}

    def settings_for_server(self, separator: str | None, data_path: str | None, filestream_level: int | None,
                            database: str, requested: dict) -> tuple[dict, list[str]]:
        """What the rendering needs from this server: FILESTREAM, then the In-Memory OLTP container."""
        filestream, filestream_notices = self._filestream_settings(separator, data_path, filestream_level, database,
                                                                   requested)
        inmemory, inmemory_notices = self._inmemory_settings(separator, data_path, database, requested)
        return {**filestream, **inmemory}, filestream_notices + inmemory_notices

    def _filestream_settings(self, separator: str | None, data_path: str | None, filestream_level: int | None,
                             database: str, requested: dict) -> tuple[dict, list[str]]:
        """FILESTREAM per platform: SQL Server on Linux (path separator '/') has none, so payloads are
        stored as VARBINARY(MAX) there (as --skip-filestream); on Windows the instance must have
        FILESTREAM on (level 2 or more), and the container goes into its default data folder unless
        --filestream-path names one."""
        if requested.get("skip_filestream"):
            return {}, []
        if separator == "/":
            return {"skip_filestream": True}, [
                "FILESTREAM: SQL Server on Linux does not support it; payloads are stored as VARBINARY(MAX) "
                "(as with --skip-filestream)"]
        if (filestream_level or 0) < 2:
            raise TargetError("FILESTREAM is off on this instance (FilestreamEffectiveLevel "
                              f"{filestream_level or 0}): enable it in SQL Server Configuration Manager and with "
                              "sp_configure 'filestream access level', 2, or publish with --skip-filestream")
        if requested.get("filestream_path"):
            return {}, []
        if not data_path:
            raise TargetError("the instance reports no default data folder for the FILESTREAM container: "
                              "give one with --filestream-path")
        path = filestream_container(data_path, database)
        return {"filestream_path": path}, [f"FILESTREAM: container {path} (the instance's default data folder)"]

    def _inmemory_settings(self, separator: str | None, data_path: str | None, database: str,
                           requested: dict) -> tuple[dict, list[str]]:
        """In-Memory OLTP exists on both platforms and is never skipped: its container goes into the
        default data folder, with the server's path separator, unless --inmemory-path names one."""
        if requested.get("inmemory_path"):
            return {}, []
        if not data_path:
            raise TargetError("the instance reports no default data folder for the In-Memory OLTP container "
                              "(the MEMORY_OPTIMIZED_DATA filegroup): give one with --inmemory-path")
        path = inmemory_container(data_path, database, separator)
        return {"inmemory_path": path}, [f"In-Memory OLTP: container {path} (the instance's default data folder)"]

    def batches(self, sql: str) -> tuple[str, ...]:
        return tuple(split_batches(sql))

    def join_batches(self, batches: Iterable[str]) -> str:
        return "".join((b if b.endswith("\n") else b + "\n") + "GO\n" for b in batches)

    def catalog_key(self, name: str) -> tuple[str, str]:
        schema, _, bare = name.rpartition(".")
        return schema or "dbo", bare

    def drop_statement(self, name: str, kind: str) -> str:
        schema, _, bare = name.rpartition(".")
        target = f"{tsql_identifier(schema)}.{tsql_identifier(bare)}" if schema else tsql_identifier(bare)
        statements = {
            "table": _DROP_TABLE.format(table=target, name=tsql_string(target)),
            "view": f"DROP VIEW IF EXISTS {target};",
            "function": f"DROP FUNCTION IF EXISTS {target};",
            "procedure": f"DROP PROCEDURE IF EXISTS {target};",
            # without AUTHORIZATION the statement means the caller's own library, not dbo's
            "library": f"DROP EXTERNAL LIBRARY {tsql_identifier(bare)} AUTHORIZATION dbo;",
            "schema": f"DROP SCHEMA IF EXISTS {tsql_identifier(bare)};",
            "policy": f"DROP SECURITY POLICY IF EXISTS {target};",
            # a role object is the database's <database>_<kind> (deployer.source.catalog.role_name)
            "role": ("DECLARE @Statement NVARCHAR(400) = CONCAT(N'DROP ROLE IF EXISTS ', QUOTENAME(CONCAT(DB_NAME(), "
                     f"{tsql_string('_' + bare.removeprefix(ROLE_PREFIX))})), N';');\nEXEC sys.sp_executesql @Statement;"),
        }
        return statements[kind] + "\n" if kind in statements else ""

    def object_text(self, rendered) -> str:
        return object_header(rendered) + self.join_batches(rendered.batches)

    def object_file(self, rendered) -> str:
        return object_header(rendered) + self.join_batches(["\n".join(SESSION_SETTINGS) + "\n", *rendered.batches])

    def script_name(self, version: int | None) -> str:
        return f"hartonomous-mssql-{version or DEFAULT_VERSION}.sql"

    def operation_scripts(self, package_version: str, version: int | None, filestream: bool) -> dict[str, str]:
        """The backup and restore scripts (deployer.engines.mssql.operations), for sqlcmd."""
        return operation_scripts(package_version, version or DEFAULT_VERSION, filestream, SESSION_SETTINGS)

    def combined_script(self, rendered: list, package_version: str, version: int | None) -> str:
        version = version or DEFAULT_VERSION
        lines = [
            f"-- Hartonomous {package_version} for SQL Server {version}, generated by `python -m deployer render`.",
            "-- Run it with sqlcmd (the variables are required):",
            f"--   sqlcmd -S <server> -E -b -I -i {self.script_name(version)} \\",
            '--       -v DatabaseName="Hartonomous" FilestreamPath="D:\\SQLData\\Hartonomous_Filestream" \\',
            '--          InMemoryPath="D:\\SQLData\\Hartonomous_InMemory"',
            "-- Objects run in stage order; the stage-8 checks at the end return one row per check.",
            "-- The deployment history (deploy.*) is written by `python -m deployer publish`, not by this script.",
            ":on error exit",
            *SESSION_SETTINGS,
            "GO",
            "USE [master];",
            "GO",
        ]
        in_server_context = True
        for r in rendered:
            obj = r.obj
            wants_server = obj.context == "server"
            if wants_server and not in_server_context:
                lines += ["USE [master];", "GO"]
            elif not wants_server and in_server_context:
                lines += ["USE [$(DatabaseName)];", "GO"]
            in_server_context = wants_server
            lines.append(f"PRINT N'[{obj.stage.label}] {obj.kind} {obj.name}';")
            lines.append("GO")
            lines.append(self.object_text(r).rstrip("\n"))
        return "\n".join(lines) + "\n"
