"""The engine seam: everything the rest of the deployer needs from a database engine.

Two halves, one pair per engine (deployer.engines.postgresql, deployer.engines.mssql):

- a **Dialect**: what is engine-specific but needs no server: the template variables of the
  rendering, how a rendered object splits into batches, how batches join into a script, the
  statement that drops an object, how the server's catalog spells a name, the alembic dialect
  that renders table changes. `render`, `plan --script` and `publish --dry-run` use only this.
- an **Engine**: a connected target: the deployment history, applying one object, the shadow
  database, fingerprints, checks, and the data operations the client commands run (`data`).

Nothing outside deployer.engines holds a driver connection or branches on an engine's name.
The contract tests (tests/test_engine_contract.py) run the same suite against every engine
that is reachable: PostgreSQL here, SQL Server when HARTONOMOUS_MSSQL_DSN is set.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Protocol


class TargetError(Exception):
    """The target cannot be reached or used; the message never contains credentials."""


class ApplyError(Exception):
    """Executing one object failed; the message names the object and its file."""

    def __init__(self, obj, detail: str):
        super().__init__(f"{obj.name} ({obj.source_label}): {detail}")
        self.obj = obj
        self.detail = detail


@dataclass(frozen=True)
class CheckResult:
    name: str
    passed: bool
    detail: str


@dataclass(frozen=True)
class DeployedObject:
    """One row of the deployment history's current state (deploy.DeployedObjects)."""
    name: str
    kind: str
    stage: int
    text_hash: str
    package_version: str
    deployed_at: str
    live_hash: str | None = None  # the object's fingerprint on the server right after it was applied
    created_order: int = 0  # position of its last creation in the history: drops go in reverse


@dataclass
class Deployment:
    """One publish, as the history records it (deploy.Deployments). `id` is set by the engine once
    the row exists: at once on PostgreSQL; on SQL Server when the database does (stage 1 may
    create it)."""
    package_version: str
    summary: str
    id: int | None = None


class Dialect(Protocol):
    name: str  # "postgresql" or "mssql": the engine, as catalogs and reports name it
    sqlalchemy_name: str  # the SQLAlchemy/alembic dialect that renders table changes
    versions: tuple[int, ...]  # server versions the package renders for (empty: one rendering)
    default_version: int | None

    def template_variables(self, options) -> dict[str, Any]:
        """The engine's own jinja variables for a RenderOptions (validated)."""

    def batches(self, sql: str) -> tuple[str, ...]:
        """A rendered object's text as the batches the server runs one by one."""

    def join_batches(self, batches: Iterable[str]) -> str:
        """Batches as one script text (SQL Server: GO after each)."""

    def drop_statement(self, name: str, kind: str) -> str:
        """The statement that drops an object the package no longer has ("" when nothing to drop)."""

    def catalog_key(self, name: str) -> tuple[str, str]:
        """(schema, name) as the server's catalog spells them."""

    def script_name(self, version: int | None) -> str: ...

    def operation_scripts(self, package_version: str, version: int | None, filestream: bool) -> dict[str, str]:
        """Scripts `render` writes beside the package ({file name: text}): a DBA's backup and restore
        where the engine's own tools do them (SQL Server)."""

    def combined_script(self, rendered: list, package_version: str, version: int | None) -> str:
        """One script a DBA runs by hand (sqlcmd -i / psql -f) holding every rendered object."""

    def object_text(self, rendered) -> str:
        """One rendered object as script text, introduced by a comment."""

    def object_file(self, rendered) -> str:
        """One rendered object as a file a DBA can run on its own (render --out objects/)."""


