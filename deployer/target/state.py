"""Inspect a target into a TargetState: everything the plan needs to know about it, as plain data.

The first step of the target room (inspect -> plan -> apply -> verify). `plan`, `drift`,
`publish --dry-run` and `publish` all read the target here, in this order:

1. the deployment history (what was deployed, with the text hash and the object's fingerprint
   on the server right after);
2. every object's fingerprint now: an object whose fingerprint differs from the one recorded
   was changed outside the package (drift); one that is gone is missing;
3. for tables that exist on the target and are new to the history, changed in the package, or
   drifted: a structural diff against a shadow database built from the package
   (deployer.target.schema_diff);
4. for every change that can lose data, the number of rows it affects;
5. objects in the package's schemas that neither the package nor the history knows.

The engine seam does the reading; nothing here touches a driver.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from deployer.engines.base import DeployedObject, Engine, TargetError
from deployer.source.catalog import valid_name
from deployer.source.render import RenderedObject
from deployer.source.stages import Stage
from deployer.target.schema_diff import TableDiff, compare_tables

MANAGED_SCHEMAS = {"dbo", "graph", "provenance", "reasoning", "attention"}
SHADOW_KINDS = {"schema", "extension", "table"}


@dataclass(frozen=True)
class RetiredObject:
    """An object the deployment history knows and the package no longer has: the plan drops it."""
    name: str
    kind: str
    stage: Stage
    package_version: str  # the package that deployed it
    requires: tuple[str, ...] = ()
    context: str = "database"

    @property
    def source_label(self) -> str:
        return f"(not in the package; deployed by {self.package_version})"


@dataclass
class DriftReport:
    changed: list[tuple[str, str]] = field(default_factory=list)  # (object, kind): differs from what was deployed
    missing: list[tuple[str, str]] = field(default_factory=list)  # in the history, gone from the server
    unknown: list[tuple[str, str]] = field(default_factory=list)  # on the server, unknown to package and history

    @property
    def any(self) -> bool:
        return bool(self.changed or self.missing or self.unknown)

    def as_dict(self) -> dict:
        return {key: [{"object": name, "kind": kind} for name, kind in getattr(self, key)]
                for key in ("changed", "missing", "unknown")}


@dataclass
class TargetState:
    """What the target holds, as far as the plan is concerned."""
    engine_name: str
    label: str  # the target for display, without credentials
    deployed: dict[str, DeployedObject] = field(default_factory=dict)
    # name -> fingerprint now (None: absent); objects not in it are not compared live
    live: dict[str, str | None] = field(default_factory=dict)
    drift: DriftReport = field(default_factory=DriftReport)
    table_diffs: dict[str, TableDiff] = field(default_factory=dict)  # tables that exist on the target
    losses: dict[tuple[str, str, str], int] = field(default_factory=dict)  # (object, change, target) -> rows
    retired: list[RetiredObject] = field(default_factory=list)  # in the history, not in the package


def _schema_of(name: str) -> str:
    return name.rpartition(".")[0] or "public"


def drift_report(engine: Engine, rendered: list[RenderedObject], deployed: dict, live: dict) -> DriftReport:
    report = DriftReport()
    for name, row in sorted(deployed.items()):
        if name not in live:
            continue
        if live[name] is None:
            report.missing.append((name, row.kind))
        elif row.live_hash is not None and live[name] != row.live_hash:
            report.changed.append((name, row.kind))
    known = {r.obj.name for r in rendered} | set(deployed)
    schemas = MANAGED_SCHEMAS | {_schema_of(r.obj.name) for r in rendered if "." in r.obj.name}
    report.unknown = [(name, kind) for kind, name in engine.unknown_objects(known, schemas)]
    return report


def inspect_target(engine: Engine, rendered: list[RenderedObject]) -> TargetState:
    state = TargetState(engine_name=engine.dialect.name, label=engine.label)
    if not engine.database_exists:
        return state
    deployed = engine.deployed_objects()
    package_names = {r.obj.name for r in rendered}
    for name in deployed:
        if not valid_name(name):  # the history is data on the target: never let it reach SQL unchecked
            raise TargetError(f"{engine.label}: the deployment history holds an invalid object name {name!r}")
    retired = [RetiredObject(name=n, kind=row.kind, stage=Stage(row.stage), package_version=row.package_version)
               for n, row in deployed.items() if n not in package_names]
    live = engine.fingerprints([r.obj for r in rendered if r.obj.kind != "check"] + retired)
    drift = drift_report(engine, rendered, deployed, live)
    drifted = {name for name, _ in drift.changed}

    tables = [r for r in rendered if r.obj.kind == "table"]
    to_compare = [r.obj for r in tables if live.get(r.obj.name) is not None and (
        r.obj.name not in deployed or deployed[r.obj.name].text_hash != r.hash or r.obj.name in drifted)]
    table_diffs = {}
    if to_compare:
        shadow_objects = [r for r in rendered if r.obj.kind in SHADOW_KINDS]
        with engine.shadow(shadow_objects) as shadow, engine.reflection() as live_conn, \
                shadow.reflection() as shadow_conn:
            keys = [engine.dialect.catalog_key(o.name) for o in to_compare]
            keyed = {tuple(k.lower() for k in key): o.name for key, o in zip(keys, to_compare)}
            renames = {key: dict(o.renamed) for key, o in zip(keys, to_compare) if o.renamed}
            diffs = compare_tables(live_conn, shadow_conn, keys, renames)
        table_diffs = {keyed[(s.lower(), t.lower())]: d for (s, t), d in diffs.items()}

    losses: dict[tuple[str, str, str], int] = {}
    for name, diff in table_diffs.items():
        for change in diff.changes:
            if change.loss_query:
                losses[(name, change.change, change.target)] = engine.count(change.loss_query)
    for obj in retired:
        if obj.kind == "table" and live.get(obj.name) is not None:
            losses[(obj.name, "table dropped", obj.name)] = engine.row_count(obj.name)
            if history := engine.history_table(obj.name):  # dropped with it (SQL Server system versioning)
                losses[(obj.name, "history dropped", history)] = engine.row_count(history)

    return TargetState(engine_name=engine.dialect.name, label=engine.label, deployed=deployed, live=live,
                       drift=drift, table_diffs=table_diffs, losses=losses, retired=retired)
