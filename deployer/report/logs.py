"""The deployment logs every publish writes (the report room).

deployment-log-<timestamp>.json: per-object action, outcome and seconds, and the check results;
deployment-error-<timestamp>.json: the failed objects and checks, or, for a publish refused before
it executed anything, the reasons (data loss, drift, blocked objects).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path

from deployer.target.apply import PlanRefused, PublishResult


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def _stamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")


def write_refusal(refused: PlanRefused, log_dir: Path, engine_label: str) -> Path:
    """deployment-error-*.json for a plan publish refused before executing anything."""
    plan = refused.plan
    log_dir.mkdir(parents=True, exist_ok=True)
    path = log_dir / f"deployment-error-{_stamp()}.json"
    document = {
        "package_version": plan.package_version,
        "target": engine_label,
        "finished_at": _now(),
        "status": "refused",
        "executed": [],
        "reasons": refused.reasons,
        "data_loss": [a.as_dict() for a in plan.data_loss],
        "drift": plan.drift.as_dict(),
        "blocked_objects": [
            {"object": s.obj.name, "kind": s.obj.kind, "file": s.obj.source_label, "reason": s.reason}
            for s in plan.blocked
        ],
    }
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return path


def write_logs(result: PublishResult, log_dir: Path, engine_label: str) -> None:
    log_dir.mkdir(parents=True, exist_ok=True)
    stamp = _stamp()
    plan = result.plan
    document = {
        "package_version": plan.package_version,
        "engine": plan.engine_name,
        "target": engine_label,
        "started_at": result.started_at,
        "finished_at": result.finished_at,
        "seconds": result.seconds,
        "status": result.status,
        "counts": plan.counts(),
        "objects": [asdict(o) for o in result.outcomes],
        "checks": [asdict(c) for c in result.checks],
    }
    result.log_path = log_dir / f"deployment-log-{stamp}.json"
    result.log_path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    if result.status == "failed":
        errors = {
            "package_version": plan.package_version,
            "target": engine_label,
            "finished_at": result.finished_at,
            "failed_objects": [asdict(o) for o in result.failed],
            "not_run": [o.object for o in result.outcomes if o.outcome == "not run"],
            "failed_checks": [asdict(c) for c in result.failed_checks],
        }
        result.error_path = log_dir / f"deployment-error-{stamp}.json"
        result.error_path.write_text(json.dumps(errors, indent=2) + "\n", encoding="utf-8")
