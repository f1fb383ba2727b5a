"""The engine seam: what the pipeline needs from a target database, whatever its engine.

deployer.engines.postgresql and deployer.engines.mssql implement it; nothing outside those
modules talks to a driver.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from deployer.catalog import DbObject
from deployer.render import RenderedObject


class TargetError(Exception):
    """The target cannot be reached or used; the message never contains credentials."""


class ApplyError(Exception):
    """Executing one object failed; the message names the object and its file."""

    def __init__(self, obj: DbObject, detail: str):
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
    name: str
    kind: str
    stage: int
    text_hash: str
    package_version: str
    deployed_at: str
    live_hash: str | None = None  # the object's fingerprint on the server right after it was applied
    created_order: int = 0  # position of its last creation in the history: drops go in reverse


class Engine(Protocol):
    name: str  # "postgresql" or "mssql"
    label: str  # the target for display, without credentials
    database: str

    def connect(self, *, create_database: bool = True) -> None: ...

    @property
    def database_exists(self) -> bool: ...

    def close(self) -> None: ...

    def deployed_objects(self) -> dict[str, DeployedObject]:
        """The deployment history's current state; empty when nothing was deployed yet."""

    def lock(self) -> None:
        """Take the deployment lock for this session (TargetError when another publish holds it)."""

    def begin_deployment(self, package_version: str, summary: str) -> int:
        """Open the deployment's history row."""

    def finish_deployment(self, deployment_id: int, status: str, summary: str) -> None: ...

    def apply(self, obj: DbObject, sql_text: str, action: str, text_hash: str, deployment_id: int,
              package_version: str) -> None:
        """Execute one object's SQL and record it in the history; raises ApplyError."""

    def drop_sql(self, name: str, kind: str) -> str: ...

    def count(self, query: str) -> int: ...

    def shadow(self, objects: list[RenderedObject]):
        """Context manager: a throw-away database holding `objects`, for schema comparison."""

    def sqlalchemy_engine(self): ...

    def fingerprints(self, objects: list[DbObject]) -> dict[str, str | None]: ...

    def unknown_objects(self, known: set[str], schemas: set[str]) -> list[tuple[str, str]]: ...

    def run_check(self, rendered: RenderedObject) -> list[CheckResult]: ...

    def missing_objects(self, objects: list[DbObject]) -> list[DbObject]: ...
