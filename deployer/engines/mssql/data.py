"""SQL Server's data operations: what the client commands ask of a connected target
(deployer.engines.base.DataOperations), over one pyodbc connection.

The statements are in .statements (the T-SQL gate checks them). A model's chunks the database
lacks go into the session's #chunks with pyodbc's fast_executemany; dbo.sp_StoreModel then
writes every row of the model in one transaction.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from typing import Iterator

from deployer.engines.mssql.statements import (
    CHUNK_ROUND, CHUNK_SQL, CHUNKS_PRESENT_SQL, CHUNKS_TABLE_SQL, DROP_CHUNKS_TABLE_SQL, EMBEDDING_JOB_RESTART_SQL, EMBEDDING_JOB_RESUME_SQL,
    EMBEDDING_JOB_START_SQL, HEALTH_SQL, INGEST_ATOM_SQL, INGEST_ATOMS_SQL, JOB_FINISH_SQL, JOB_PROGRESS_SQL, LOOP_START_SQL,
    LOOP_STOP_SQL, MODEL_BY_SOURCE_SQL, MODEL_JOB_COMPLETED_SQL, MODEL_JOB_FAILED_SQL, MODEL_JOB_START_SQL, MODEL_SQL,
    MODEL_TENSORS_SQL, PUT_CHUNK_SQL, SEMANTIC_SEARCH_SQL, STORE_MODEL_SQL,
)


def _results(cursor) -> list[tuple]:
    """The rows of the first result set that has columns, after reading every result to the end:
    the ODBC driver raises an error that follows a row count or a result set (a THROW after the
    external script, a failed INSERT of the request record) only when the results are read."""
    rows: list[tuple] | None = None
    while True:
        if rows is None and cursor.description is not None:
            rows = [tuple(row) for row in cursor.fetchall()]
        if not cursor.nextset():
            return rows or []



@contextmanager
def odbc_transaction(conn) -> Iterator[None]:
    """The statements inside as one transaction on a pyodbc connection that is otherwise autocommit:
    committed at the end, rolled back on any error, autocommit again afterwards."""
    conn.autocommit = False
    try:
        yield
        conn.commit()
    except Exception:
        conn.rollback()
        raise
    finally:
        conn.autocommit = True

class MssqlData:
    def __init__(self, conn):
        self.conn = conn

    def _one(self, statement: str, *params):
        return self.conn.execute(statement, *params).fetchone()

    # jobs ------------------------------------------------------------------------------------
    def unfinished_embedding_job(self, source: str, tenant: int) -> tuple[int, int] | None:
        row = self._one(EMBEDDING_JOB_RESUME_SQL, source, tenant)
        return (int(row[0]), int(row[1])) if row else None

    def start_embedding_job(self, tenant: int, source: str, total: int, parameters: str) -> int:
        return int(self._one(EMBEDDING_JOB_START_SQL, tenant, source, total, parameters)[0])

    def restart_job(self, job: int, total: int) -> None:
        self.conn.execute(EMBEDDING_JOB_RESTART_SQL, total, job)

    def job_progress(self, job: int, done: int) -> None:
        self.conn.execute(JOB_PROGRESS_SQL, done, job)

    def finish_job(self, job: int, status: str, error: str | None) -> None:
        self.conn.execute(JOB_FINISH_SQL, status, error, job)

    def start_model_job(self, tenant: int, source: str, parameters: str) -> int:
        return int(self._one(MODEL_JOB_START_SQL, tenant, source, parameters)[0])

    def fail_model_job(self, job: int, error: str) -> None:
        self.conn.execute(MODEL_JOB_FAILED_SQL, error, job)

    def complete_model_job(self, job: int, tensors: int, result: str) -> None:
        self.conn.execute(MODEL_JOB_COMPLETED_SQL, tensors, tensors, result, job)

    # atoms and search ------------------------------------------------------------------------
    def ingest_atom(self, content: bytes, content_type: str, metadata: str, tenant: int) -> None:
        _results(self.conn.execute(INGEST_ATOM_SQL, content, content_type, metadata, tenant))

    def ingest_atoms(self, atoms: str, tenant: int, job: int, done: int) -> list[tuple]:
        with odbc_transaction(self.conn):
            rows = _results(self.conn.execute(INGEST_ATOMS_SQL, atoms, tenant))
            self.conn.execute(JOB_PROGRESS_SQL, done, job)
        return rows

    def semantic_search(self, text: str, top: int, hybrid: bool, tenant: int) -> list[tuple]:
        return _results(self.conn.execute(SEMANTIC_SEARCH_SQL, text, top, hybrid, tenant))

    # the autonomous loop ----------------------------------------------------------------------
    # Service Broker activation runs the phases (dbo.sp_<Phase> on its queue), switched on and off
    # with the loop by the procedures themselves: nothing to schedule outside the database
    def start_loop(self, unless_stopped: bool = False) -> list[tuple[str, str]]:
        message, started = _results(self.conn.execute(LOOP_START_SQL, int(unless_stopped)))[0]
        if not started:
            return [("loop", "left switched off: an operator stopped it (python -m deployer loop start to resume)")]
        return [("loop", "switched on (dbo.AutonomousLoopSettings.Enabled = 1)"),
                ("message", f"AnalyzeMessage {message} queued" if message is not None
                 else "an AnalyzeMessage was already queued"),
                ("activation", "Service Broker activation on: AnalyzeQueue runs dbo.sp_Analyze, HypothesizeQueue "
                               "dbo.sp_Hypothesize, ActQueue dbo.sp_Act, LearnQueue dbo.sp_Learn")]

    def stop_loop(self) -> list[tuple[str, str]]:
        _results(self.conn.execute(LOOP_STOP_SQL))
        return [("loop", "switched off (dbo.AutonomousLoopSettings.Enabled = 0)"),
                ("activation", "Service Broker activation off on the four queues; their messages wait")]

    def health(self) -> list[tuple[str, str, str]]:
        return [(str(c), str(s), str(d)) for c, s, d in _results(self.conn.execute(HEALTH_SQL))]

    # models ----------------------------------------------------------------------------------
    def model_by_source(self, tenant: int, source_hash: str) -> int | None:
        row = self._one(MODEL_BY_SOURCE_SQL, tenant, source_hash)
        return row[0] if row else None

    @contextmanager
    def model_load(self, tenant: int) -> Iterator["MssqlModelLoad"]:
        # dbo.sp_StoreModel is the one transaction; #chunks is the session's, dropped when done
        load = MssqlModelLoad(self.conn, tenant)
        try:
            yield load
        finally:
            load.cursor.close()
            self.conn.execute(DROP_CHUNKS_TABLE_SQL)

    def stored_model(self, model_id: int, tenant: int, store):
        return store.load(MssqlStoredModels(self.conn), model_id, tenant)


class MssqlStoredModels:
    """hartonomous_ext.model_store.StoredModels for the client: the database's own reader
    (dbo.fn_StoredModel, dbo.fn_StoredModelTensors, dbo.fn_TensorChunk), as the procedures use it.
    SQL Server keeps a shape and a tensor's chunk hashes as JSON text."""

    def __init__(self, conn):
        self.conn = conn

    def model(self, model_id: int, tenant: int) -> tuple | None:
        row = self.conn.execute(MODEL_SQL, model_id, tenant).fetchone()
        return None if row is None else tuple(row)

    def tensors(self, model_id: int) -> list[tuple]:
        return [(name, dtype, json.loads(shape), byte_size, [bytes.fromhex(h) for h in json.loads(hashes)])
                for name, dtype, shape, byte_size, hashes in self.conn.execute(MODEL_TENSORS_SQL, model_id).fetchall()]

    def chunk(self, chunk_hash: bytes) -> bytes | None:
        row = self.conn.execute(CHUNK_SQL, chunk_hash).fetchone()
        return None if row is None or row[0] is None else bytes(row[0])


