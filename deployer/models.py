"""Client commands for models: ingest-model, ingest-models, detect-format, export-model.

The file is read here (hartonomous_ext.model_formats, the same code dbo.sp_IngestModel runs in the
database) and bulk loaded in one transaction (PostgreSQL: COPY; SQL Server: fast_executemany into
a session temp table, then dbo.sp_StoreModel): the dbo.Models row, its layers, its
tensors, and the tensor bytes as content-addressed 1 MiB chunks (hartonomous_ext.model_store).
Chunks the database already holds are not sent again. Every run is a job in dbo.IngestionJobs; a
failure rolls the model back whole and leaves the job Failed with the reason.

Export reads the rows back into a ModelFile and writes it in the format asked for.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Callable

from deployer.engines.base import TargetError
from deployer.package import DB_ROOT

EXTERNAL_SCRIPTS = DB_ROOT / "external_scripts"
SEND_BATCH = 64 << 20  # bytes of chunks checked for presence and sent per round


def library():
    """hartonomous_ext, imported from the package source (the wheel the database runs is built from it)."""
    if str(EXTERNAL_SCRIPTS) not in sys.path:
        sys.path.insert(0, str(EXTERNAL_SCRIPTS))
    import hartonomous_ext.model_formats as formats
    import hartonomous_ext.model_store as store

    return formats, store


def detect_format(path: Path) -> str:
    formats, _ = library()
    return formats.detect(path)


def model_files(folder: Path, recursive: bool, extensions: list[str]) -> list[Path]:
    if not folder.is_dir():
        raise TargetError(f"{folder}: not a folder")
    pattern = folder.rglob("*") if recursive else folder.glob("*")
    wanted = {e.lower() if e.startswith(".") else f".{e.lower()}" for e in extensions}
    return sorted(p for p in pattern if p.is_file() and (not wanted or p.suffix.lower() in wanted))


# statements per engine: PostgreSQL (psycopg, %s) and SQL Server (pyodbc, ?)
SQL = {
    "postgresql": {
        "start": "INSERT INTO dbo.IngestionJobs (TenantId, JobType, Status, Source, StartedAt, Parameters) "
                 "VALUES (%s, 'model', 'Running', %s, now(), %s) RETURNING JobId",
        "existing": "SELECT ModelId FROM dbo.Models WHERE TenantId = %s AND SourceHash = %s",
        "failed": "UPDATE dbo.IngestionJobs SET Status = 'Failed', CompletedAt = now(), ErrorMessage = %s WHERE JobId = %s",
        "completed": "UPDATE dbo.IngestionJobs SET Status = 'Completed', CompletedAt = now(), TotalItems = %s, "
                     "AtomsProcessed = %s, Parameters = Parameters || %s::jsonb WHERE JobId = %s",
    },
    "mssql": {
        "start": "SET NOCOUNT ON; INSERT INTO dbo.IngestionJobs (TenantId, JobType, Status, Source, StartedAt, "
                 "Parameters) OUTPUT INSERTED.JobId VALUES (?, N'model', N'Running', ?, SYSUTCDATETIME(), ?);",
        "existing": "SELECT ModelId FROM dbo.Models WHERE TenantId = ? AND SourceHash = ?;",
        "failed": "UPDATE dbo.IngestionJobs SET Status = N'Failed', CompletedAt = SYSUTCDATETIME(), ErrorMessage = ? "
                  "WHERE JobId = ?;",
        "completed": "UPDATE dbo.IngestionJobs SET Status = N'Completed', CompletedAt = SYSUTCDATETIME(), "
                     "TotalItems = ?, AtomsProcessed = ?, Parameters = JSON_MODIFY(COALESCE(Parameters, N'{}'), "
                     "'$.result', JSON_QUERY(?)) WHERE JobId = ?;",
        "chunks_table": "IF OBJECT_ID(N'tempdb..#chunks') IS NOT NULL DROP TABLE #chunks; "
                        "CREATE TABLE #chunks (ChunkHash BINARY(32) NOT NULL, ByteSize INT NOT NULL, "
                        "Data VARBINARY(MAX) NOT NULL);",
        "put_chunk": "INSERT INTO #chunks (ChunkHash, ByteSize, Data) VALUES (?, ?, ?);",
        "store": "SET NOCOUNT ON; DECLARE @ModelId INT; EXEC dbo.sp_StoreModel @Manifest = ?, @TenantId = ?, "
                 "@ModelId = @ModelId OUTPUT; SELECT @ModelId;",
        "model": "SELECT ModelFormat, Architecture, ConfigJson, SourceHash, FormatSkeleton FROM dbo.Models "
                 "WHERE ModelId = ? AND TenantId = ?;",
        "tensors": "SELECT t.TensorName, t.DType, t.Shape, t.ByteSize, "
                   "STRING_AGG(CONVERT(NVARCHAR(MAX), CONVERT(NVARCHAR(64), c.ChunkHash, 2)), N',') "
                   "WITHIN GROUP (ORDER BY c.ChunkIndex) FROM dbo.ModelTensors AS t "
                   "LEFT JOIN dbo.ModelTensorChunks AS c ON c.TensorId = t.TensorId WHERE t.ModelId = ? "
                   "GROUP BY t.TensorId, t.TensorIndex, t.TensorName, t.DType, t.Shape, t.ByteSize ORDER BY t.TensorIndex;",
        "chunk": "SELECT Data FROM dbo.TensorChunks WHERE ChunkHash = ?;",
    },
}


class ModelClient:
    def __init__(self, engine):
        if engine.name not in SQL:
            raise TargetError(f"no model statements for engine {engine.name}")
        self.engine_name = engine.name
        self.sql = SQL[engine.name]
        self.conn = engine.conn

    def _one(self, name: str, *params):
        if self.engine_name == "mssql":
            return self.conn.execute(self.sql[name], *params).fetchone()
        return self.conn.execute(self.sql[name], params).fetchone()

    # ---- ingest ---------------------------------------------------------------------------------

    def ingest(self, path: Path, *, name: str | None = None, tenant: int = 0,
               progress: Callable[[int, int], None] | None = None) -> dict:
        """Ingest one model file; returns {"job", "model_id", "existing", "tensors", "bytes", "sent"}."""
        formats, store = library()
        path = path.resolve()
        job = int(self._one("start", tenant, str(path), json.dumps({"name": name}))[0])
        try:
            model = formats.read(path)
            rows = store.describe(model, name or path.stem)
            existing = self._one("existing", tenant, model.source_hash)
            if existing:
                result = {"model_id": existing[0], "existing": True, "tensors": len(rows.tensors),
                          "bytes": rows.model["total_bytes"], "sent": 0}
            elif self.engine_name == "mssql":
                result = self._load_mssql(rows, store, tenant, progress)
            else:
                with self.conn.transaction():
                    result = self._load(rows, store, tenant, progress)
        except Exception as exc:
            self._run("failed", str(exc)[:4000], job)
            raise
        self._run("completed", result["tensors"], result["tensors"],
                  json.dumps({"model_id": result["model_id"], "existing": result["existing"], "bytes": result["bytes"],
                              "bytes_sent": result["sent"], "format": model.format}), job)
        return {"job": job, **result}

    def _run(self, name: str, *params) -> None:
        if self.engine_name == "mssql":
            self.conn.execute(self.sql[name], *params)
        else:
            self.conn.execute(self.sql[name], params)

    def _load_mssql(self, rows, store, tenant: int, progress) -> dict:
        """SQL Server: the chunks the database lacks go into the session's #chunks with pyodbc's
        fast_executemany, then dbo.sp_StoreModel writes every row in one transaction."""
        import pyodbc

        cursor = self.conn.cursor()
        cursor.execute(self.sql["chunks_table"])
        cursor.fast_executemany = True
        # declared sizes: binary(32), int, varbinary(max) (size 0), so a 1 MiB chunk binds whole
        cursor.setinputsizes([(pyodbc.SQL_BINARY, 32, 0), (pyodbc.SQL_INTEGER, 0, 0), (pyodbc.SQL_VARBINARY, 0, 0)])
        total = rows.model["total_bytes"]
        sent = self._send_chunks(rows, store, progress, lambda missing: cursor.executemany(
            self.sql["put_chunk"], [(h, len(d), d) for h, d in missing]))
        model_id = self.conn.execute(self.sql["store"], store.manifest(rows), tenant).fetchone()[0]
        return {"model_id": model_id, "existing": False, "tensors": len(rows.tensors), "bytes": total, "sent": sent}

    def _send_chunks(self, rows, store, progress, send: Callable[[list[tuple[bytes, bytes]]], None]) -> int:
        """Stream every chunk of the model; in rounds of at most 64 chunks or SEND_BATCH bytes, ask the
        database which it already holds and hand the others to `send`. Returns the bytes sent."""
        placeholder = "%s" if self.engine_name == "postgresql" else "?"
        total, done, sent, buffered = rows.model["total_bytes"], 0, 0, 0
        pending: dict[bytes, bytes] = {}

        def flush() -> int:
            if not pending:
                return 0
            hashes = list(pending)
            marks = ", ".join([placeholder] * len(hashes))
            present = {bytes(r[0]) for r in self.conn.execute(
                f"SELECT ChunkHash FROM dbo.TensorChunks WHERE ChunkHash IN ({marks})",
                *([hashes] if self.engine_name == "postgresql" else hashes))}
            missing = [(h, d) for h, d in pending.items() if h not in present]
            if missing:
                send(missing)
            pending.clear()
            return sum(len(d) for _, d in missing)

        for _tensor, _index, chunk_hash, data in store.chunks(rows):
            if chunk_hash not in pending:
                pending[chunk_hash] = data
                buffered += len(data)
            done += len(data)
            if len(pending) >= 64 or buffered >= SEND_BATCH:  # 64 hashes: well under SQL Server's 2,100 parameters
                sent += flush()
                buffered = 0
            if progress:
                progress(done, total)
        return sent + flush()

    def _reserve_ids(self, table: str, column: str, count: int) -> list[int]:
        """Identity values taken ahead, so rows that refer to each other can go in by COPY."""
        return [r[0] for r in self.conn.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)", (table, column, count))]

    def _load(self, rows, store, tenant: int, progress) -> dict:
        conn, model = self.conn, rows.model
        model_id = conn.execute(
            "INSERT INTO dbo.Models (TenantId, ModelName, ModelFormat, Architecture, ParameterCount, ConfigJson, "
            "SourceHash, TensorCount, TotalBytes, FormatSkeleton) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
            "RETURNING ModelId",
            (tenant, model["name"], model["format"], model["architecture"], model["parameter_count"], model["config"],
             model["source_hash"], model["tensor_count"], model["total_bytes"], model["skeleton"])).fetchone()[0]
        layer_ids = self._reserve_ids("dbo.modellayers", "layerid", len(rows.layers))
        with conn.cursor().copy("COPY dbo.ModelLayers (LayerId, ModelId, LayerIndex, LayerName, LayerType, "
                                "ParameterCount) FROM STDIN") as copy:
            for layer, layer_id in zip(rows.layers, layer_ids):
                copy.write_row((layer_id, model_id, layer["index"], layer["name"], layer["type"], layer["parameter_count"]))
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS hartonomous_chunks (ChunkHash bytea, ByteSize integer, Data bytea) "
                     "ON COMMIT DROP")
        total = model["total_bytes"]

        def send(missing: list[tuple[bytes, bytes]]) -> None:
            with conn.cursor().copy("COPY hartonomous_chunks (ChunkHash, ByteSize, Data) FROM STDIN") as copy:
                for chunk_hash, data in missing:
                    copy.write_row((chunk_hash, len(data), data))
            conn.execute("INSERT INTO dbo.TensorChunks (ChunkHash, ByteSize, Data) SELECT ChunkHash, ByteSize, Data "
                         "FROM hartonomous_chunks ON CONFLICT (ChunkHash) DO NOTHING")
            conn.execute("TRUNCATE hartonomous_chunks")

        sent = self._send_chunks(rows, store, progress, send)
        tensor_ids = self._reserve_ids("dbo.modeltensors", "tensorid", len(rows.tensors))
        with conn.cursor().copy("COPY dbo.ModelTensors (TensorId, ModelId, LayerId, TensorIndex, TensorName, DType, "
                                "Shape, ElementCount, ByteSize, Sha256) FROM STDIN") as copy:
            for tensor, tensor_id in zip(rows.tensors, tensor_ids):
                copy.write_row((tensor_id, model_id, layer_ids[tensor.layer_index], tensor.index, tensor.name,
                                tensor.dtype, tensor.shape, tensor.element_count, tensor.byte_size, tensor.sha256))
        with conn.cursor().copy("COPY dbo.ModelTensorChunks (TensorId, ChunkIndex, ChunkHash) FROM STDIN") as copy:
            for tensor, tensor_id in zip(rows.tensors, tensor_ids):
                for index, chunk_hash in enumerate(tensor.chunk_hashes):
                    copy.write_row((tensor_id, index, chunk_hash))
        return {"model_id": model_id, "existing": False, "tensors": len(rows.tensors), "bytes": total, "sent": sent}

    # ---- export ---------------------------------------------------------------------------------

    def execute(self, sql: str, params: list) -> list[tuple]:
        """model_store's `execute` over psycopg ($1, $2 ... become %s, in order)."""
        return self.conn.execute(re.sub(r"\$\d+", "%s", sql), params).fetchall()

    def load(self, model_id: int, tenant: int = 0):
        """The stored model as a ModelFile whose tensors read their chunks from the database."""
        formats, store = library()
        try:
            if self.engine_name == "postgresql":
                return store.load(self.execute, model_id, tenant)
            row = self._one("model", model_id, tenant)
            if row is None:
                raise formats.FormatError(f"model {model_id} does not exist for tenant {tenant}")
            tensors = [{"name": t[0], "dtype": t[1], "shape": json.loads(t[2]), "byte_size": t[3],
                        "chunk_hashes": [bytes.fromhex(h) for h in (t[4] or "").split(",") if h]}
                       for t in self.conn.execute(self.sql["tensors"], model_id).fetchall()]
            model_row = {"format": row[0], "architecture": row[1], "config": row[2], "source_hash": row[3],
                         "skeleton": row[4]}
            return store.stored_model(model_row, tensors, lambda h: self._one("chunk", h)[0])
        except formats.FormatError as exc:
            raise TargetError(str(exc)) from None

    def export(self, model_id: int, out: Path, fmt: str | None = None, tenant: int = 0) -> Path:
        formats, _ = library()
        model = self.load(model_id, tenant)
        return formats.write(model, out, fmt)
