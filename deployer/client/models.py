"""Model files: ingest-model, ingest-models, detect-format, export-model (client room).

The file is read here (hartonomous_ext.model_formats, the same code dbo.sp_IngestModel runs in the
database) and bulk loaded in one transaction by the engine (engine.data.model_load: PostgreSQL
COPY; SQL Server fast_executemany into a session temp table, then dbo.sp_StoreModel): the
dbo.Models row, its layers, its tensors, and the tensor bytes as content-addressed 1 MiB chunks
(hartonomous_ext.model_store). Chunks the database already holds are not sent again. Every run is
a job in dbo.IngestionJobs; a failure rolls the model back whole and leaves the job Failed with
the reason.

Export reads the rows back into a ModelFile and writes it in the format asked for.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import hartonomous_ext.model_formats as formats
import hartonomous_ext.model_store as store

from deployer.engines.base import TargetError

SEND_BATCH = 64 << 20  # bytes of chunks checked for presence and sent per round


def detect_format(path: Path) -> str:
    return formats.detect(path)


def model_files(folder: Path, recursive: bool, extensions: list[str]) -> list[Path]:
    if not folder.is_dir():
        raise TargetError(f"{folder}: not a folder")
    pattern = folder.rglob("*") if recursive else folder.glob("*")
    wanted = {e.lower() if e.startswith(".") else f".{e.lower()}" for e in extensions}
    return sorted(p for p in pattern if p.is_file() and (not wanted or p.suffix.lower() in wanted))


class ModelClient:
    def __init__(self, engine):
        self.data = engine.data

    def ingest(self, path: Path, *, name: str | None = None, tenant: int = 0,
               progress: Callable[[int, int], None] | None = None) -> dict:
        """Ingest one model file; returns {"job", "model_id", "existing", "tensors", "bytes", "sent"}."""
        path = path.resolve()
        job = self.data.start_model_job(tenant, str(path), json.dumps({"name": name}))
        try:
            model = formats.read(path)
            rows = store.describe(model, name or path.stem)
            existing = self.data.model_by_source(tenant, model.source_hash)
            if existing:
                result = {"model_id": existing, "existing": True, "tensors": len(rows.tensors),
                          "bytes": rows.model["total_bytes"], "sent": 0}
            else:
                with self.data.model_load(tenant) as load:
                    sent = _send_chunks(rows, load, progress)
                    model_id = load.store(rows, store)
                result = {"model_id": model_id, "existing": False, "tensors": len(rows.tensors),
                          "bytes": rows.model["total_bytes"], "sent": sent}
        except Exception as exc:
            self.data.fail_model_job(job, str(exc)[:4000])
            raise
        self.data.complete_model_job(job, result["tensors"], json.dumps({
            "model_id": result["model_id"], "existing": result["existing"], "bytes": result["bytes"],
            "bytes_sent": result["sent"], "format": model.format}))
        return {"job": job, **result}

    def load(self, model_id: int, tenant: int = 0):
        """The stored model as a ModelFile whose tensors read their chunks from the database."""
        try:
            return self.data.stored_model(model_id, tenant, store)
        except formats.FormatError as exc:
            raise TargetError(str(exc)) from None

    def export(self, model_id: int, out: Path, fmt: str | None = None, tenant: int = 0) -> Path:
        return formats.write(self.load(model_id, tenant), out, fmt)


def _send_chunks(rows, load, progress) -> int:
    """Stream every chunk of the model; in rounds of at most load.chunk_round chunks or SEND_BATCH
    bytes, ask the database which it already holds and send the others, each chunk once (a chunk
    that repeats in a later round, such as identical tensors, is neither asked about nor sent
    again). Returns the bytes sent."""
    total, done, sent, buffered = rows.model["total_bytes"], 0, 0, 0
    pending: dict[bytes, bytes] = {}
    handled: set[bytes] = set()  # present in the database or sent in an earlier round

    def flush() -> int:
        if not pending:
            return 0
        present = load.chunks_present(list(pending))
        missing = [(h, d) for h, d in pending.items() if h not in present]
        if missing:
            load.put_chunks(missing)
        handled.update(pending)
        pending.clear()
        return sum(len(d) for _, d in missing)

    for _tensor, _index, chunk_hash, data in store.chunks(rows):
        if chunk_hash not in pending and chunk_hash not in handled:
            pending[chunk_hash] = data
            buffered += len(data)
        done += len(data)
        if len(pending) >= load.chunk_round or buffered >= SEND_BATCH:
            sent += flush()
            buffered = 0
        if progress:
            progress(done, total)
    return sent + flush()
