"""Command line for backups: `backup` (a consistent dump and its checksums) and `restore` (into a new
database, then publish --reapply, verify, and compare every table with the backup's checksums).

Thin: the engine seam dumps and restores (PostgreSQL: pg_dump / pg_restore); the publish command
does the rest. SQL Server backups are the server's own BACKUP / RESTORE: `render --engine mssql`
writes the scripts, with what a restored database needs afterwards (README, "Backups").
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime, timezone
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from deployer import __version__
from deployer.cli.publish import cmd_publish
from deployer.cli.common import EXIT_ERROR, EXIT_FAILED, EXIT_OK, open_existing, open_target, render_options, \
    source_options, target_options
from deployer.engines.base import TargetError

MANIFEST_FORMAT = "hartonomous-backup-1"
# what a restore's own publish writes to: the deployment history gains its rows
CHANGED_BY_RESTORE = ("deploy.",)


def manifest_path(dump: Path) -> Path:
    return dump.with_name(dump.name + ".json")


def cmd_backup(args, console: Console) -> int:
    if args.out.exists() and not args.overwrite:
        console.print(f"[red]{escape(str(args.out))} exists; give --overwrite to replace it[/red]")
        return EXIT_ERROR
    engine = open_existing(args)
    try:
        checksums = engine.backup(args.out)
        label, database = engine.label, engine.database
    finally:
        engine.close()
    manifest = {"format": MANIFEST_FORMAT, "package_version": __version__, "source": label, "database": database,
                "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "tables": {name: {"rows": rows, "checksum": checksum} for name, (rows, checksum) in checksums.items()}}
    manifest_path(args.out).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    console.print(f"backup of {escape(label)}: {escape(str(args.out))} ({args.out.stat().st_size:,} bytes), "
                  f"{len(checksums)} tables, {sum(r for r, _ in checksums.values()):,} rows; "
                  f"checksums in {escape(str(manifest_path(args.out)))}")
    return EXIT_OK


def read_manifest(dump: Path) -> dict:
    path = manifest_path(dump)
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TargetError(f"{path} is missing: a backup is the dump and its manifest of checksums") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise TargetError(f"{path} is not a backup manifest: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT or \
            not isinstance(manifest.get("tables"), dict):
        raise TargetError(f"{path} is not a backup manifest of this format ({MANIFEST_FORMAT})")
    return manifest


def cmd_restore(args, console: Console) -> int:
    if not args.input.is_file():
        console.print(f"[red]{escape(str(args.input))} is not a file[/red]")
        return EXIT_ERROR
    manifest = read_manifest(args.input)
    engine = open_target(args, create_database=True)
    try:
        engine.restore(args.input)
    finally:
        engine.close()
    console.print(f"restored {escape(str(args.input))} into {escape(engine.label)}; publishing this database's "
                  f"roles, grants and settings")
    publish_args = argparse.Namespace(**{**vars(args), "dry_run": False, "force": False, "verbose": False,
                                         "allow_data_loss": False, "allow_drift": True, "reapply": True})
    if cmd_publish(publish_args, console) != EXIT_OK:
        return EXIT_FAILED
    engine = open_existing(args)
    try:
        restored = engine.table_checksums()
    finally:
        engine.close()
    differ = []
    for name, expected in sorted(manifest["tables"].items()):
        if name.startswith(CHANGED_BY_RESTORE):
            continue
        now = restored.get(name)
        if now is None or (now[0], now[1]) != (expected.get("rows"), expected.get("checksum")):
            differ.append((name, expected.get("rows"), None if now is None else now[0]))
    for name, rows, now in differ:
        console.print(f"[red]{escape(name)}: {rows} rows in the backup, "
                      f"{'missing' if now is None else f'{now} rows'} or different rows after the restore[/red]")
    compared = sum(1 for n in manifest["tables"] if not n.startswith(CHANGED_BY_RESTORE))
    if differ:
        return EXIT_FAILED
    console.print(f"checksums match: {compared} tables as in the backup of {escape(manifest.get('source', '?'))} "
                  f"({escape(manifest.get('created_at', '?'))}); the deployment history has this restore's publish")
    return EXIT_OK


def add_commands(commands) -> None:
    target, source, rendering = target_options(), source_options(), render_options()
    backup = commands.add_parser("backup", parents=[target],
                                 help="a consistent dump of the database (PostgreSQL) and a manifest of checksums")
    backup.add_argument("--out", type=Path, required=True, help="the dump file; its manifest is <out>.json")
    backup.add_argument("--overwrite", action="store_true", help="replace an existing file")
    backup.set_defaults(run=cmd_backup)

    restore = commands.add_parser("restore", parents=[target, rendering, source],
                                  help="restore a backup into a new database, publish --reapply, verify, "
                                       "compare checksums")
    restore.add_argument("--input", type=Path, required=True, help="a dump written by backup (with <input>.json)")
    restore.add_argument("--log-dir", type=Path, default=Path("deployment-logs"),
                         help="where the publish's logs go (default: %(default)s)")
    restore.set_defaults(run=cmd_restore)
