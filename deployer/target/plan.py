"""Plan: decide what publishing would do on a target (fifth step, after compare).

The plan compares each rendered object with what the target has: the deployment history (the
hash of the text last deployed), the object's fingerprint on the server now, and for tables the
structural difference from the package (deployer.target.schema_diff). `plan`, `publish --dry-run` and
`publish` all use this one producer, so what you preview is what runs.

    create     not on the target
    alter      different from the package: code is re-created (CREATE OR ALTER / OR REPLACE),
               tables are altered in place, column by column (never rebuilt)
    reapply    unchanged, but something it requires is created or altered in this plan
    unchanged  as the package has it; nothing is executed
    drop       on the target and in the history, no longer in the package
    skip       left out by a flag (--skip-external-scripts) or because it requires a skipped object
    blocked    cannot be done safely by the deployer; publish refuses the whole plan
    verify     a stage-8 check; runs on every publish
"""

from __future__ import annotations

from dataclasses import dataclass, field

from deployer.engines.schema import render_operations
from deployer.source.catalog import DbObject
from deployer.source.graph import dependents
from deployer.source.render import RenderedObject
from deployer.source.stages import Stage
from deployer.target.schema_diff import TableChange
from deployer.target.state import DriftReport, RetiredObject, TargetState

EXECUTING_ACTIONS = ("create", "alter", "reapply", "drop")


@dataclass(frozen=True)
class Flags:
    """The publish options that change what the plan contains or how it is applied."""
    skip_external_scripts: bool = False
    force: bool = False
    allow_data_loss: bool = False
    allow_drift: bool = False
    reapply: bool = False  # apply every replaceable object again (after a restore, or to repair by hand)


@dataclass(frozen=True)
class DataLossAlert:
    object: str
    change: str
    target: str
    rows: int
    text: str

    def as_dict(self) -> dict:
        return {"object": self.object, "change": self.change, "target": self.target, "rows": self.rows,
                "text": self.text}

    def __str__(self) -> str:
        return f"{self.object}: {self.change} {self.target}: {self.rows:,} rows, {self.text}"


@dataclass
class Step:
    obj: DbObject | RetiredObject
    action: str
    reason: str = ""
    batches: tuple[str, ...] = ()  # the object's rendered batches (code, new tables, checks)
    operations: list = field(default_factory=list)  # alembic operations of a table change
    drop_kind: str | None = None  # drop: the kind of object to drop (None: it is gone already)
    text_hash: str = ""
    rendered: RenderedObject | None = None
    changes: list[TableChange] = field(default_factory=list)
    alerts: list[DataLossAlert] = field(default_factory=list)
    record: bool = False  # unchanged on the server, but the history takes the new text hash

    @property
    def executes(self) -> bool:
        return self.action in EXECUTING_ACTIONS

    def statements(self, dialect) -> tuple[str, ...]:
        """The batches this step runs, rendered by the engine's dialect (engines.base.Dialect)."""
        if self.action == "drop":
            statement = dialect.drop_statement(self.obj.name, self.drop_kind) if self.drop_kind else ""
            return (statement,) if statement else ()
        if self.operations:
            return tuple(dialect.batches(render_operations(self.operations, dialect.sqlalchemy_name)))
        return self.batches


@dataclass
class Plan:
    engine_name: str
    target: str
    package_version: str
    steps: list[Step] = field(default_factory=list)
    drift: DriftReport = field(default_factory=DriftReport)

    @property
    def changes(self) -> list[Step]:
        return [s for s in self.steps if s.executes]

    @property
    def blocked(self) -> list[Step]:
        return [s for s in self.steps if s.action == "blocked"]

    @property
    def data_loss(self) -> list[DataLossAlert]:
        return [a for s in self.steps for a in s.alerts]

    @property
    def has_differences(self) -> bool:
        return bool(self.changes or self.blocked or self.drift.any)

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for step in self.steps:
            counts[step.action] = counts.get(step.action, 0) + 1
        return counts


def skipped_by_flags(objects: list[DbObject], flags: Flags) -> set[str]:
    """--skip-external-scripts: stage 3 and everything that requires it, directly or not."""
    if not flags.skip_external_scripts:
        return set()
    roots = {o.name for o in objects if o.stage == Stage.EXTERNAL_SCRIPTS}
    return roots | dependents(objects, roots)