class MssqlModelLoad:
    chunk_round = CHUNK_ROUND

    def __init__(self, conn, tenant: int):
        import pyodbc

        self.conn, self.tenant = conn, tenant
        self.cursor = conn.cursor()
        self.cursor.execute(CHUNKS_TABLE_SQL)
        self.cursor.fast_executemany = True
        # declared sizes: binary(32), int, varbinary(max) (size 0), so a 1 MiB chunk binds whole
        self.cursor.setinputsizes([(pyodbc.SQL_BINARY, 32, 0), (pyodbc.SQL_INTEGER, 0, 0),
                                   (pyodbc.SQL_VARBINARY, 0, 0)])

    def chunks_present(self, hashes: list[bytes]) -> set[bytes]:
        present: set[bytes] = set()
        for start in range(0, len(hashes), CHUNK_ROUND):
            part = hashes[start:start + CHUNK_ROUND]
            padded = part + [part[0]] * (CHUNK_ROUND - len(part))  # the statement takes CHUNK_ROUND hashes
            present.update(bytes(r[0]) for r in self.conn.execute(CHUNKS_PRESENT_SQL, *padded))
        return present

    def put_chunks(self, chunks: list[tuple[bytes, bytes]]) -> None:
        self.cursor.executemany(PUT_CHUNK_SQL, [(h, len(d), d) for h, d in chunks])

    def store(self, rows, store) -> int:
        return self.conn.execute(STORE_MODEL_SQL, store.manifest(rows), self.tenant).fetchone()[0]
