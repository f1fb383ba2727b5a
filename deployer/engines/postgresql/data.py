"""PostgreSQL's data operations: what the client commands ask of a connected target
(deployer.engines.base.DataOperations), over one psycopg connection.

Jobs are rows of dbo.IngestionJobs; atoms go in through dbo.sp_IngestAtoms (a batch) or
dbo.sp_IngestAtom (one content too large for a batch) and come back through
dbo.sp_SemanticSearch; a model is bulk loaded with COPY in one transaction (its chunks through a
temporary table, so a chunk another model already stored is skipped by ON CONFLICT), and read
back with hartonomous_ext.model_store's own queries. The autonomous loop is switched on and off in
the database and run by a pg_cron job of the cron database (cron.database_name), which this
module schedules into the target database as the connected role.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterator

import psycopg

from deployer.engines.base import TargetError

EMBEDDING_JOB_RESUME = ("SELECT IngestionJobId, AtomsProcessed FROM dbo.IngestionJobs WHERE JobType = 'embeddings' "
                        "AND Source = %s AND TenantId = %s AND Status IN ('Running', 'Failed') "
                        "ORDER BY IngestionJobId DESC LIMIT 1")
EMBEDDING_JOB_START = ("INSERT INTO dbo.IngestionJobs (TenantId, JobType, Status, Source, TotalItems, StartTime, "
                       "Parameters) VALUES (%s, 'embeddings', 'Running', %s, %s, now(), %s) RETURNING IngestionJobId")
JOB_RESTART = "UPDATE dbo.IngestionJobs SET Status = 'Running', ErrorMessage = NULL, TotalItems = %s WHERE IngestionJobId = %s"
INGEST_ATOM = "CALL dbo.sp_IngestAtom(%s, %s, %s, %s, true)"
INGEST_ATOMS = ("SELECT Ordinal, AtomId, Inserted, AtomEmbeddingId "
                "FROM dbo.sp_IngestAtoms(%s, %s, GenerateEmbedding => true)")
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
LOOP_START = "CALL dbo.sp_StartAutonomousLoop(%s)"
LOOP_STOP = "CALL dbo.sp_StopAutonomousLoop()"
HEALTH = "SELECT Component, Status, Detail FROM dbo.sp_HealthCheck()"
LOOP_JOB_COMMAND = "CALL dbo.sp_RunAutonomousLoop()"
LOOP_JOB_SCHEDULE = "* * * * *"  # pg_cron 1.4's finest; each run drains the queues for LOOP_DISPATCH_SECONDS
CRON_SCHEDULE = "SELECT cron.schedule_in_database(%s, %s, %s, %s, %s)"
CRON_UNSCHEDULE = "SELECT cron.unschedule(jobid) FROM cron.job WHERE jobname = %s"
# pg_cron never empties its run history: a daily job in the cron database keeps a week of it
CRON_HISTORY_JOB = ("SELECT cron.schedule('hartonomous-cron-history', '17 3 * * *', "
                    "$$DELETE FROM cron.job_run_details WHERE end_time < now() - interval '7 days'$$)")
CRON_JOB = ("SELECT j.jobid, j.active, (SELECT r.status || ' at ' || r.start_time::text || coalesce(': ' || r.return_message, '') "
            "FROM cron.job_run_details r WHERE r.jobid = j.jobid ORDER BY r.runid DESC LIMIT 1) "
            "FROM cron.job j WHERE j.jobname = %s")


def loop_job_name(database: str) -> str:
    """The dispatcher's pg_cron job for one database (jobs of all databases share the cron database)."""
    return f"hartonomous-loop-{database}"


