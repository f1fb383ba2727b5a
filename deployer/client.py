"""Client commands: put content in and find it again, through the database's own procedures.

`ingest-embeddings` turns each line of a text file (or each file of a folder) into an atom with its
embedding by calling dbo.sp_IngestAtom; `query` calls dbo.sp_SemanticSearch. Both take --target
like publish. Nothing here computes anything itself: the database does the work, the client
feeds it and shows progress.

An ingestion run is a row in dbo.IngestionJobs (Source = the input's absolute path, progress in
AtomsProcessed). A run that stopped (Failed, or Running when the client died) is resumed by the
next run over the same input: the items it finished are skipped, so no reference count is raised
twice.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from deployer.engines.base import TargetError

SUPPORTED_MODELS = ("all-MiniLM-L6-v2",)
MAX_ITEM_BYTES = 268435456  # what sp_IngestAtom accepts

# statements per engine: PostgreSQL (psycopg, %s) and SQL Server (pyodbc, ?)
SQL = {
    "postgresql": {
        "resume": "SELECT JobId, AtomsProcessed FROM dbo.IngestionJobs WHERE JobType = 'embeddings' "
                  "AND Source = %s AND TenantId = %s AND Status IN ('Running', 'Failed') ORDER BY JobId DESC LIMIT 1",
        "start": "INSERT INTO dbo.IngestionJobs (TenantId, JobType, Status, Source, TotalItems, StartedAt, Parameters) "
                 "VALUES (%s, 'embeddings', 'Running', %s, %s, now(), %s) RETURNING JobId",
        "restart": "UPDATE dbo.IngestionJobs SET Status = 'Running', ErrorMessage = NULL, TotalItems = %s "
                   "WHERE JobId = %s",
        "ingest": "CALL dbo.sp_IngestAtom(%s, %s, %s, %s, true)",
        "progress": "UPDATE dbo.IngestionJobs SET AtomsProcessed = %s WHERE JobId = %s",
        "finish": "UPDATE dbo.IngestionJobs SET Status = %s, ErrorMessage = %s, CompletedAt = now() WHERE JobId = %s",
        "query": "SELECT AtomId, Score, ContentType, Preview FROM dbo.sp_SemanticSearch(query_text => %s, "
                 "top_k => %s, use_hybrid => %s, TenantId => %s)",
    },
    "mssql": {
        "resume": "SELECT TOP (1) JobId, AtomsProcessed FROM dbo.IngestionJobs WHERE JobType = N'embeddings' "
                  "AND Source = ? AND TenantId = ? AND Status IN (N'Running', N'Failed') ORDER BY JobId DESC;",
        "start": "SET NOCOUNT ON; INSERT INTO dbo.IngestionJobs (TenantId, JobType, Status, Source, TotalItems, "
                 "StartedAt, Parameters) OUTPUT INSERTED.JobId VALUES (?, N'embeddings', N'Running', ?, ?, "
                 "SYSUTCDATETIME(), ?);",
        "restart": "UPDATE dbo.IngestionJobs SET Status = N'Running', ErrorMessage = NULL, TotalItems = ? "
                   "WHERE JobId = ?;",
        "ingest": "EXEC dbo.sp_IngestAtom @Content = ?, @ContentType = ?, @Metadata = ?, @TenantId = ?, "
                  "@GenerateEmbedding = 1;",
        "progress": "UPDATE dbo.IngestionJobs SET AtomsProcessed = ? WHERE JobId = ?;",
        "finish": "UPDATE dbo.IngestionJobs SET Status = ?, ErrorMessage = ?, CompletedAt = SYSUTCDATETIME() "
                  "WHERE JobId = ?;",
        "query": "EXEC dbo.sp_SemanticSearch @query_text = ?, @top_k = ?, @use_hybrid = ?, @TenantId = ?;",
    },
}


@dataclass(frozen=True)
class Item:
    content: bytes
    content_type: str
    metadata: dict


def items(source: Path) -> Iterator[Item]:
    """The atoms an input holds, in a stable order: non-empty lines of a file, or the files of a
    folder (recursively, sorted by path)."""
    if source.is_dir():
        for path in sorted(p for p in source.rglob("*") if p.is_file()):
            size = path.stat().st_size
            if size == 0:
                continue
            if size > MAX_ITEM_BYTES:
                raise ValueError(f"{path}: {size} bytes, more than the {MAX_ITEM_BYTES} an atom may hold")
            yield Item(path.read_bytes(), "text/plain", {"source": str(path.relative_to(source))})
    elif source.is_file():
        with source.open("rb") as handle:
            for number, line in enumerate(handle, start=1):
                text = line.rstrip(b"\r\n")
                if text.strip():
                    yield Item(text, "text/plain", {"source": source.name, "line": number})
    else:
        raise FileNotFoundError(f"{source}: no such file or folder")


def count_items(source: Path) -> int:
    return sum(1 for _ in items(source))


class Client:
    def __init__(self, engine):
        if engine.name not in SQL:
            raise TargetError(f"no client statements for engine {engine.name}")
        self.engine = engine
        self.sql = SQL[engine.name]

    def _one(self, name: str, *params):
        return self.engine.conn.execute(self.sql[name], params).fetchone()

    def _run(self, name: str, *params) -> None:
        self.engine.conn.execute(self.sql[name], params)

    def ingest(self, source: Path, *, tenant: int, batch_size: int, progress=None) -> dict:
        """Ingest every item of `source`, resuming an unfinished run; returns the job's figures."""
        source = source.resolve()
        total = count_items(source)
        previous = self._one("resume", str(source), tenant)
        if previous:
            job, done = int(previous[0]), int(previous[1])
            self._run("restart", total, job)
        else:
            parameters = json.dumps({"model": SUPPORTED_MODELS[0], "batch_size": batch_size})
            job, done = int(self._one("start", tenant, str(source), total, parameters)[0]), 0
        skipped = done
        if progress:
            progress(done, total)
        try:
            for position, item in enumerate(items(source)):
                if position < skipped:
                    continue
                self._run("ingest", item.content, item.content_type, json.dumps(item.metadata), tenant)
                done += 1
                if done % batch_size == 0 or done == total:
                    self._run("progress", done, job)
                    if progress:
                        progress(done, total)
        except Exception as exc:
            self._run("progress", done, job)
            self._run("finish", "Failed", f"item {done + 1}: {exc}"[:4000], job)
            raise
        self._run("progress", done, job)
        self._run("finish", "Completed", None, job)
        return {"job": job, "total": total, "ingested": done - skipped, "resumed_after": skipped}

    def query(self, text: str, *, top: int, use_spatial: bool, tenant: int) -> list[dict]:
        cursor = self.engine.conn.execute(self.sql["query"], (text, top, use_spatial, tenant))
        while cursor.description is None and self.engine.name == "mssql" and cursor.nextset():
            pass
        return [{"rank": rank, "score": float(score), "atom_id": int(atom), "content_type": content_type,
                 "preview": preview}
                for rank, (atom, score, content_type, preview) in enumerate(cursor.fetchall(), start=1)]
