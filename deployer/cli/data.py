"""The data commands: ingest-embeddings, query, ingest-model, ingest-models, detect-format,
export-model. Thin: arguments in, the client room (deployer.client) does the work through the
target's engine, the report room prints.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from deployer.cli.common import EXIT_FAILED, EXIT_OK, open_existing, target_options
from deployer.engines.base import TargetError
from deployer.report.progress import progress_bar
from deployer.report.tables import atoms_ingested, model_ingested, search_table


def add_commands(commands) -> None:
    target = target_options()

    ingest = commands.add_parser("ingest-embeddings", parents=[target],
                                 help="ingest each line of a text file (or each file of a folder) as an atom "
                                      "with its embedding")
    ingest.add_argument("--input", type=Path, required=True, help="a text file (one atom per line) or a folder")
    ingest.add_argument("--model", default="all-MiniLM-L6-v2", help="the embedding model (default: %(default)s)")
    ingest.add_argument("--batch-size", type=int, default=100,
                        help="record progress every N atoms (default: %(default)s)")
    ingest.add_argument("--tenant", type=int, default=0)
    ingest.set_defaults(run=cmd_ingest_embeddings)

    query = commands.add_parser("query", parents=[target], help="semantic search: the atoms closest in meaning to a text")
    query.add_argument("--text", required=True)
    query.add_argument("--top", type=int, default=10)
    query.add_argument("--hybrid", choices=("true", "false"), default="true",
                       help="hybrid search: an index pre-filter, then exact rerank (true), or an exact scan (false)")
    # the name this option had before; it always chose hybrid against exact, not the spatial index
    query.add_argument("--use-spatial", dest="hybrid", choices=("true", "false"), help=argparse.SUPPRESS)
    query.add_argument("--tenant", type=int, default=0)
    query.add_argument("--format", choices=("text", "json"), default="text")
    query.set_defaults(run=cmd_query)

    ingest_model = commands.add_parser("ingest-model", parents=[target],
                                       help="ingest a model file (ONNX, safetensors, PyTorch, GGUF) into the "
                                            "database's tables")
    ingest_model.add_argument("path", type=Path, help="the model file (for sharded safetensors: its index json)")
    ingest_model.add_argument("--name", default=None, help="the model's name (default: the file name)")
    ingest_model.add_argument("--tenant", type=int, default=0)
    ingest_model.set_defaults(run=cmd_ingest_model)

    ingest_models = commands.add_parser("ingest-models", parents=[target], help="ingest every model file of a folder")
    ingest_models.add_argument("folder", type=Path)
    ingest_models.add_argument("--recursive", action="store_true")
    ingest_models.add_argument("--extensions", default=".onnx,.safetensors,.bin,.pt,.pth,.gguf",
                               help="comma-separated file endings to take (default: %(default)s)")
    ingest_models.add_argument("--tenant", type=int, default=0)
    ingest_models.set_defaults(run=cmd_ingest_models)

    detect = commands.add_parser("detect-format", help="a model file's format, from its content")
    detect.add_argument("path", type=Path)
    detect.set_defaults(run=cmd_detect_format)

    export = commands.add_parser("export-model", parents=[target], help="write a stored model's tensors back to a file")
    export.add_argument("model_id", type=int)
    export.add_argument("--format", choices=("onnx", "safetensors", "pytorch", "gguf"), default=None,
                        help="the file format (default: the format it was ingested from)")
    export.add_argument("--out", type=Path, required=True)
    export.add_argument("--tenant", type=int, default=0)
    export.set_defaults(run=cmd_export_model)


def _error(text: str) -> None:
    Console(stderr=True, highlight=False).print(f"[bold red]error:[/bold red] {escape(text)}")


def cmd_ingest_embeddings(args, console: Console) -> int:
    from deployer.client.atoms import SUPPORTED_MODELS, AtomClient, count_items

    if args.model not in SUPPORTED_MODELS:
        raise TargetError(f"model {args.model!r} cannot embed yet; supported: {', '.join(SUPPORTED_MODELS)}")
    if args.batch_size < 1:
        raise TargetError("--batch-size must be at least 1")
    if not args.input.exists():
        raise TargetError(f"{args.input}: no such file or folder")
    engine = open_existing(args)
    try:
        with progress_bar(console, "ingesting", total=count_items(args.input)) as bar:
            result = AtomClient(engine).ingest(args.input, tenant=args.tenant, batch_size=args.batch_size,
                                               progress=bar.update)
    finally:
        engine.close()
    console.print(atoms_ingested(result), markup=False)
    return EXIT_OK


def cmd_query(args, console: Console) -> int:
    from deployer.client.atoms import AtomClient

    engine = open_existing(args)
    try:
        results = AtomClient(engine).query(args.text, top=args.top, hybrid=args.hybrid == "true", tenant=args.tenant)
    finally:
        engine.close()
    if args.format == "json":
        print(json.dumps(results, indent=2))
    else:
        console.print(search_table(args.text, results))
    return EXIT_OK


def _ingest_models(engine, paths: list[Path], args, console: Console) -> int:
    from hartonomous_ext.model_formats import FormatError

    from deployer.client.models import ModelClient

    client, failures = ModelClient(engine), 0
    for path in paths:
        try:
            with progress_bar(console, path.name, percent=True) as bar:
                result = client.ingest(path, name=getattr(args, "name", None), tenant=args.tenant,
                                       progress=bar.update)
        except FormatError as exc:
            failures += 1
            console.print(f"[bold red]failed:[/bold red] {escape(str(exc))}", soft_wrap=True)
            continue
        console.print(model_ingested(path, result), markup=False, soft_wrap=True)
    return EXIT_FAILED if failures else EXIT_OK


def cmd_ingest_model(args, console: Console) -> int:
    engine = open_existing(args)
    try:
        return _ingest_models(engine, [args.path], args, console)
    finally:
        engine.close()


def cmd_ingest_models(args, console: Console) -> int:
    from deployer.client.models import model_files

    paths = model_files(args.folder, args.recursive, [e.strip() for e in args.extensions.split(",") if e.strip()])
    if not paths:
        raise TargetError(f"{args.folder}: no files ending in {args.extensions}")
    engine = open_existing(args)
    try:
        return _ingest_models(engine, paths, args, console)
    finally:
        engine.close()


def cmd_detect_format(args, console: Console) -> int:
    from hartonomous_ext.model_formats import FormatError

    from deployer.client.models import detect_format

    try:
        print(detect_format(args.path))
    except FormatError as exc:
        _error(str(exc))
        return EXIT_FAILED
    return EXIT_OK


def cmd_export_model(args, console: Console) -> int:
    from hartonomous_ext.model_formats import FormatError

    from deployer.client.models import ModelClient

    engine = open_existing(args)
    try:
        out = ModelClient(engine).export(args.model_id, args.out, args.format, tenant=args.tenant)
    except FormatError as exc:
        _error(str(exc))
        return EXIT_FAILED
    finally:
        engine.close()
    console.print(f"model {args.model_id} written to {escape(str(out))}")
    return EXIT_OK
