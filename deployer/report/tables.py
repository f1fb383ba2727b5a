"""What people read: plans, drift, publish results, checks, the catalog, search results (report room).

Text for the terminal (rich tables), JSON for machines, Markdown for a review. The command line
(deployer.cli) builds nothing of its own output: it calls these.
"""

from __future__ import annotations

import json

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from deployer.engines.base import CheckResult
from deployer.source.catalog import DbObject
from deployer.source.stages import Stage
from deployer.target.apply import PublishResult
from deployer.target.plan import Plan

ACTION_STYLE = {
    "drop": "red", "create": "green", "alter": "yellow", "reapply": "cyan", "unchanged": "dim", "skip": "magenta",
    "blocked": "bold red", "verify": "blue",
}
OUTCOME_STYLE = {
    "dropped": "red", "applied": "green", "unchanged": "dim", "skipped": "magenta", "failed": "bold red", "not run": "red",
    "checked": "blue",
}


def _changes_text(step) -> str:
    return "; ".join(f"{c.change} {c.target}" + (f" ({c.detail})" if c.detail else "") for c in step.changes)


def plan_table(plan: Plan, verbose: bool = False) -> Table:
    table = Table(title=f"Plan for {plan.target} ({plan.engine_name}, package {plan.package_version})")
    table.add_column("stage", no_wrap=True)
    table.add_column("object", no_wrap=True)
    table.add_column("kind")
    table.add_column("action")
    table.add_column("details")
    for stage in Stage:
        steps = [s for s in plan.steps if s.obj.stage == stage]
        if not steps:
            table.add_row(stage.label, "[dim](nothing in this stage yet)[/dim]", "", "", "")
            continue
        for i, step in enumerate(steps):
            style = ACTION_STYLE.get(step.action, "")
            details = _changes_text(step) or (step.reason if (verbose or step.action != "unchanged") else "")
            table.add_row(stage.label if i == 0 else "", step.obj.name, step.obj.kind,
                          f"[{style}]{step.action}[/{style}]", escape(details))
    return table


def data_loss_table(plan: Plan) -> Table:
    table = Table(title="Possible data loss", title_style="bold red")
    for column in ("object", "change", "column / object", "rows", "what happens"):
        table.add_column(column, justify="right" if column == "rows" else "left")
    for alert in plan.data_loss:
        table.add_row(escape(alert.object), alert.change, escape(alert.target), f"{alert.rows:,}", escape(alert.text))
    return table


def drift_table(plan: Plan) -> Table:
    table = Table(title="Drift: the target differs from what was deployed", title_style="bold yellow")
    table.add_column("object")
    table.add_column("kind")
    table.add_column("drift")
    labels = {"changed": "changed outside the package", "missing": "missing (in the history)",
              "unknown": "unknown to the package"}
    for key, label in labels.items():
        for name, kind in getattr(plan.drift, key):
            table.add_row(escape(name), escape(kind), label)
    return table


def print_plan(console: Console, plan: Plan, verbose: bool = False) -> None:
    console.print(plan_table(plan, verbose=verbose))
    if plan.data_loss:
        console.print(data_loss_table(plan))
    if plan.drift.any:
        console.print(drift_table(plan))
    console.print(f"plan: {plan_summary(plan)}" + ("" if plan.has_differences else " (no differences)"))


def plan_summary(plan: Plan) -> str:
    counts = plan.counts()
    order = ["create", "alter", "reapply", "drop", "unchanged", "skip", "blocked", "verify"]
    text = ", ".join(f"{counts[a]} {a}" for a in order if counts.get(a))
    if plan.data_loss:
        text += f"; {len(plan.data_loss)} data-loss alerts"
    if plan.drift.any:
        text += f"; drift: {len(plan.drift.changed)} changed, {len(plan.drift.missing)} missing, " \
                f"{len(plan.drift.unknown)} unknown"
    return text