class DataOperations(Protocol):
    """What the client commands (deployer.client) ask of a connected target."""

    # jobs (dbo.IngestionJobs)
    def unfinished_embedding_job(self, source: str, tenant: int) -> tuple[int, int] | None: ...
    def start_embedding_job(self, tenant: int, source: str, total: int, parameters: str) -> int: ...
    def restart_job(self, job: int, total: int) -> None: ...
    def job_progress(self, job: int, done: int) -> None: ...
    def finish_job(self, job: int, status: str, error: str | None) -> None: ...
    def start_model_job(self, tenant: int, source: str, parameters: str) -> int: ...
    def fail_model_job(self, job: int, error: str) -> None: ...
    def complete_model_job(self, job: int, tensors: int, result: str) -> None: ...

    # atoms and search (the database's procedures)
    def ingest_atom(self, content: bytes, content_type: str, metadata: str, tenant: int) -> None: ...
    def ingest_atoms(self, atoms: str, tenant: int, job: int, done: int) -> list[tuple]:
        """dbo.sp_IngestAtoms on a batch (its JSON) with embeddings, and the job's progress set to
        `done`, in one transaction: a batch is never ingested without being counted, nor counted
        without being ingested. Rows: (Ordinal, AtomId, Inserted, AtomEmbeddingId)."""
    def semantic_search(self, text: str, top: int, hybrid: bool, tenant: int) -> list[tuple]: ...

    # the autonomous loop (dbo.sp_StartAutonomousLoop, dbo.sp_StopAutonomousLoop, dbo.sp_HealthCheck)
    def start_loop(self, unless_stopped: bool = False) -> list[tuple[str, str]]:
        """Switch the loop on, queue a first Analyze if none waits, and make sure something runs
        the phases (PostgreSQL: a pg_cron job for the dispatcher). unless_stopped: leave a loop an
        operator switched off as it is. Rows: (what, detail)."""
    def stop_loop(self) -> list[tuple[str, str]]:
        """Switch the loop off (and, on PostgreSQL, remove the dispatcher's pg_cron job)."""
    def health(self) -> list[tuple[str, str, str]]:
        """The runbook's quick health check: (Component, Status, Detail) rows, Status Healthy,
        WARNING or FAILED, with how the loop is run added by the engine."""

    # models (hartonomous_ext.model_store's rows)
    def model_by_source(self, tenant: int, source_hash: str) -> int | None: ...
    def model_load(self, tenant: int) -> AbstractContextManager["ModelLoad"]:
        """One model's bulk load, all or nothing: nothing of it stays when the block raises."""
    def stored_model(self, model_id: int, tenant: int, store) -> Any:
        """A stored model as a hartonomous_ext ModelFile whose tensors read their chunks lazily."""


class ModelLoad(Protocol):
    chunk_round: int  # hashes asked about per round

    def chunks_present(self, hashes: list[bytes]) -> set[bytes]: ...
    def put_chunks(self, chunks: list[tuple[bytes, bytes]]) -> None: ...
    def store(self, rows, store) -> int:
        """Write the model's rows (model, layers, tensors, chunk maps); returns the ModelId."""


class Engine(Protocol):
    dialect: Dialect
    label: str  # the target for display, without credentials
    database: str

    def connect(self, *, create_database: bool = True) -> None: ...

    @property
    def database_exists(self) -> bool: ...

    def close(self) -> None: ...

    # history
    def deployed_objects(self) -> dict[str, DeployedObject]:
        """The deployment history's current state; empty when nothing was deployed yet."""

    def lock(self) -> None:
        """Take the deployment lock for this session (TargetError when another publish holds it)."""

    def begin_deployment(self, deployment: Deployment) -> None:
        """Open the deployment's history row (sets deployment.id when it exists)."""

    def finish_deployment(self, deployment: Deployment, status: str) -> None: ...

    def apply(self, obj, batches: tuple[str, ...], action: str, text_hash: str, deployment: Deployment) -> None:
        """Execute one object's batches and record it in the history; raises ApplyError."""

    # reading the target
    def count(self, query: str) -> int: ...

    def row_count(self, table: str) -> int: ...

    def render_settings(self, requested: dict) -> tuple[dict, list[str]]:
        """What this server changes in the rendering the user asked for (`requested`: the render
        options given), and a line for each change saying why."""

    def history_table(self, table: str) -> str | None:
        """The history table the server keeps for a system-versioned table (None: not versioned, or
        the engine keeps history in tables of the package)."""

    def shadow(self, objects: list) -> AbstractContextManager["Engine"]:
        """A throw-away database on the same server holding `objects`, for schema comparison."""

    def reflection(self) -> AbstractContextManager[Any]:
        """A SQLAlchemy connection to the target database, for table reflection and comparison."""

    def fingerprints(self, objects: list) -> dict[str, str | None]: ...

    def unknown_objects(self, known: set[str], schemas: set[str]) -> list[tuple[str, str]]: ...

    def run_check(self, rendered) -> list[CheckResult]: ...

    def missing_objects(self, objects: list) -> list: ...

    # security
    def grant_role(self, login: str, role: str, tenants: list[int], *, revoke: bool = False) -> None:
        """Make an existing login a member of this database's role `role` (admin, app, reader,
        system) acting for `tenants`; with revoke, take the tenants away (all of them, and the role,
        when `tenants` is empty). TargetError when the login or the role does not exist."""

    # backups
    def backup(self, out: Path) -> dict[str, tuple[int, str]]:
        """A consistent backup of the database into `out`; every table's (rows, checksum) in the
        same snapshot. TargetError where the engine's own tools do it (SQL Server: BACKUP DATABASE)."""

    def restore(self, source: Path) -> None:
        """Restore a backup into this database, which must be new or empty."""

    def table_checksums(self) -> dict[str, tuple[int, str]]:
        """Every table of the package's schemas and the history: (rows, checksum of the rows)."""

    # client data operations
    @property
    def data(self) -> DataOperations: ...



def object_header(rendered) -> str:
    """The comment that introduces one rendered object in a file or script."""
    obj = rendered.obj
    return f"-- {obj.name} ({obj.kind}, stage {obj.stage.label}) from {obj.source_label}\n"
