"""The local engine commands: local install, up, status, down (deployer.local does the work)."""

from __future__ import annotations

from rich.console import Console

from deployer.cli.common import EXIT_FAILED, EXIT_OK
from deployer.local.install import install_packages, install_pyenv
from deployer.local.instance import LocalInstance
from deployer.report.tables import print_local_status


def add_commands(commands) -> None:
    local = commands.add_parser("local", help="the local PostgreSQL engine")
    local_commands = local.add_subparsers(dest="local_command", required=True)
    local_commands.add_parser("install", help="install the Debian packages and the in-database Python environment") \
        .set_defaults(run=cmd_install)
    local_commands.add_parser("up", help="install if needed, initialise if needed, start").set_defaults(run=cmd_up)
    status = local_commands.add_parser("status", help="state, data directory and connection URL")
    status.add_argument("--url", action="store_true", help="print only the connection URL")
    status.set_defaults(run=cmd_status)
    local_commands.add_parser("down", help="stop the local engine").set_defaults(run=cmd_down)


def cmd_install(args, console: Console, local: LocalInstance | None = None) -> int:
    local = local or LocalInstance.default()
    local.home.mkdir(parents=True, exist_ok=True)
    installed = install_packages(local.home, console)
    console.print(f"Debian packages: {'installed ' + ', '.join(installed) if installed else 'already installed'}")
    changed = install_pyenv(local.pyenv_dir, console)
    console.print(f"in-database Python ({local.pyenv_dir}): {'installed' if changed else 'up to date'}")
    return EXIT_OK


def cmd_up(args, console: Console) -> int:
    local = LocalInstance.default()
    cmd_install(args, console, local)
    was_running = local.running()
    with console.status("starting the local PostgreSQL engine"):
        local.up()
    console.print(f"local engine {'already running' if was_running else 'started'}: PostgreSQL {local.version()}")
    console.print(f"url: {local.url()}")
    return EXIT_OK


def cmd_status(args, console: Console) -> int:
    local = LocalInstance.default()
    running = local.running()
    if args.url:
        if not running:
            Console(stderr=True).print("the local engine is not running", style="red")
            return EXIT_FAILED
        print(local.url())
        return EXIT_OK
    print_local_status(console, local, running)
    return EXIT_OK if running else EXIT_FAILED


def cmd_down(args, console: Console) -> int:
    local = LocalInstance.default()
    was_running = local.running()
    local.stop()
    console.print("local engine stopped" if was_running else "local engine was not running")
    return EXIT_OK