class PostgresData:
    def __init__(self, conn: psycopg.Connection, cron_conninfo: Callable[[], str] | None = None):
        self.conn = conn
        self.cron_conninfo = cron_conninfo

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

    def ingest_atoms(self, atoms: str, tenant: int, job: int, done: int) -> list[tuple]:
        with self.conn.transaction():
            rows = self.conn.execute(INGEST_ATOMS, (atoms, tenant)).fetchall()
            self.conn.execute(JOB_PROGRESS, (done, job))
        return rows

    def semantic_search(self, text: str, top: int, hybrid: bool, tenant: int) -> list[tuple]:
        return self.conn.execute(SEMANTIC_SEARCH, (text, top, hybrid, tenant)).fetchall()

    # models ----------------------------------------------------------------------------------
    # the autonomous loop --------------------------------------------------------------------------
    def _cron(self) -> psycopg.Connection:
        if self.cron_conninfo is None:
            raise TargetError("this connection cannot reach the cron database")
        return psycopg.connect(self.cron_conninfo(), autocommit=True, application_name="hartonomous-deployer")

    def start_loop(self, unless_stopped: bool = False) -> list[tuple[str, str]]:
        message, started = self._one(LOOP_START, int(unless_stopped))
        if not started:
            return [("loop", "left switched off: an operator stopped it (python -m deployer loop start to resume)")]
        database, role = self._one("SELECT current_database(), current_user")
        with self._cron() as cron:
            # one dispatcher per database: a job of that name another login scheduled goes
            cron.execute(CRON_UNSCHEDULE + " AND username <> %s", (loop_job_name(database), role))
            (job,) = cron.execute(CRON_SCHEDULE, (loop_job_name(database), LOOP_JOB_SCHEDULE, LOOP_JOB_COMMAND,
                                                   database, role)).fetchone()
            cron.execute(CRON_HISTORY_JOB)
        return [("loop", "switched on (dbo.AutonomousLoopSettings.Enabled = 1)"),
                ("message", f"AnalyzeMessage {message} queued" if message else "an AnalyzeMessage was already queued"),
                ("schedule", f"pg_cron job {job} ({loop_job_name(database)}) runs {LOOP_JOB_COMMAND} every minute "
                             f"in {database} as {role}")]

    def stop_loop(self) -> list[tuple[str, str]]:
        self.conn.execute(LOOP_STOP)
        (database,) = self._one("SELECT current_database()")
        with self._cron() as cron:
            removed = cron.execute(CRON_UNSCHEDULE, (loop_job_name(database),)).fetchall()
        return [("loop", "switched off (dbo.AutonomousLoopSettings.Enabled = 0)"),
                ("schedule", f"pg_cron job {loop_job_name(database)} removed" if removed
                 else f"no pg_cron job {loop_job_name(database)} was scheduled")]

    def health(self) -> list[tuple[str, str, str]]:
        rows = [tuple(r) for r in self.conn.execute(HEALTH).fetchall()]
        (database,) = self._one("SELECT current_database()")
        try:
            with self._cron() as cron:
                job = cron.execute(CRON_JOB, (loop_job_name(database),)).fetchone()
        except (psycopg.Error, TargetError) as exc:
            rows.append(("Loop schedule", "WARNING", f"cannot read pg_cron's jobs: {str(exc).strip().splitlines()[0]}"))
        else:
            if job is None:
                rows.append(("Loop schedule", "FAILED", f"no pg_cron job {loop_job_name(database)}: "
                                                         "python -m deployer loop start"))
            else:
                status = "Healthy" if job[1] and not (job[2] or "").startswith("failed") else "FAILED"
                rows.append(("Loop schedule", status, f"pg_cron job {job[0]}, {'active' if job[1] else 'inactive'}; "
                                                      f"last run: {job[2] or 'not yet'}"))
        return rows

    def model_by_source(self, tenant: int, source_hash: str) -> int | None:
        row = self._one(MODEL_BY_SOURCE, tenant, source_hash)
        return row[0] if row else None

    @contextmanager
    def model_load(self, tenant: int) -> Iterator["PostgresModelLoad"]:
        with self.conn.transaction():
            yield PostgresModelLoad(self.conn, tenant)

    def stored_model(self, model_id: int, tenant: int, store):
        return store.load(PostgresStoredModels(self.conn), model_id, tenant)


class PostgresStoredModels:
    """hartonomous_ext.model_store.StoredModels for the client: the database's own reader
    (dbo.fn_StoredModel, dbo.fn_StoredModelTensors, dbo.fn_TensorChunk), as the bindings use it."""

    def __init__(self, conn: psycopg.Connection):
        self.conn = conn

    def model(self, model_id: int, tenant: int) -> tuple | None:
        return self.conn.execute("SELECT * FROM dbo.fn_StoredModel(%s, %s)", (model_id, tenant)).fetchone()

    def tensors(self, model_id: int) -> list[tuple]:
        return self.conn.execute("SELECT * FROM dbo.fn_StoredModelTensors(%s)", (model_id,)).fetchall()

    def chunk(self, chunk_hash: bytes) -> bytes | None:
        return self.conn.execute("SELECT dbo.fn_TensorChunk(%s)", (chunk_hash,)).fetchone()[0]


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

    def store(self, rows, store) -> int:
        # dbo.sp_StoreModel writes the model's rows, as for dbo.sp_IngestModel: the chunks are in already
        return self.conn.execute("CALL dbo.sp_StoreModel(%s, %s, NULL)", (store.manifest(rows), self.tenant)).fetchone()[0]