def plan(package: list[RenderedObject], state: TargetState, flags: Flags, *, package_version: str) -> Plan:
    """The plan for publishing `package` (rendered, in deployment order) to a target in `state`."""
    deployed, live, table_diffs, losses = state.deployed, state.live, state.table_diffs, state.losses
    deployed_hash = {n: d.text_hash for n, d in deployed.items()}
    drifted = {name for name, _ in state.drift.changed}
    objects = [r.obj for r in package]
    skipped = skipped_by_flags(objects, flags)

    steps: dict[str, Step] = {}
    for rendered in package:
        obj = rendered.obj
        step = Step(obj=obj, action="unchanged", reason="as the package has it", batches=rendered.batches,
                    text_hash=rendered.hash, rendered=rendered)
        steps[obj.name] = step
        absent = obj.name in live and live[obj.name] is None
        if obj.name in skipped:
            step.action = "skip"
            step.reason = ("--skip-external-scripts" if obj.stage == Stage.EXTERNAL_SCRIPTS
                           else "requires an external-scripts object (--skip-external-scripts)")
        elif obj.kind == "check":
            step.action, step.reason = "verify", "stage-8 check"
        elif obj.kind == "table" and obj.name in table_diffs:
            diff = table_diffs[obj.name]
            if diff.empty:
                step.reason = "structure matches the package"
                step.record = deployed_hash.get(obj.name) != rendered.hash
                if step.record:
                    step.reason += "; the history takes the new text"
            else:
                step.action = "alter"
                step.reason = "changed on the target outside the package (drift)" if obj.name in drifted else \
                    "the package changes its structure"
                step.changes = diff.changes
                step.batches = ()
                step.operations = list(diff.operations)
                step.alerts = [
                    DataLossAlert(obj.name, c.change, c.target, losses[(obj.name, c.change, c.target)], c.loss_text)
                    for c in diff.changes if losses.get((obj.name, c.change, c.target), 0) > 0
                ]
                impossible = [f"{c.change} {c.target}: {c.detail or c.loss_text}" for c in diff.changes
                              if c.fatal and (c.loss_query is None or losses.get((obj.name, c.change, c.target), 0))]
                if impossible:
                    step.action = "blocked"
                    step.reason = "cannot be applied: " + "; ".join(impossible)
        elif obj.name not in deployed_hash or absent:
            step.action = "create"
            step.reason = "missing on the target" if obj.name in deployed_hash else "not deployed to this target"
        elif deployed_hash[obj.name] != rendered.hash:
            if obj.replaceable:
                step.action = "alter"
                step.reason = f"text changed since deployed (was {deployed_hash[obj.name][:12]})"
            else:
                step.action = "blocked"
                step.reason = (f"this {obj.kind} changed since it was deployed (was {deployed_hash[obj.name][:12]}, "
                               f"now {rendered.hash[:12]}) and the deployer cannot change a {obj.kind} in place")
        elif obj.name in drifted and obj.replaceable:
            step.action, step.reason = "alter", "changed on the target outside the package (drift): restored"
        elif flags.reapply and obj.replaceable and obj.kind != "library":
            # (the library is content, compared by its hash: writing it again would only change its row)
            step.action, step.reason = "reapply", "--reapply: applied again"

    # re-apply the code that requires what changes, and the code that requires that code; an
    # unchanged table in between stops it (a procedure reading AtomEmbeddings does not care that
    # Models, which AtomEmbeddings references, gained a column)
    changed = {n for n, s in steps.items() if s.action in ("create", "alter")}
    frontier = set(changed)
    while frontier:
        reached = set()
        for obj in objects:
            step = steps[obj.name]
            if step.action == "unchanged" and obj.replaceable and set(obj.requires) & frontier:
                cause = sorted(set(obj.requires) & frontier)
                step.action, step.reason = "reapply", f"requires {', '.join(cause)}, which changes"
                reached.add(obj.name)
        frontier = reached

    # privileges are granted from nothing after any change: a routine re-created (a new signature,
    # a retired one) comes back without its grants, whatever the grant object requires
    touched = any(s.action in ("create", "alter", "reapply") for s in steps.values()) or bool(state.retired)
    for obj in objects:
        step = steps[obj.name]
        if obj.kind == "grant" and step.action == "unchanged" and touched:
            step.action, step.reason = "reapply", "privileges are granted again after every change"

    drops: list[Step] = []
    for obj in state.retired:
        row = deployed[obj.name]
        if live.get(obj.name, "present") is None:
            step = Step(obj=obj, action="drop", reason="gone from the target already; the history forgets it",
                        text_hash=row.text_hash)
        else:
            step = Step(obj=obj, action="drop", reason="no longer in the package", text_hash=row.text_hash,
                        drop_kind=obj.kind)
            rows = losses.get((obj.name, "table dropped", obj.name), 0)
            if obj.kind == "table" and rows:
                step.alerts.append(DataLossAlert(obj.name, "table dropped", obj.name, rows, "rows are lost"))
            step.alerts += [DataLossAlert(obj.name, change, target, count, "its history rows are lost")
                            for (name, change, target), count in losses.items()
                            if name == obj.name and change == "history dropped" and count]
        drops.append(step)
    # latest stage first, and inside a stage in reverse order of creation: objects were created
    # after what they need, so they go before it
    drops.sort(key=lambda s: (-int(s.obj.stage), -deployed[s.obj.name].created_order, s.obj.name))

    result = Plan(engine_name=state.engine_name, target=state.label, package_version=package_version, drift=state.drift)
    result.steps = drops + [steps[r.obj.name] for r in package]
    return result