def plan_document(plan: Plan) -> dict:
    """The plan for machines (`--format json`)."""
    return {
        "target": plan.target,
        "engine": plan.engine_name,
        "package_version": plan.package_version,
        "differences": plan.has_differences,
        "summary": plan.counts(),
        "objects": [
            {"name": s.obj.name, "kind": s.obj.kind, "stage": int(s.obj.stage), "stage_title": s.obj.stage.title,
             "file": s.obj.source_label, "action": s.action, "reason": s.reason,
             "changes": [c.as_dict() for c in s.changes], "data_loss": [a.as_dict() for a in s.alerts]}
            for s in plan.steps
        ],
        "data_loss": [a.as_dict() for a in plan.data_loss],
        "drift": plan.drift.as_dict(),
    }


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def plan_markdown(plan: Plan) -> str:
    """The plan to paste into a review (`--format markdown`)."""
    lines = [f"## Plan for `{plan.target}` ({plan.engine_name}, package {plan.package_version})", "",
             f"**{plan_summary(plan)}**" + ("" if plan.has_differences else " — no differences"), ""]
    for stage in Stage:
        steps = [s for s in plan.steps if s.obj.stage == stage and (s.action != "unchanged" or s.changes)]
        lines.append(f"### {stage.label}")
        if not steps:
            lines += ["", "no changes" if any(s.obj.stage == stage for s in plan.steps) else "nothing in this stage yet", ""]
            continue
        lines += ["", "| object | kind | action | details |", "|---|---|---|---|"]
        for s in steps:
            lines.append(f"| `{s.obj.name}` | {s.obj.kind} | **{s.action}** | {_md(_changes_text(s) or s.reason)} |")
        lines.append("")
    if plan.data_loss:
        lines += ["### Possible data loss", "", "| object | change | target | rows | what happens |", "|---|---|---|---:|---|"]
        lines += [f"| `{a.object}` | {a.change} | `{a.target}` | {a.rows:,} | {_md(a.text)} |" for a in plan.data_loss]
        lines.append("")
    if plan.drift.any:
        lines += ["### Drift", ""]
        for key in ("changed", "missing", "unknown"):
            lines += [f"- {key}: `{name}` ({kind})" for name, kind in getattr(plan.drift, key)]
        lines.append("")
    return "\n".join(lines)


def stage_summary_table(result: PublishResult) -> Table:
    table = Table(title="Deployed, by stage")
    table.add_column("stage")
    for outcome in ("applied", "dropped", "unchanged", "skipped", "failed", "not run", "checked"):
        table.add_column(outcome, justify="right")
    table.add_column("seconds", justify="right")
    for stage in Stage:
        rows = [o for o in result.outcomes if o.stage == int(stage)]
        cells = [str(sum(1 for o in rows if o.outcome == k) or "") for k in
                 ("applied", "dropped", "unchanged", "skipped", "failed", "not run", "checked")]
        table.add_row(stage.label, *cells, f"{sum(o.seconds for o in rows):.2f}")
    return table


def failures_table(result: PublishResult) -> Table:
    table = Table(title="Failed objects", title_style="bold red")
    table.add_column("object")
    table.add_column("error")
    for outcome in result.failed:
        table.add_row(outcome.object, escape(outcome.detail))
    return table


def checks_table(checks: list[CheckResult]) -> Table:
    table = Table(title="Verification (stage 8)")
    table.add_column("check")
    table.add_column("result")
    table.add_column("detail")
    for check in checks:
        table.add_row(escape(check.name), "[green]pass[/green]" if check.passed else "[bold red]FAIL[/bold red]",
                      escape(check.detail))
    return table


def print_publish(console: Console, result: PublishResult) -> None:
    console.print(stage_summary_table(result))
    if result.failed:
        console.print(failures_table(result))
    if result.checks:
        console.print(checks_table(result.checks))
    applied = len(result.applied)
    if result.status == "no changes":
        console.print(f"[bold]No changes:[/bold] every object matches the deployment history; no DDL was executed "
                      f"({result.seconds:.2f} s).")
    elif result.status == "succeeded":
        console.print(f"[bold green]Published[/bold green] {applied} objects in {result.seconds:.2f} s.")
    else:
        console.print(f"[bold red]Publish failed:[/bold red] {len(result.failed)} objects failed, "
                      f"{len(result.failed_checks)} checks failed ({applied} applied).")
    if result.log_path:
        console.print(f"log: {result.log_path}")
    if result.error_path:
        console.print(f"errors: {result.error_path}")


def checks_summary(console: Console, checks: list[CheckResult], label: str) -> bool:
    """The checks table and a one-line verdict; True when every check passed."""
    console.print(checks_table(checks))
    failed = [c for c in checks if not c.passed]
    if failed:
        console.print(f"[bold red]{len(failed)} of {len(checks)} checks failed:[/bold red] "
                      + escape("; ".join(c.name for c in failed)))
        return False
    console.print(f"[bold green]all {len(checks)} checks passed[/bold green] on {escape(label)}")
    return True


