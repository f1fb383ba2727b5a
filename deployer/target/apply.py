"""Apply: execute a plan on a target and record its history (after plan, before verify).

Objects run in plan order; the engine's dialect renders each step (Step.statements) and the
engine executes it with its history row. A failing object stops the publish, unless --force is
given: then everything that does not require the failed object goes on, and what requires it is
skipped. The result (per-object outcomes and timings, check results) is what the report room
prints and logs (deployer.report.logs).
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from deployer.engines.base import ApplyError, CheckResult, Deployment, Engine
from deployer.source.graph import dependents
from deployer.target.plan import Flags, Plan, Step
from deployer.target.verify import run_checks


class PlanRefused(Exception):
    """Publishing this plan is not allowed (blocked steps, data loss, drift); nothing was executed."""

    def __init__(self, plan: Plan, reasons: list[str]):
        super().__init__("publish refused, nothing was executed:\n  " + "\n  ".join(reasons))
        self.plan = plan
        self.reasons = reasons


def refusals(plan: Plan, flags: Flags) -> list[str]:
    reasons = [f"blocked: {s.obj.name} ({s.obj.source_label}): {s.reason}" for s in plan.blocked]
    if plan.data_loss and not flags.allow_data_loss:
        reasons += [f"data loss: {alert}" for alert in plan.data_loss]
        reasons.append("review the plan, then publish with --allow-data-loss to accept it")
    if plan.drift.any and not flags.allow_drift:
        drift = plan.drift
        reasons += [f"drift: {name} ({kind}) was changed on the target outside the package" for name, kind in drift.changed]
        reasons += [f"drift: {name} ({kind}) is in the deployment history but missing on the target" for name, kind in drift.missing]
        reasons += [f"drift: {name} ({kind}) is on the target but unknown to the package" for name, kind in drift.unknown]
        reasons.append("inspect with `python -m deployer drift`, then publish with --allow-drift to go ahead")
    return reasons


@dataclass
class StepOutcome:
    object: str
    kind: str
    stage: int
    file: str
    action: str
    outcome: str  # applied | dropped | unchanged | skipped | failed | not run | checked
    seconds: float = 0.0
    detail: str = ""


@dataclass
class PublishResult:
    plan: Plan
    outcomes: list[StepOutcome] = field(default_factory=list)
    checks: list[CheckResult] = field(default_factory=list)
    started_at: str = ""
    finished_at: str = ""
    seconds: float = 0.0
    log_path: Path | None = None  # written by deployer.report.logs
    error_path: Path | None = None

    @property
    def failed(self) -> list[StepOutcome]:
        return [o for o in self.outcomes if o.outcome == "failed"]

    @property
    def failed_checks(self) -> list[CheckResult]:
        return [c for c in self.checks if not c.passed]

    @property
    def applied(self) -> list[StepOutcome]:
        return [o for o in self.outcomes if o.outcome in ("applied", "dropped")]

    @property
    def status(self) -> str:
        if self.failed or self.failed_checks:
            return "failed"
        return "succeeded" if self.applied else "no changes"


ProgressHook = Callable[[Step, str], None]


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def _outcome(step: Step, outcome: str, seconds: float = 0.0, detail: str = "") -> StepOutcome:
    obj = step.obj
    return StepOutcome(obj.name, obj.kind, int(obj.stage), obj.source_label, step.action, outcome,
                       round(seconds, 4), detail or step.reason)


def apply_plan(plan: Plan, engine: Engine, flags: Flags, on_step: ProgressHook | None = None) -> PublishResult:
    if reasons := refusals(plan, flags):
        raise PlanRefused(plan, reasons)
    result = PublishResult(plan=plan, started_at=_now())
    began = time.perf_counter()
    statements = _render_steps(plan, engine)
    deployment = Deployment(plan.package_version, json.dumps(plan.counts(), sort_keys=True))
    engine.begin_deployment(deployment)

    try:
        _run_steps(plan, engine, flags, on_step, result, deployment, statements)
    finally:
        result.seconds = round(time.perf_counter() - began, 3)
        result.finished_at = _now()
        engine.finish_deployment(deployment, "failed" if sys.exc_info()[0] else result.status)
    return result


def _render_steps(plan: Plan, engine: Engine) -> dict[str, tuple[str, ...]]:
    """Every executing step's batches, rendered by the engine's dialect before anything runs: a
    step that cannot be rendered (alembic refuses an operation) refuses the publish whole."""
    statements, reasons = {}, []
    for step in plan.changes:
        try:
            statements[step.obj.name] = step.statements(engine.dialect)
        except Exception as exc:  # alembic's CommandError and the errors of its renderers
            reasons.append(f"cannot render: {step.obj.name} ({step.obj.source_label}): "
                           f"{type(exc).__name__}: {exc}")
    if reasons:
        raise PlanRefused(plan, reasons)
    return statements


def _run_steps(plan: Plan, engine: Engine, flags: Flags, on_step: ProgressHook | None, result: PublishResult,
               deployment: Deployment, statements: dict[str, tuple[str, ...]]) -> None:
    objects = [s.obj for s in plan.steps]
    failed: set[str] = set()
    skipped = {s.obj.name for s in plan.steps if s.action == "skip"}
    stopped = False
    for step in plan.steps:
        if on_step:
            on_step(step, "start")
        name = step.obj.name
        if step.action == "unchanged":
            if step.record and not stopped:  # same structure, new text: the history takes the new hash
                engine.apply(step.obj, (), "record", step.text_hash, deployment)
            result.outcomes.append(_outcome(step, "unchanged"))
        elif step.action == "skip":
            result.outcomes.append(_outcome(step, "skipped"))
        elif stopped:
            result.outcomes.append(_outcome(step, "not run", detail="an earlier object failed (no --force)"))
        elif failed and name in dependents(objects, failed):
            cause = ", ".join(sorted(failed))
            result.outcomes.append(_outcome(step, "skipped", detail=f"requires {cause}, which failed"))
            skipped.add(name)
        elif step.action == "verify":
            result.outcomes.append(_outcome(step, "checked", detail="run in the verification below"))
        else:
            t0 = time.perf_counter()
            try:
                engine.apply(step.obj, statements[name], step.action, step.text_hash, deployment)
            except ApplyError as exc:
                result.outcomes.append(_outcome(step, "failed", time.perf_counter() - t0, str(exc)))
                failed.add(name)
                stopped = not flags.force
            else:
                done = "dropped" if step.action == "drop" else "applied"
                result.outcomes.append(_outcome(step, done, time.perf_counter() - t0))
        if on_step:
            on_step(step, result.outcomes[-1].outcome)

    if not stopped:
        excluded = failed | skipped | dependents(objects, failed | skipped)
        deployed = [s.rendered for s in plan.steps
                    if s.rendered and s.action != "verify" and s.obj.name not in excluded]
        checks = [s.rendered for s in plan.steps if s.action == "verify" and s.obj.name not in excluded]
        result.checks = run_checks(engine, checks, deployed)
