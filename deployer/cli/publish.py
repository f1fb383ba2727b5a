"""The publish commands: render, plan, publish, drift, verify, catalog.

Each is a thin composition of the rooms: the package (deployer.package) -> the target room
(inspect_target, plan, apply_plan, run_checks) -> the report room.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.markup import escape

from deployer import __version__
from deployer.cli.common import EXIT_FAILED, EXIT_OK, open_existing, open_target, render_options, source_options, \
    target_options
from deployer.engines import dialect_for
from deployer.package import render_package
from deployer.report.logs import write_logs, write_refusal
from deployer.report.progress import progress_bar
from deployer.report.scripts import plan_script, write_render
from deployer.report.tables import catalog_table, checks_summary, data_loss_table, plan_summary, print_drift, \
    print_dry_run, print_plan, print_plan_as, print_publish
from deployer.source.catalog import ENGINES, check_engine_parity, load_catalog
from deployer.source.graph import order
from deployer.target.apply import PlanRefused, apply_plan
from deployer.target.plan import Flags, plan, skipped_by_flags
from deployer.target.state import inspect_target
from deployer.target.verify import run_checks


def add_commands(commands) -> None:
    target, source, rendering = target_options(), source_options(), render_options()

    render = commands.add_parser("render", parents=[rendering, source],
                                 help="write the SQL for one engine, no server needed")
    render.add_argument("--engine", choices=ENGINES, required=True)
    render.add_argument("--out", type=Path, required=True, help="output folder")
    render.set_defaults(run=cmd_render)

    publish = commands.add_parser("publish", parents=[target, rendering, source],
                                  help="apply the package to a target through all eight stages")
    publish.add_argument("--dry-run", action="store_true", help="print the ordered plan and its SQL; execute nothing")
    publish.add_argument("--force", action="store_true",
                         help="go on after an object fails; objects that need it are skipped")
    publish.add_argument("--verbose", action="store_true", help="one line per object, with the reason for its action")
    publish.add_argument("--log-dir", type=Path, default=Path("deployment-logs"),
                         help="where deployment-log-*.json and deployment-error-*.json go (default: %(default)s)")
    publish.add_argument("--allow-data-loss", action="store_true",
                         help="accept changes that drop or narrow data (the plan lists them with row counts)")
    publish.add_argument("--reapply", action="store_true",
                         help="apply every procedure, function, view, role, policy, grant and setting again, changed "
                              "or not (after a restore, or to repair objects changed by hand); tables and the "
                              "library are compared as always")
    publish.add_argument("--allow-drift", action="store_true",
                         help="publish although the target was changed outside the package")
    publish.set_defaults(run=cmd_publish)

    plan_parser = commands.add_parser("plan", parents=[target, rendering, source],
                                      help="compare the package with a target: what publish would do")
    plan_parser.add_argument("--format", choices=("text", "json", "markdown"), default="text")
    plan_parser.add_argument("--script", type=Path, default=None, help="write the exact SQL publish would run to FILE")
    plan_parser.add_argument("--verbose", action="store_true", help="the reason for every action, unchanged ones too")
    plan_parser.set_defaults(run=cmd_plan)

    drift = commands.add_parser("drift", parents=[target, rendering, source],
                                help="objects changed on the target outside the package, unknown or missing")
    drift.add_argument("--format", choices=("text", "json", "markdown"), default="text")
    drift.set_defaults(run=cmd_drift)

    verify = commands.add_parser("verify", parents=[target, rendering, source],
                                 help="run stage 8 (verification) against a target")
    verify.set_defaults(run=cmd_verify)

    catalog = commands.add_parser("catalog", parents=[source],
                                  help="list the package's objects: stage, kind, engines, requirements")
    catalog.add_argument("--engine-specific", action="store_true",
                         help="only the objects that exist on one engine, with the reason")
    catalog.set_defaults(run=cmd_catalog)


def _requested(args) -> dict:
    """The render options the user gave that a server may fill in or change (engine.render_settings)."""
    return {"filestream_path": args.filestream_path, "skip_filestream": args.skip_filestream,
            "inmemory_path": args.inmemory_path}


def _package(args, engine_name: str, database_name: str | None = None, *, sqlcmd_variables: bool = False,
             server: dict | None = None):
    """The package as the arguments ask, with what the server changes (`server`, from
    engine.render_settings) on top."""
    options = {**_requested(args), **(server or {})}
    return render_package(
        engine_name,
        db_root=args.source,
        mssql_version=args.mssql_version,
        database_name=database_name,
        sqlcmd_variables=sqlcmd_variables,
        **options,
    )


def _target_package(args, engine, console: Console | None):
    """The package for a connected target; says what the server changed (text output only)."""
    server, notices = engine.render_settings(_requested(args))
    if console is not None:
        for notice in notices:
            console.print(notice, markup=False)
    return _package(args, engine.dialect.name, engine.database, server=server)


def _flags(args) -> Flags:
    return Flags(skip_external_scripts=args.skip_external_scripts, force=getattr(args, "force", False),
                 allow_data_loss=getattr(args, "allow_data_loss", False),
                 allow_drift=getattr(args, "allow_drift", False), reapply=getattr(args, "reapply", False))


def _plan_for(args, engine, flags: Flags, console: Console | None = None):
    package = _target_package(args, engine, console)
    return plan(package, inspect_target(engine, package), flags, package_version=__version__)


def cmd_render(args, console: Console) -> int:
    dialect = dialect_for(args.engine)
    package = _package(args, args.engine, sqlcmd_variables=True)
    skipped = skipped_by_flags([r.obj for r in package], _flags(args))
    package = [r for r in package if r.obj.name not in skipped]
    version = args.mssql_version if dialect.versions else None
    combined = write_render(package, args.out, dialect, version, filestream=not args.skip_filestream)
    operations = sorted(dialect.operation_scripts(__version__, version, not args.skip_filestream))
    console.print(f"rendered {len(package)} objects for {args.engine} into {args.out}/objects; "
                  f"combined script: {combined}" + (f"; {', '.join(operations)} beside it" if operations else ""))
    return EXIT_OK


def cmd_plan(args, console: Console) -> int:
    engine = open_target(args)
    try:
        result = _plan_for(args, engine, _flags(args), console if args.format == "text" else None)
    finally:
        engine.close()
    print_plan_as(console, result, args.format, args.verbose)
    if args.script:
        args.script.write_text(plan_script(result, engine.dialect), encoding="utf-8")
        if args.format == "text":
            console.print(f"script: {args.script}")
    return EXIT_FAILED if result.has_differences else EXIT_OK


def cmd_drift(args, console: Console) -> int:
    engine = open_existing(args)
    try:
        result = _plan_for(args, engine, Flags())
    finally:
        engine.close()
    print_drift(console, result, args.format)
    return EXIT_FAILED if result.drift.any else EXIT_OK


def cmd_publish(args, console: Console) -> int:
    flags = _flags(args)
    engine = open_target(args, create_database=not args.dry_run)
    try:
        if not args.dry_run:
            engine.lock()
        result_plan = _plan_for(args, engine, flags, console)
        if args.dry_run:
            print_dry_run(console, result_plan, plan_script(result_plan, engine.dialect), args.verbose)
            return EXIT_FAILED if result_plan.has_differences else EXIT_OK
        if args.verbose:
            print_plan(console, result_plan, verbose=True)
        console.print(f"publishing to {escape(engine.label)}: {plan_summary(result_plan)}")
        with progress_bar(console, "publishing", total=len(result_plan.steps)) as bar:
            def on_step(step, state):
                if state == "start":
                    bar.describe(f"[{step.obj.stage.label}] {step.obj.name}")
                    return
                bar.advance()
                if args.verbose or state == "failed":
                    bar.print(f"  {state:9} {step.action:9} {step.obj.name}")

            result = apply_plan(result_plan, engine, flags, on_step)
        write_logs(result, args.log_dir, engine.label)
        print_publish(console, result)
        return EXIT_FAILED if result.status == "failed" else EXIT_OK
    except PlanRefused as exc:
        if exc.plan.data_loss:
            console.print(data_loss_table(exc.plan))
        console.print(f"[bold red]{escape(str(exc))}[/bold red]")
        console.print(f"errors: {write_refusal(exc, args.log_dir, engine.label)}")
        return EXIT_FAILED
    finally:
        engine.close()


def cmd_verify(args, console: Console) -> int:
    engine = open_existing(args)
    try:
        package = _target_package(args, engine, console)
        skipped = skipped_by_flags([r.obj for r in package], _flags(args))
        kept = [r for r in package if r.obj.name not in skipped]
        results = run_checks(engine, [r for r in kept if r.obj.kind == "check"],
                             [r for r in kept if r.obj.kind != "check"])
    finally:
        engine.close()
    return EXIT_OK if checks_summary(console, results, engine.label) else EXIT_FAILED


def cmd_catalog(args, console: Console) -> int:
    if problems := check_engine_parity(args.source):
        for problem in problems:
            console.print(f"[red]{escape(problem)}[/red]")
        return EXIT_FAILED
    by_engine = {name: {o.name: o for o in order(load_catalog(args.source, name).objects)} for name in ENGINES}
    console.print(catalog_table(by_engine, args.engine_specific))
    return EXIT_OK