def print_drift(console: Console, plan: Plan, form: str) -> None:
    drift = plan.drift
    if form == "json":
        print(json.dumps({"target": plan.target, "drift": drift.any, **drift.as_dict()}, indent=2))
    elif form == "markdown":
        print(f"## Drift on `{plan.target}`\n")
        for key in ("changed", "missing", "unknown"):
            print("\n".join(f"- {key}: `{name}` ({kind})" for name, kind in getattr(drift, key)) or f"- {key}: none")
    elif drift.any:
        console.print(drift_table(plan))
    else:
        console.print(f"no drift: {escape(plan.target)} is as the deployment history says")


def print_plan_as(console: Console, plan: Plan, form: str, verbose: bool = False) -> None:
    if form == "json":
        print(json.dumps(plan_document(plan), indent=2))
    elif form == "markdown":
        print(plan_markdown(plan))
    else:
        print_plan(console, plan, verbose=verbose)


def print_dry_run(console: Console, plan: Plan, script: str, verbose: bool) -> None:
    print_plan(console, plan, verbose=verbose)
    if script:
        console.rule("SQL publish would execute")
        console.print(script, markup=False, highlight=False)
    else:
        console.print("nothing to execute: the target matches the package")


def catalog_table(by_engine: dict[str, dict[str, DbObject]], engine_specific_only: bool) -> Table:
    """Every object of the package: stage, kind, the engines it exists for, requirements."""
    engines = list(by_engine)
    names = list(dict.fromkeys(n for objects in by_engine.values() for n in objects))
    names.sort(key=lambda n: int(next(by_engine[e][n] for e in engines if n in by_engine[e]).stage))
    table = Table(title="Objects in the package")
    for column in ("stage", "object", "kind", "engines", "requires", "engine-specific because"):
        table.add_column(column, no_wrap=column in ("stage", "object"))
    for name in names:
        objs = [by_engine[e][name] for e in engines if name in by_engine[e]]
        first = objs[0]
        if engine_specific_only and len(objs) == len(engines):
            continue
        table.add_row(first.stage.label, name, first.kind, ", ".join(o.engine_name for o in objs),
                      ", ".join(first.requires), first.engine_specific or "")
    return table


def search_table(text: str, results: list[dict]) -> Table:
    table = Table(title=f"Closest to {text!r}")
    for column in ("rank", "score", "AtomId", "preview"):
        table.add_column(column, justify="right" if column in ("rank", "score", "AtomId") else "left")
    for row in results:
        table.add_row(str(row["rank"]), f"{row['score']:.4f}", str(row["atom_id"]),
                      escape((row["preview"] or f"({row['content_type']})")[:100]))
    return table


def model_ingested(path, result: dict) -> str:
    """One line per ingested model file (markup-free)."""
    if result["existing"]:
        return f"job {result['job']}: {path} is already model {result['model_id']} (same content)"
    return (f"job {result['job']}: {path} -> model {result['model_id']}: {result['tensors']} tensors, "
            f"{result['bytes'] / 1e6:.1f} MB ({result['sent'] / 1e6:.1f} MB new chunks)")


def atoms_ingested(result: dict) -> str:
    resumed = f", resumed after {result['resumed_after']}" if result["resumed_after"] else ""
    line = f"job {result['job']}: {result['ingested']} atoms ingested with embeddings ({result['total']} items{resumed})"
    skipped = result.get("skipped") or []
    if skipped:
        line += f"; {len(skipped)} skipped:" + "".join(f"\n  {s['source']}: {s['reason']}" for s in skipped)
    return line


def print_local_status(console: Console, local, running: bool) -> None:
    """`local status`: state, folders and URL of the local engine."""
    state = "running" if running else ("stopped" if local.initialized() else "not initialised")
    for label, value in (("state", state), ("data", local.data_dir), ("log", local.log_file),
                         ("python", local.pyenv_dir), ("url", local.url())):
        console.print(f"{label + ':':9} {value}", markup=False)
    if running:
        console.print(f"{'version:':9} PostgreSQL {local.version()}", markup=False)


HEALTH_STYLES = {"Healthy": "green", "WARNING": "yellow", "FAILED": "bold red"}


def health_table(rows: list[tuple[str, str, str]]) -> Table:
    """The runbook's quick health check (dbo.sp_HealthCheck and the engine's schedule)."""
    table = Table(title="health check", title_justify="left")
    table.add_column("component")
    table.add_column("status")
    table.add_column("detail", overflow="fold")
    for component, status, detail in rows:
        table.add_row(component, f"[{HEALTH_STYLES.get(status, 'default')}]{status}[/]", escape(detail or ""))
    return table


def loop_table(title: str, rows: list[tuple[str, str]]) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("what")
    table.add_column("done", overflow="fold")
    for what, detail in rows:
        table.add_row(what, escape(detail))
    return table
