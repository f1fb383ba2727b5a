"""PostgreSQL's data operations: what the client commands ask of a connected target
(deployer.engines.base.DataOperations), over one psycopg connection.

Jobs are rows of dbo.IngestionJobs; atoms go in through dbo.sp_IngestAtom and come back through
dbo.sp_SemanticSearch; a model is bulk loaded with COPY in one transaction (its chunks through a
temporary table, so a chunk another model already stored is skipped by ON CONFLICT), and read
back with hartonomous_ext.model_store's own queries.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from typing import Iterator

import psycopg

EMBEDDING_JOB_RESUME = ("SELECT IngestionJobId, AtomsProcessed FROM dbo.IngestionJobs WHERE JobType = 'embeddings' "
                        "AND Source = %s AND TenantId = %s AND Status IN ('Running', 'Failed') "
                        "ORDER BY IngestionJobId DESC LIMIT 1")
EMBEDDING_JOB_START = ("INSERT INTO dbo.IngestionJobs (TenantId, JobType, Status, Source, TotalItems, StartTime, "
                       "Parameters) VALUES (%s, 'embeddings', 'Running', %s, %s, now(), %s) RETURNING IngestionJobId")
JOB_RESTART = "UPDATE dbo.IngestionJobs SET Status = 'Running', ErrorMessage = NULL, TotalItems = %s WHERE IngestionJobId = %s"
INGEST_ATOM = "CALL dbo.sp_IngestAtom(%s, %s, %s, %s, true)"
JOB_PROGRESS = "UPDATE dbo.IngestionJobs SET AtomsProcessed = %s WHERE IngestionJobId = %s"
JOB_FINISH = "UPDATE dbo.IngestionJobs SET Status = %s, ErrorMessage = %s, EndTime = now() WHERE IngestionJobId = %s"
SEMANTIC_SEARCH = ("SELECT AtomId, Score, ContentType, Preview FROM dbo.sp_SemanticSearch(query_text => %s, "
                   "top_k => %s, use_hybrid => %s, TenantId => %s)")
MODEL_JOB_START = ("INSERT INTO dbo.IngestionJobs (TenantId, JobType, Status, Source, StartTime, Parameters) "
                   "VALUES (%s, 'model', 'Running', %s, now(), %s) RETURNING IngestionJobId")
MODEL_BY_SOURCE = "SELECT ModelId FROM dbo.Models WHERE TenantId = %s AND SourceHash = %s"
MODEL_JOB_FAILED = ("UPDATE dbo.IngestionJobs SET Status = 'Failed', EndTime = now(), ErrorMessage = %s "
                    "WHERE IngestionJobId = %s")
MODEL_JOB_COMPLETED = ("UPDATE dbo.IngestionJobs SET Status = 'Completed', EndTime = now(), TotalItems = %s, "
                       "AtomsProcessed = %s, Parameters = Parameters || %s::jsonb WHERE IngestionJobId = %s")
CHUNKS_PRESENT = "SELECT ChunkHash FROM dbo.TensorChunks WHERE ChunkHash = ANY(%s)"
RESERVE_IDS = "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)"


class PostgresData:
    def __init__(self, conn: psycopg.Connection):
        self.conn = conn

    def _one(self, statement: str, *params):
        return self.conn.execute(statement, params).fetchone()

    # jobs ------------------------------------------------------------------------------------
    def unfinished_embedding_job(self, source: str, tenant: int) -> tuple[int, int] | None:
        row = self._one(EMBEDDING_JOB_RESUME, source, tenant)
        return (int(row[0]), int(row[1])) if row else None

    def start_embedding_job(self, tenant: int, source: str, total: int, parameters: str) -> int:
        return int(self._one(EMBEDDING_JOB_START, tenant, source, total, parameters)[0])

    def restart_job(self, job: int, total: int) -> None:
        self.conn.execute(JOB_RESTART, (total, job))

    def job_progress(self, job: int, done: int) -> None:
        self.conn.execute(JOB_PROGRESS, (done, job))

    def finish_job(self, job: int, status: str, error: str | None) -> None:
        self.conn.execute(JOB_FINISH, (status, error, job))

    def start_model_job(self, tenant: int, source: str, parameters: str) -> int:
        return int(self._one(MODEL_JOB_START, tenant, source, parameters)[0])

    def fail_model_job(self, job: int, error: str) -> None:
        self.conn.execute(MODEL_JOB_FAILED, (error, job))

    def complete_model_job(self, job: int, tensors: int, result: str) -> None:
        self.conn.execute(MODEL_JOB_COMPLETED, (tensors, tensors, result, job))

    # atoms and search ------------------------------------------------------------------------
    def ingest_atom(self, content: bytes, content_type: str, metadata: str, tenant: int) -> None:
        self.conn.execute(INGEST_ATOM, (content, content_type, metadata, tenant))

    def semantic_search(self, text: str, top: int, hybrid: bool, tenant: int) -> list[tuple]:
        return self.conn.execute(SEMANTIC_SEARCH, (text, top, hybrid, tenant)).fetchall()

    # models ----------------------------------------------------------------------------------
    def model_by_source(self, tenant: int, source_hash: str) -> int | None:
        row = self._one(MODEL_BY_SOURCE, tenant, source_hash)
        return row[0] if row else None

    @contextmanager
    def model_load(self, tenant: int) -> Iterator["PostgresModelLoad"]:
        with self.conn.transaction():
            yield PostgresModelLoad(self.conn, tenant)

    def stored_model(self, model_id: int, tenant: int, store):
        def execute(statement: str, params: list) -> list[tuple]:
            # model_store writes $1, $2 ... (plpython's placeholders); psycopg takes %s, in order
            return self.conn.execute(re.sub(r"\$\d+", "%s", statement), params).fetchall()

        return store.load(execute, model_id, tenant)


class PostgresModelLoad:
    """One model's rows, inside the transaction model_load opened."""

    chunk_round = 64

    def __init__(self, conn: psycopg.Connection, tenant: int):
        self.conn, self.tenant = conn, tenant
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS hartonomous_chunks (ChunkHash bytea, ByteSize integer, "
                     "Data bytea) ON COMMIT DROP")

    def chunks_present(self, hashes: list[bytes]) -> set[bytes]:
        return {bytes(r[0]) for r in self.conn.execute(CHUNKS_PRESENT, (hashes,))}

    def put_chunks(self, chunks: list[tuple[bytes, bytes]]) -> None:
        with self.conn.cursor().copy("COPY hartonomous_chunks (ChunkHash, ByteSize, Data) FROM STDIN") as copy:
            for chunk_hash, data in chunks:
                copy.write_row((chunk_hash, len(data), data))
        self.conn.execute("INSERT INTO dbo.TensorChunks (ChunkHash, ByteSize, Data) SELECT ChunkHash, ByteSize, Data "
                          "FROM hartonomous_chunks ON CONFLICT (ChunkHash) DO NOTHING")
        self.conn.execute("TRUNCATE hartonomous_chunks")

    def _reserve_ids(self, table: str, column: str, count: int) -> list[int]:
        """Identity values taken ahead, so rows that refer to each other can go in by COPY."""
        return [r[0] for r in self.conn.execute(RESERVE_IDS, (table, column, count))]

    def store(self, rows, store) -> int:
        conn, model = self.conn, rows.model
        model_id = conn.execute(
            "INSERT INTO dbo.Models (TenantId, ModelName, ModelFormat, Architecture, ParameterCount, Config, "
            "SourceHash, TensorCount, TotalBytes, FormatSkeleton) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
            "RETURNING ModelId",
            (self.tenant, model["name"], model["format"], model["architecture"], model["parameter_count"],
             model["config"], model["source_hash"], model["tensor_count"], model["total_bytes"],
             model["skeleton"])).fetchone()[0]
        layer_ids = self._reserve_ids("dbo.modellayers", "layerid", len(rows.layers))
        with conn.cursor().copy("COPY dbo.ModelLayers (LayerId, ModelId, LayerIndex, LayerName, LayerType, "
                                "ParameterCount) FROM STDIN") as copy:
            for layer, layer_id in zip(rows.layers, layer_ids):
                copy.write_row((layer_id, model_id, layer["index"], layer["name"], layer["type"],
                                layer["parameter_count"]))
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
        return model_id
