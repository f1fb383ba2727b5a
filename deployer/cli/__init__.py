"""Command line: `python -m deployer <command>`, a thin layer over the library.

Per-area subcommands, each a module of this package: publish (render, plan, publish, drift,
verify, catalog), security (grant), backup (backup, restore), data (ingest-embeddings, query, ingest-model(s), detect-format, export-model),
loop (loop start|stop|status, health), local (the local engine). Arguments in, the rooms do the work, the report room prints.

Exit codes: 0 success, or no differences; 1 differences (plan, drift, dry run), or a deployment or
check failed, or publish refused; 2 usage, connection or package error.
"""

from __future__ import annotations

import argparse
import sys

from rich.console import Console
from rich.markup import escape

from deployer import __version__
from deployer.cli import backup, data, local, loop, publish, security
from deployer.cli.common import EXIT_ERROR
from deployer.engines.base import TargetError
from deployer.local.install import InstallError
from deployer.local.instance import LocalInstanceError
from deployer.source.catalog import CatalogError
from deployer.source.graph import GraphError
from deployer.source.render import RenderError

# errors that are the user's to fix: said in one line, exit 2
USER_ERRORS = (CatalogError, GraphError, RenderError, TargetError, LocalInstanceError, InstallError)
# a database driver's error outside an object's apply: said in one line, exit 2
DRIVER_MODULES = ("psycopg", "pyodbc")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m deployer", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"hartonomous {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    publish.add_commands(commands)
    security.add_commands(commands)
    backup.add_commands(commands)
    data.add_commands(commands)
    loop.add_commands(commands)
    local.add_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 120)
    try:
        return args.run(args, console)
    except USER_ERRORS as exc:
        Console(stderr=True, highlight=False).print(f"[bold red]error:[/bold red] {escape(str(exc))}")
        return EXIT_ERROR
    except Exception as exc:
        if type(exc).__module__.split(".")[0] not in DRIVER_MODULES:
            raise
        Console(stderr=True, highlight=False).print(
            f"[bold red]database error:[/bold red] {escape(str(exc).strip())}")
        return EXIT_ERROR
