"""Command line: `python -m deployer <command>`. Parses arguments and wires the pipeline together.

Exit codes: 0 success, or no differences; 1 differences (plan, drift, dry run), or a deployment or
check failed, or publish refused; 2 usage, connection or package error.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from deployer import __version__
from deployer.apply import PlanRefused, apply_plan, write_logs, write_refusal
from deployer.catalog import ENGINES, CatalogError, check_engine_parity, load_catalog
from deployer.engines import open_engine
from deployer.engines.base import TargetError
from deployer.graph import GraphError, order
from deployer.local.engine import LocalEngine, LocalEngineError
from deployer.local.install import InstallError, install_packages, install_pyenv
from deployer.package import DB_ROOT, render_package
from deployer.plan import Flags, skipped_by_flags
from deployer.render import DEFAULT_MSSQL_VERSION, MSSQL_VERSIONS, RenderError
from deployer.compare import build_target_plan
from deployer.report import checks_table, drift_table, plan_document, plan_markdown, plan_summary, print_plan, print_publish
from deployer.sqlcmd import write_render
from deployer.verify import run_checks

EXIT_OK, EXIT_FAILED, EXIT_ERROR = 0, 1, 2


def _add_source(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--source", type=Path, default=DB_ROOT, help="the database source folder (default: db/)")


def _add_mssql(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--mssql-version", type=int, choices=MSSQL_VERSIONS, default=DEFAULT_MSSQL_VERSION,
                        help="SQL Server version to render for (default: %(default)s)")
    parser.add_argument("--database-name", default=None,
                        help="SQL Server database (default: from the connection string, else Hartonomous)")


def _add_target(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--target", default=None,
                        help="postgresql://... URL, mssql+pyodbc://... URL, an ODBC connection string, or 'mssql' "
                             "for $HARTONOMOUS_MSSQL_DSN (default: the local engine)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m deployer", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"hartonomous {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    render = commands.add_parser("render", help="write the SQL for one engine, no server needed")
    render.add_argument("--engine", choices=ENGINES, required=True)
    render.add_argument("--out", type=Path, required=True, help="output folder")
    render.add_argument("--filestream-path", default=None, help="FILESTREAM container path (SQL Server)")
    render.add_argument("--skip-filestream", action="store_true")
    render.add_argument("--skip-external-scripts", action="store_true", help="leave out stage 3 and what needs it")
    _add_mssql(render)
    _add_source(render)

    publish = commands.add_parser("publish", help="apply the package to a target through all eight stages")
    _add_target(publish)
    publish.add_argument("--dry-run", action="store_true", help="print the ordered plan and its SQL; execute nothing")
    publish.add_argument("--skip-filestream", action="store_true", help="SQL Server: no FILESTREAM filegroup")
    publish.add_argument("--skip-external-scripts", action="store_true",
                         help="leave out the external Python library (stage 3) and everything that needs it")
    publish.add_argument("--force", action="store_true",
                         help="go on after an object fails; objects that need it are skipped")
    publish.add_argument("--verbose", action="store_true", help="one line per object, with the reason for its action")
    publish.add_argument("--log-dir", type=Path, default=Path("deployment-logs"),
                         help="where deployment-log-*.json and deployment-error-*.json go (default: %(default)s)")
    publish.add_argument("--allow-data-loss", action="store_true",
                         help="accept changes that drop or narrow data (the plan lists them with row counts)")
    publish.add_argument("--allow-drift", action="store_true",
                         help="publish although the target was changed outside the package")
    publish.add_argument("--filestream-path", default=None, help="FILESTREAM container path (SQL Server)")
    _add_mssql(publish)
    _add_source(publish)

    plan = commands.add_parser("plan", help="compare the package with a target: what publish would do")
    _add_target(plan)
    plan.add_argument("--format", choices=("text", "json", "markdown"), default="text")
    plan.add_argument("--script", type=Path, default=None, help="write the exact SQL publish would run to FILE")
    plan.add_argument("--skip-filestream", action="store_true")
    plan.add_argument("--skip-external-scripts", action="store_true")
    plan.add_argument("--verbose", action="store_true", help="the reason for every action, unchanged ones too")
    plan.add_argument("--filestream-path", default=None)
    _add_mssql(plan)
    _add_source(plan)

    drift = commands.add_parser("drift", help="objects changed on the target outside the package, unknown or missing")
    _add_target(drift)
    drift.add_argument("--format", choices=("text", "json", "markdown"), default="text")
    _add_mssql(drift)
    _add_source(drift)

    verify = commands.add_parser("verify", help="run stage 8 (verification) against a target")
    _add_target(verify)
    verify.add_argument("--skip-external-scripts", action="store_true")
    _add_mssql(verify)
    _add_source(verify)

    catalog = commands.add_parser("catalog", help="list the package's objects: stage, kind, engines, requirements")
    catalog.add_argument("--engine-specific", action="store_true",
                         help="only the objects that exist on one engine, with the reason")
    _add_source(catalog)

    ingest = commands.add_parser("ingest-embeddings",
                                 help="ingest each line of a text file (or each file of a folder) as an atom with its embedding")
    _add_target(ingest)
    ingest.add_argument("--input", type=Path, required=True, help="a text file (one atom per line) or a folder")
    ingest.add_argument("--model", default="all-MiniLM-L6-v2", help="the embedding model (default: %(default)s)")
    ingest.add_argument("--batch-size", type=int, default=100, help="record progress every N atoms (default: %(default)s)")
    ingest.add_argument("--tenant", type=int, default=0)
    ingest.add_argument("--database-name", default=None)

    query = commands.add_parser("query", help="semantic search: the atoms closest in meaning to a text")
    _add_target(query)
    query.add_argument("--text", required=True)
    query.add_argument("--top", type=int, default=10)
    query.add_argument("--use-spatial", choices=("true", "false"), default="true",
                       help="hybrid search through the spatial index (true) or an exact scan (false)")
    query.add_argument("--tenant", type=int, default=0)
    query.add_argument("--format", choices=("text", "json"), default="text")
    query.add_argument("--database-name", default=None)

    ingest_model = commands.add_parser("ingest-model", help="ingest a model file (ONNX, safetensors, PyTorch, GGUF) "
                                                           "into the database's tables")
    _add_target(ingest_model)
    ingest_model.add_argument("path", type=Path, help="the model file (for sharded safetensors: its index json)")
    ingest_model.add_argument("--name", default=None, help="the model's name (default: the file name)")
    ingest_model.add_argument("--tenant", type=int, default=0)
    ingest_model.add_argument("--database-name", default=None)

    ingest_models = commands.add_parser("ingest-models", help="ingest every model file of a folder")
    _add_target(ingest_models)
    ingest_models.add_argument("folder", type=Path)
    ingest_models.add_argument("--recursive", action="store_true")
    ingest_models.add_argument("--extensions", default=".onnx,.safetensors,.bin,.pt,.pth,.gguf",
                               help="comma-separated file endings to take (default: %(default)s)")
    ingest_models.add_argument("--tenant", type=int, default=0)
    ingest_models.add_argument("--database-name", default=None)

    detect = commands.add_parser("detect-format", help="a model file's format, from its content")
    detect.add_argument("path", type=Path)

    export = commands.add_parser("export-model", help="write a stored model's tensors back to a file")
    _add_target(export)
    export.add_argument("model_id", type=int)
    export.add_argument("--format", choices=("onnx", "safetensors", "pytorch", "gguf"), default=None,
                        help="the file format (default: the format it was ingested from)")
    export.add_argument("--out", type=Path, required=True)
    export.add_argument("--tenant", type=int, default=0)
    export.add_argument("--database-name", default=None)

    local = commands.add_parser("local", help="the local PostgreSQL engine")
    local_commands = local.add_subparsers(dest="local_command", required=True)
    local_commands.add_parser("install", help="install the Debian packages and the in-database Python environment")
    local_commands.add_parser("up", help="install if needed, initialise if needed, start")
    status = local_commands.add_parser("status", help="state, data directory and connection URL")
    status.add_argument("--url", action="store_true", help="print only the connection URL")
    local_commands.add_parser("down", help="stop the local engine")
    return parser


def _rendered_for(args, engine_name: str, database_name: str | None = None):
    return render_package(
        engine_name,
        db_root=args.source,
        mssql_version=args.mssql_version if engine_name == "mssql" else None,
        database_name=database_name,
        filestream_path=getattr(args, "filestream_path", None),
        skip_filestream=getattr(args, "skip_filestream", False),
    )


def cmd_render(args, console: Console) -> int:
    rendered = render_package(
        args.engine, db_root=args.source,
        mssql_version=args.mssql_version if args.engine == "mssql" else None,
        filestream_path=args.filestream_path, skip_filestream=args.skip_filestream,
        sqlcmd_variables=args.engine == "mssql",
    )
    skipped = skipped_by_flags([r.obj for r in rendered], Flags(skip_external_scripts=args.skip_external_scripts))
    rendered = [r for r in rendered if r.obj.name not in skipped]
    combined = write_render(rendered, args.out, args.engine, args.mssql_version if args.engine == "mssql" else None)
    console.print(f"rendered {len(rendered)} objects for {args.engine} into {args.out}/objects; combined script: {combined}")
    return EXIT_OK


def _local_engine_for_target(target: str | None) -> None:
    if target is None and not LocalEngine.default().running():
        raise LocalEngineError("no --target given and the local engine is not running; start it: python -m deployer local up")


def _target_plan(args, engine, flags: Flags):
    rendered = _rendered_for(args, engine.name, engine.database if engine.name == "mssql" else None)
    return build_target_plan(engine, rendered, flags, __version__)


def _print_plan_as(console: Console, plan, form: str, verbose: bool = False) -> None:
    if form == "json":
        print(json.dumps(plan_document(plan), indent=2))
    elif form == "markdown":
        print(plan_markdown(plan))
    else:
        print_plan(console, plan, verbose=verbose)


def cmd_plan(args, console: Console) -> int:
    _local_engine_for_target(args.target)
    flags = Flags(skip_external_scripts=args.skip_external_scripts)
    engine = open_engine(args.target, database=args.database_name)
    engine.connect(create_database=False)
    try:
        plan = _target_plan(args, engine, flags)
    finally:
        engine.close()
    _print_plan_as(console, plan, args.format, args.verbose)
    if args.script:
        args.script.write_text(plan.script(), encoding="utf-8")
        if args.format == "text":
            console.print(f"script: {args.script}")
    return EXIT_FAILED if plan.has_differences else EXIT_OK


def _open_existing(args):
    """A connection to a target whose database must already exist (verify, drift, ingest, query)."""
    _local_engine_for_target(args.target)
    engine = open_engine(args.target, database=args.database_name)
    engine.connect(create_database=False)
    if not engine.database_exists:
        engine.close()
        raise TargetError(f"{engine.label}: the database does not exist; publish first")
    return engine


def cmd_drift(args, console: Console) -> int:
    engine = _open_existing(args)
    try:
        plan = _target_plan(args, engine, Flags())
    finally:
        engine.close()
    drift = plan.drift
    if args.format == "json":
        print(json.dumps({"target": plan.target, "drift": drift.any, **drift.as_dict()}, indent=2))
    elif args.format == "markdown":
        print(f"## Drift on `{plan.target}`\n")
        for key in ("changed", "missing", "unknown"):
            print("\n".join(f"- {key}: `{name}` ({kind})" for name, kind in getattr(drift, key)) or f"- {key}: none")
    elif drift.any:
        console.print(drift_table(plan))
    else:
        console.print(f"no drift: {plan.target} is as the deployment history says")
    return EXIT_FAILED if drift.any else EXIT_OK


def cmd_publish(args, console: Console) -> int:
    _local_engine_for_target(args.target)
    flags = Flags(skip_external_scripts=args.skip_external_scripts, force=args.force,
                  allow_data_loss=args.allow_data_loss, allow_drift=args.allow_drift)
    engine = open_engine(args.target, database=args.database_name)
    engine.connect(create_database=not args.dry_run)
    try:
        if not args.dry_run:
            engine.lock()
        plan = _target_plan(args, engine, flags)
        if args.dry_run:
            print_plan(console, plan, verbose=args.verbose)
            script = plan.script()
            if script:
                console.rule("SQL publish would execute")
                console.print(script, markup=False, highlight=False)
            else:
                console.print("nothing to execute: the target matches the package")
            return EXIT_FAILED if plan.has_differences else EXIT_OK
        if args.verbose:
            print_plan(console, plan, verbose=True)
        console.print(f"publishing to {engine.label}: {plan_summary(plan)}")
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), console=console, transient=True) as progress:
            task = progress.add_task("publishing", total=len(plan.steps))

            def on_step(step, state):
                if state == "start":
                    progress.update(task, description=f"[{step.obj.stage.label}] {step.obj.name}")
                else:
                    progress.advance(task)
                    if args.verbose or state == "failed":
                        progress.console.print(f"  {state:9} {step.action:9} {step.obj.name}", markup=False)

            result = apply_plan(plan, engine, flags, on_step)
        write_logs(result, args.log_dir, engine.label)
        print_publish(console, result)
        return EXIT_FAILED if result.status == "failed" else EXIT_OK
    except PlanRefused as exc:
        if exc.plan.data_loss:
            from deployer.report import data_loss_table

            console.print(data_loss_table(exc.plan))
        console.print(f"[bold red]{escape(str(exc))}[/bold red]")
        console.print(f"errors: {write_refusal(exc, args.log_dir, engine.label)}")
        return EXIT_FAILED
    finally:
        engine.close()


def cmd_verify(args, console: Console) -> int:
    engine = _open_existing(args)
    try:
        rendered = _rendered_for(args, engine.name, engine.database if engine.name == "mssql" else None)
        skipped = skipped_by_flags([r.obj for r in rendered], Flags(skip_external_scripts=args.skip_external_scripts))
        kept = [r for r in rendered if r.obj.name not in skipped]
        checks = [r for r in kept if r.obj.kind == "check"]
        deployed = [r for r in kept if r.obj.kind != "check"]
        results = run_checks(engine, checks, deployed)
    finally:
        engine.close()
    console.print(checks_table(results))
    failed = [c for c in results if not c.passed]
    if failed:
        console.print(f"[bold red]{len(failed)} of {len(results)} checks failed:[/bold red] "
                      + "; ".join(c.name for c in failed))
        return EXIT_FAILED
    console.print(f"[bold green]all {len(results)} checks passed[/bold green] on {engine.label}")
    return EXIT_OK


def cmd_catalog(args, console: Console) -> int:
    if problems := check_engine_parity(args.source):
        for problem in problems:
            console.print(f"[red]{problem}[/red]")
        return EXIT_FAILED
    by_engine = {engine: {o.name: o for o in order(load_catalog(args.source, engine).objects)} for engine in ENGINES}
    names = list(dict.fromkeys([*by_engine["mssql"], *by_engine["postgresql"]]))
    names.sort(key=lambda n: (int(next(by_engine[e][n] for e in ENGINES if n in by_engine[e]).stage)))
    table = Table(title="Objects in the package")
    for column in ("stage", "object", "kind", "engines", "requires", "engine-specific because"):
        table.add_column(column, no_wrap=column in ("stage", "object"))
    for name in names:
        objs = [by_engine[e][name] for e in ENGINES if name in by_engine[e]]
        first = objs[0]
        if args.engine_specific and len(objs) == len(ENGINES):
            continue
        table.add_row(first.stage.label, name, first.kind, ", ".join(o.engine for o in objs),
                      ", ".join(first.requires), first.engine_specific or "")
    console.print(table)
    return EXIT_OK


def cmd_ingest_embeddings(args, console: Console) -> int:
    from deployer.client import SUPPORTED_MODELS, Client, count_items

    if args.model not in SUPPORTED_MODELS:
        raise TargetError(f"model {args.model!r} cannot embed yet; supported: {', '.join(SUPPORTED_MODELS)}")
    if args.batch_size < 1:
        raise TargetError("--batch-size must be at least 1")
    if not args.input.exists():
        raise TargetError(f"{args.input}: no such file or folder")
    engine = _open_existing(args)
    try:
        with Progress(SpinnerColumn(), TextColumn("ingesting"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), console=console, transient=True) as progress:
            task = progress.add_task("ingest", total=count_items(args.input))
            result = Client(engine).ingest(args.input, tenant=args.tenant, batch_size=args.batch_size,
                                           progress=lambda done, total: progress.update(task, completed=done))
    finally:
        engine.close()
    resumed = f", resumed after {result['resumed_after']}" if result["resumed_after"] else ""
    console.print(f"job {result['job']}: {result['ingested']} atoms ingested with embeddings "
                  f"({result['total']} items{resumed})")
    return EXIT_OK


def cmd_query(args, console: Console) -> int:
    from deployer.client import Client

    engine = _open_existing(args)
    try:
        results = Client(engine).query(args.text, top=args.top, use_spatial=args.use_spatial == "true",
                                       tenant=args.tenant)
    finally:
        engine.close()
    if args.format == "json":
        print(json.dumps(results, indent=2))
        return EXIT_OK
    table = Table(title=f"Closest to {args.text!r}")
    for column in ("rank", "score", "AtomId", "preview"):
        table.add_column(column, justify="right" if column in ("rank", "score", "AtomId") else "left")
    for row in results:
        table.add_row(str(row["rank"]), f"{row['score']:.4f}", str(row["atom_id"]),
                      escape((row["preview"] or f"({row['content_type']})")[:100]))
    console.print(table)
    return EXIT_OK


def cmd_local(args, console: Console) -> int:
    local = LocalEngine.default()
    if args.local_command in ("install", "up"):
        local.home.mkdir(parents=True, exist_ok=True)
        installed = install_packages(local.home, console)
        console.print(f"Debian packages: {'installed ' + ', '.join(installed) if installed else 'already installed'}")
        changed = install_pyenv(local.pyenv_dir, console)
        console.print(f"in-database Python ({local.pyenv_dir}): {'installed' if changed else 'up to date'}")
        if args.local_command == "install":
            return EXIT_OK
        was_running = local.running()
        with console.status("starting the local PostgreSQL engine"):
            local.up()
        console.print(f"local engine {'already running' if was_running else 'started'}: PostgreSQL {local.version()}")
        console.print(f"url: {local.url()}")
        return EXIT_OK
    if args.local_command == "status":
        running = local.running()
        if args.url:
            if not running:
                Console(stderr=True).print("the local engine is not running", style="red")
                return EXIT_FAILED
            print(local.url())
            return EXIT_OK
        state = "running" if running else ("stopped" if local.initialized() else "not initialised")
        console.print(f"state:    {state}")
        console.print(f"data:     {local.data_dir}")
        console.print(f"log:      {local.log_file}")
        console.print(f"python:   {local.pyenv_dir}")
        console.print(f"url:      {local.url()}")
        if running:
            console.print(f"version:  PostgreSQL {local.version()}")
        return EXIT_OK if running else EXIT_FAILED
    if args.local_command == "down":
        was_running = local.running()
        local.stop()
        console.print("local engine stopped" if was_running else "local engine was not running")
        return EXIT_OK
    raise AssertionError(args.local_command)


def _ingest_models(engine, paths: list[Path], args, console: Console) -> int:
    from deployer.models import ModelClient, library

    formats, _ = library()
    client, failures = ModelClient(engine), 0
    for path in paths:
        with Progress(SpinnerColumn(), TextColumn(f"{escape(path.name)}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                      TimeElapsedColumn(), console=console, transient=True) as progress:
            task = progress.add_task("model", total=None)
            try:
                result = client.ingest(path, name=getattr(args, "name", None), tenant=args.tenant,
                                       progress=lambda done, total: progress.update(task, completed=done, total=total))
            except formats.FormatError as exc:
                failures += 1
                console.print(f"[bold red]failed:[/bold red] {escape(str(exc))}", soft_wrap=True)
                continue
        mb = result["bytes"] / 1e6
        if result["existing"]:
            console.print(f"job {result['job']}: {escape(str(path))} is already model {result['model_id']} (same content)",
                          soft_wrap=True)
        else:
            console.print(f"job {result['job']}: {escape(str(path))} -> model {result['model_id']}: "
                          f"{result['tensors']} tensors, {mb:.1f} MB ({result['sent'] / 1e6:.1f} MB new chunks)",
                          soft_wrap=True)
    return EXIT_FAILED if failures else EXIT_OK


def cmd_ingest_model(args, console: Console) -> int:
    engine = _open_existing(args)
    try:
        return _ingest_models(engine, [args.path], args, console)
    finally:
        engine.close()


def cmd_ingest_models(args, console: Console) -> int:
    from deployer.models import model_files

    paths = model_files(args.folder, args.recursive, [e.strip() for e in args.extensions.split(",") if e.strip()])
    if not paths:
        raise TargetError(f"{args.folder}: no files ending in {args.extensions}")
    engine = _open_existing(args)
    try:
        return _ingest_models(engine, paths, args, console)
    finally:
        engine.close()


def cmd_detect_format(args, console: Console) -> int:
    from deployer.models import detect_format, library

    formats, _ = library()
    try:
        print(detect_format(args.path))
    except formats.FormatError as exc:
        Console(stderr=True, highlight=False).print(f"[bold red]error:[/bold red] {escape(str(exc))}")
        return EXIT_FAILED
    return EXIT_OK


def cmd_export_model(args, console: Console) -> int:
    from deployer.models import ModelClient, library

    formats, _ = library()
    engine = _open_existing(args)
    try:
        out = ModelClient(engine).export(args.model_id, args.out, args.format, tenant=args.tenant)
    except formats.FormatError as exc:
        Console(stderr=True, highlight=False).print(f"[bold red]error:[/bold red] {escape(str(exc))}")
        return EXIT_FAILED
    finally:
        engine.close()
    console.print(f"model {args.model_id} written to {escape(str(out))}")
    return EXIT_OK


COMMANDS = {"ingest-model": cmd_ingest_model, "ingest-models": cmd_ingest_models, "detect-format": cmd_detect_format,
            "export-model": cmd_export_model, "ingest-embeddings": cmd_ingest_embeddings, "query": cmd_query, "catalog": cmd_catalog, "render": cmd_render, "plan": cmd_plan, "drift": cmd_drift, "publish": cmd_publish, "verify": cmd_verify, "local": cmd_local}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 120)
    try:
        return COMMANDS[args.command](args, console)
    except (CatalogError, GraphError, RenderError, TargetError, LocalEngineError, InstallError) as exc:
        Console(stderr=True, highlight=False).print(f"[bold red]error:[/bold red] {escape(str(exc))}")
        return EXIT_ERROR
    except Exception as exc:  # a database driver's error outside an object's apply: say it, exit 2
        if type(exc).__module__.split(".")[0] not in ("psycopg", "pyodbc"):
            raise
        Console(stderr=True, highlight=False).print(
            f"[bold red]database error:[/bold red] {escape(str(exc).strip())}")
        return EXIT_ERROR
