"""Compare: read the target and build the plan (fourth step, between render and apply).

Everything `plan`, `drift`, `publish --dry-run` and `publish` know about the target comes from
here, in this order:

1. the deployment history (what was deployed, with the text hash and the object's fingerprint
   on the server right after);
2. every object's fingerprint now: an object whose fingerprint differs from the one recorded
   was changed outside the package (drift); one that is gone is missing;
3. for tables that exist on the target and are new to the history, changed in the package, or
   drifted: a structural diff against a shadow database built from the package;
4. for every change that can lose data, the number of rows it affects;
5. objects in the package's schemas that neither the package nor the history knows.
"""

from __future__ import annotations

from pathlib import Path

from deployer.catalog import DbObject, valid_name
from deployer.engines.base import Engine, TargetError
from deployer.plan import DriftReport, Flags, Plan, build_plan
from deployer.render import RenderedObject
from deployer.schema_diff import compare_tables
from deployer.stages import Stage

MANAGED_SCHEMAS = {"dbo", "graph", "provenance"}
SHADOW_KINDS = {"schema", "extension", "table"}


def _schema_of(obj: DbObject) -> str:
    return obj.name.rpartition(".")[0] or "public"


def _catalog_key(engine: Engine, obj: DbObject) -> tuple[str, str]:
    """(schema, table) as the server's catalog spells them: PostgreSQL folds unquoted names to lower case."""
    schema, table = _schema_of(obj), obj.name.rpartition(".")[2]
    return (schema.lower(), table.lower()) if engine.name == "postgresql" else (schema, table)


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
    schemas = MANAGED_SCHEMAS | {_schema_of(r.obj) for r in rendered if "." in r.obj.name}
    report.unknown = [(name, kind) for kind, name in engine.unknown_objects(known, schemas)]
    return report


def build_target_plan(engine: Engine, rendered: list[RenderedObject], flags: Flags, package_version: str) -> Plan:
    if not engine.database_exists:
        return build_plan(rendered, {}, flags, engine=engine.name, target=engine.label,
                          package_version=package_version)
    deployed = engine.deployed_objects()
    package_names = {r.obj.name for r in rendered}
    for name in deployed:
        if not valid_name(name):  # the history is data on the target: never let it reach SQL unchecked
            raise TargetError(f"{engine.label}: the deployment history holds an invalid object name {name!r}")
    history_only = [DbObject(name=n, kind=row.kind, stage=Stage(row.stage), engine=engine.name,
                             path=Path("(deployment history)"))
                    for n, row in deployed.items() if n not in package_names]
    live = engine.fingerprints([r.obj for r in rendered if r.obj.kind != "check"] + history_only)
    drift = drift_report(engine, rendered, deployed, live)
    drifted = {name for name, _ in drift.changed}

    tables = [r for r in rendered if r.obj.kind == "table"]
    to_compare = [r.obj for r in tables if live.get(r.obj.name) is not None and (
        r.obj.name not in deployed or deployed[r.obj.name].text_hash != r.hash or r.obj.name in drifted)]
    table_diffs = {}
    if to_compare:
        shadow_objects = [r for r in rendered if r.obj.kind in SHADOW_KINDS]
        with engine.shadow(shadow_objects) as shadow:
            live_sa, shadow_sa = engine.sqlalchemy_engine(), shadow.sqlalchemy_engine()
            try:
                with live_sa.connect() as live_conn, shadow_sa.connect() as shadow_conn:
                    keys = [_catalog_key(engine, o) for o in to_compare]
                    keyed = {tuple(k.lower() for k in _catalog_key(engine, o)): o.name for o in to_compare}
                    diffs = compare_tables(live_conn, shadow_conn, keys)
            finally:
                live_sa.dispose()
                shadow_sa.dispose()
        table_diffs = {keyed[(s.lower(), t.lower())]: d for (s, t), d in diffs.items()}

    losses: dict[tuple[str, str, str], int] = {}
    for name, diff in table_diffs.items():
        for change in diff.changes:
            if change.loss_query:
                losses[(name, change.change, change.target)] = engine.count(change.loss_query)
    for obj in history_only:
        if obj.kind == "table" and live.get(obj.name) is not None:
            losses[(obj.name, "table dropped", obj.name)] = engine.count(f"SELECT count(*) FROM {obj.name}")

    return build_plan(rendered, deployed, flags, engine=engine.name, target=engine.label,
                      package_version=package_version, live=live, table_diffs=table_diffs, losses=losses,
                      drop_sql=engine.drop_sql, drift=drift)
