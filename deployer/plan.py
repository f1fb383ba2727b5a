"""Plan: decide what publishing would do on a target (fourth step of the pipeline).

The plan compares each rendered object with the deployment history read from the target and
gives it one action. `publish --dry-run` prints this plan and its SQL; `publish` executes the
very same plan, so what you preview is what runs.

    create     never deployed to this target
    alter      deployed before with a different text (replaceable kinds: CREATE OR ALTER/REPLACE)
    reapply    unchanged, but something it requires is created or altered in this plan
    unchanged  same text as deployed; nothing is executed
    skip       left out by a flag (--skip-external-scripts) or because it requires a skipped object
    blocked    cannot be applied safely (a changed table); publishing refuses the whole plan
    verify     a stage-8 check; runs on every publish
"""

from __future__ import annotations

from dataclasses import dataclass, field

from deployer.graph import dependents
from deployer.render import RenderedObject
from deployer.stages import Stage

EXECUTING_ACTIONS = ("create", "alter", "reapply")


@dataclass(frozen=True)
class Flags:
    skip_external_scripts: bool = False
    skip_filestream: bool = False
    force: bool = False
    dry_run: bool = False
    verbose: bool = False


@dataclass
class Step:
    rendered: RenderedObject
    action: str
    reason: str = ""

    @property
    def obj(self):
        return self.rendered.obj

    @property
    def executes(self) -> bool:
        return self.action in EXECUTING_ACTIONS


@dataclass
class Plan:
    engine: str
    target: str
    package_version: str
    steps: list[Step] = field(default_factory=list)

    @property
    def changes(self) -> list[Step]:
        return [s for s in self.steps if s.executes]

    @property
    def blocked(self) -> list[Step]:
        return [s for s in self.steps if s.action == "blocked"]

    @property
    def checks(self) -> list[Step]:
        return [s for s in self.steps if s.action == "verify"]

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for step in self.steps:
            counts[step.action] = counts.get(step.action, 0) + 1
        return counts

    def script(self) -> str:
        """The SQL publish would execute, in order, each object introduced by a comment."""
        parts = []
        for step in self.changes:
            obj = step.obj
            parts.append(f"-- [{obj.stage.label}] {step.action} {obj.kind} {obj.name} ({obj.source_label})\n")
            if obj.engine == "mssql":
                parts.append("".join(batch + "GO\n" for batch in step.rendered.batches))
            else:
                parts.append(step.rendered.sql)
            parts.append("\n")
        return "".join(parts)


def build_plan(
    ordered: list[RenderedObject],
    deployed_hashes: dict[str, str],
    flags: Flags,
    *,
    engine: str,
    target: str,
    package_version: str,
) -> Plan:
    objects = [r.obj for r in ordered]
    skipped: set[str] = set()
    if flags.skip_external_scripts:
        roots = {o.name for o in objects if o.stage == Stage.EXTERNAL_SCRIPTS}
        skipped = roots | dependents(objects, roots)

    actions: dict[str, tuple[str, str]] = {}
    for rendered in ordered:
        obj = rendered.obj
        if obj.name in skipped:
            why = "--skip-external-scripts" if obj.stage == Stage.EXTERNAL_SCRIPTS else "requires an external-scripts object (--skip-external-scripts)"
            actions[obj.name] = ("skip", why)
        elif obj.kind == "check":
            actions[obj.name] = ("verify", "stage-8 check")
        elif obj.name not in deployed_hashes:
            actions[obj.name] = ("create", "not deployed to this target")
        elif deployed_hashes[obj.name] != rendered.hash:
            if obj.replaceable:
                actions[obj.name] = ("alter", f"text changed since deployed (was {deployed_hashes[obj.name][:12]})")
            else:
                actions[obj.name] = (
                    "blocked",
                    f"this {obj.kind} changed since it was deployed (was {deployed_hashes[obj.name][:12]}, "
                    f"now {rendered.hash[:12]}); the deployer creates {obj.kind}s but does not alter them in "
                    "place: restore its definition, or drop it on the target if its data may go",
                )
        else:
            actions[obj.name] = ("unchanged", "same text as deployed")

    changed = {name for name, (action, _) in actions.items() if action in ("create", "alter")}
    by_name = {o.name: o for o in objects}
    for name in sorted(dependents(objects, changed)):
        action, _ = actions[name]
        if action == "unchanged" and by_name[name].replaceable:
            cause = sorted(set(by_name[name].requires) & (changed | dependents(objects, changed)))
            actions[name] = ("reapply", f"requires {', '.join(cause)}, which changes")

    plan = Plan(engine=engine, target=target, package_version=package_version)
    plan.steps = [Step(rendered=r, action=actions[r.obj.name][0], reason=actions[r.obj.name][1]) for r in ordered]
    return plan
