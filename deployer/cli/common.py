"""What every command of the command line shares: target options, exit codes, opening a target.

No --target means the local engine (deployer.local), which must be running.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from deployer.engines import open_engine
from deployer.engines.base import Engine, TargetError
from deployer.engines.mssql.dialect import DEFAULT_VERSION as DEFAULT_MSSQL_VERSION
from deployer.engines.mssql.dialect import VERSIONS as MSSQL_VERSIONS
from deployer.local.instance import LocalInstance, LocalInstanceError
from deployer.package import DB_ROOT

EXIT_OK, EXIT_FAILED, EXIT_ERROR = 0, 1, 2


def target_options() -> argparse.ArgumentParser:
    """--target and --database-name: every command that talks to a database takes them."""
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument("--target", default=None,
                         help="postgresql://... URL, mssql+pyodbc://... URL, an ODBC connection string, or 'mssql' "
                              "for $HARTONOMOUS_MSSQL_DSN (default: the local engine)")
    options.add_argument("--database-name", default=None,
                         help="SQL Server database (default: from the connection string, else Hartonomous)")
    return options


def source_options() -> argparse.ArgumentParser:
    """--source: the commands that read the package."""
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument("--source", type=Path, default=DB_ROOT, help="the database source folder (default: db/)")
    return options


def render_options() -> argparse.ArgumentParser:
    """What changes the rendered text: the SQL Server version, FILESTREAM, In-Memory OLTP, external scripts."""
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument("--mssql-version", type=int, choices=MSSQL_VERSIONS, default=DEFAULT_MSSQL_VERSION,
                         help="SQL Server version to render for (default: %(default)s)")
    options.add_argument("--filestream-path", default=None, help="FILESTREAM container path (SQL Server)")
    options.add_argument("--skip-filestream", action="store_true", help="SQL Server: no FILESTREAM filegroup")
    options.add_argument("--inmemory-path", default=None,
                         help="In-Memory OLTP container path (SQL Server's MEMORY_OPTIMIZED_DATA filegroup)")
    options.add_argument("--skip-external-scripts", action="store_true",
                         help="leave out the external Python library (stage 3) and everything that needs it")
    return options


def resolve_target(target: str | None) -> str:
    if target is not None:
        return target
    local = LocalInstance.default()
    if not local.running():
        raise LocalInstanceError("no --target given and the local engine is not running; "
                                 "start it: python -m deployer local up")
    return local.url(require_running=True)


def open_target(args, *, create_database: bool = False) -> Engine:
    """The target of --target, connected (its database may not exist yet)."""
    engine = open_engine(resolve_target(args.target), database=args.database_name)
    engine.connect(create_database=create_database)
    return engine


def open_existing(args) -> Engine:
    """A connection to a target whose database must already exist (verify, drift, data commands)."""
    engine = open_target(args)
    if not engine.database_exists:
        engine.close()
        raise TargetError(f"{engine.label}: the database does not exist; publish first")
    return engine
