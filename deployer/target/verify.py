"""Verify: stage 8 against a live target.

Two kinds of checks: the check objects in db/verification (each a query returning rows of
check name, passed, detail, run in a transaction that is rolled back) and the existence of
every object the package deploys. Used after each publish and by `python -m deployer verify`.
"""

from __future__ import annotations

from deployer.engines.base import CheckResult, Engine
from deployer.source.render import RenderedObject

EXISTENCE_CHECK = "every expected object exists"


def existence_check(engine: Engine, deployed: list[RenderedObject]) -> CheckResult:
    missing = engine.missing_objects([r.obj for r in deployed])
    if missing:
        names = ", ".join(f"{o.kind} {o.name}" for o in missing)
        return CheckResult(EXISTENCE_CHECK, False, f"missing: {names}")
    return CheckResult(EXISTENCE_CHECK, True, f"{len(deployed)} objects checked")


def run_checks(engine: Engine, checks: list[RenderedObject], deployed: list[RenderedObject]) -> list[CheckResult]:
    results = [existence_check(engine, deployed)]
    for check in checks:
        results.extend(engine.run_check(check))
    return results
