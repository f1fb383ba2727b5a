"""Atoms: put content in and find it again, through the database's own procedures (client room).

`ingest-embeddings` turns each line of a text file (or each file of a folder) into an atom with its
embedding, --batch-size items per call of dbo.sp_IngestAtoms (one round trip, one pass through the
model in the database; an item too large for a batch goes alone through dbo.sp_IngestAtom);
`query` calls dbo.sp_SemanticSearch. Both take --target
like publish. Nothing here computes anything itself: the database does the work, the client
feeds it and reports progress. The statements are the engine's (engine.data, deployer.engines).

A file of a folder (or a line of a file) that is not UTF-8 text (an image, an archive) is reported
and skipped, not fatal to the run: this command ingests text. A batch and the job's progress are
one transaction, so a run that stops loses no counted item and counts no item twice. An ingestion run is a row in dbo.IngestionJobs (Source =
the input's absolute path, progress in AtomsProcessed). A run that stopped (Failed, or Running when the client died) is resumed by the
next run over the same input: the items it finished are skipped, so no reference count is raised
twice.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from hartonomous_ext.policy import MAX_BATCH_ATOMS, MAX_BATCH_BYTES, MAX_CONTENT_BYTES

SUPPORTED_MODELS = ("all-MiniLM-L6-v2",)
MAX_ITEM_BYTES = MAX_CONTENT_BYTES  # what sp_IngestAtom accepts


@dataclass(frozen=True)
class Item:
    content: bytes
    content_type: str
    metadata: dict
    skipped: str | None = None  # why the item is not ingested (a file that is not text)


def items(source: Path) -> Iterator[Item]:
    """The atoms an input holds, in a stable order: non-empty lines of a file, or the files of a
    folder (recursively, sorted by path), a file that is not UTF-8 text marked skipped."""
    if source.is_dir():
        for path in sorted(p for p in source.rglob("*") if p.is_file()):
            size = path.stat().st_size
            if size == 0:
                continue
            name = str(path.relative_to(source))
            if size > MAX_ITEM_BYTES:
                yield Item(b"", "text/plain", {"source": name},
                           skipped=f"{size} bytes, more than the {MAX_ITEM_BYTES} an atom may hold")
                continue
            yield _text_item(path.read_bytes(), {"source": name})
    elif source.is_file():
        with source.open("rb") as handle:
            for number, line in enumerate(handle, start=1):
                text = line.rstrip(b"\r\n")
                if text.strip():
                    yield _text_item(text, {"source": source.name, "line": number})
    else:
        raise FileNotFoundError(f"{source}: no such file or folder")


def _text_item(content: bytes, metadata: dict) -> Item:
    try:
        content.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Item(b"", "text/plain", metadata, skipped=f"not UTF-8 text (byte {exc.start})")
    if b"\0" in content:
        return Item(b"", "text/plain", metadata, skipped="not text (it holds NUL bytes)")
    return Item(content, "text/plain", metadata)


def count_items(source: Path) -> int:
    return sum(1 for _ in items(source))


class AtomClient:
    def __init__(self, engine):
        self.data = engine.data

    def ingest(self, source: Path, *, tenant: int, batch_size: int, progress=None) -> dict:
        """Ingest every item of `source`, resuming an unfinished run; returns the job's figures."""
        source = source.resolve()
        total = count_items(source)
        previous = self.data.unfinished_embedding_job(str(source), tenant)
        if previous:
            job, done = previous
            self.data.restart_job(job, total)
        else:
            parameters = json.dumps({"model": SUPPORTED_MODELS[0], "batch_size": batch_size})
            job, done = self.data.start_embedding_job(tenant, str(source), total, parameters), 0
        resumed_after, ingested, skipped = done, 0, []
        if progress:
            progress(done, total)
        batch, batch_bytes = [], 0

        def send() -> None:
            nonlocal batch, batch_bytes, ingested
            if batch:
                self.data.ingest_atoms(json.dumps(batch), tenant, job, done)
                ingested += len(batch)
            else:
                self.data.job_progress(job, done)
            batch, batch_bytes = [], 0
            if progress:
                progress(done, total)

        try:
            for position, item in enumerate(items(source)):
                if position < resumed_after:
                    continue
                if item.skipped:
                    where = item.metadata["source"] + (f" line {item.metadata['line']}" if "line" in item.metadata else "")
                    skipped.append({"source": where, "reason": item.skipped})
                elif len(item.content) > MAX_BATCH_BYTES:
                    send()  # the items before it are counted first; then it goes alone
                    self.data.ingest_atom(item.content, item.content_type, json.dumps(item.metadata), tenant)
                    ingested += 1
                else:
                    if batch_bytes + len(item.content) > MAX_BATCH_BYTES:
                        send()
                    batch.append({"content": base64.b64encode(item.content).decode("ascii"),
                                  "contentType": item.content_type, "metadata": item.metadata})
                    batch_bytes += len(item.content)
                done += 1
                if len(batch) >= min(batch_size, MAX_BATCH_ATOMS) or (not batch and done % batch_size == 0):
                    send()
            send()
        except Exception as exc:
            where = f"items {done - len(batch) + 1}-{done}" if batch else f"item {done + 1}"
            self.data.finish_job(job, "Failed", f"{where}: {exc}"[:4000])
            raise
        self.data.finish_job(job, "Completed", None)
        return {"job": job, "total": total, "ingested": ingested, "resumed_after": resumed_after, "skipped": skipped}

    def query(self, text: str, *, top: int, hybrid: bool, tenant: int) -> list[dict]:
        return [{"rank": rank, "score": float(score), "atom_id": int(atom), "content_type": content_type,
                 "preview": preview}
                for rank, (atom, score, content_type, preview)
                in enumerate(self.data.semantic_search(text, top, hybrid, tenant), start=1)]
