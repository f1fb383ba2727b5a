"""Report: what people read after render, plan, publish and verify (last step of the pipeline)."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from deployer.apply import PublishResult
from deployer.engines.base import CheckResult
from deployer.plan import Plan
from deployer.stages import Stage

ACTION_STYLE = {
    "create": "green", "alter": "yellow", "reapply": "cyan", "unchanged": "dim", "skip": "magenta",
    "blocked": "bold red", "verify": "blue",
}
OUTCOME_STYLE = {
    "applied": "green", "unchanged": "dim", "skipped": "magenta", "failed": "bold red", "not run": "red",
    "checked": "blue",
}


def plan_table(plan: Plan, verbose: bool = False) -> Table:
    table = Table(title=f"Plan for {plan.target} ({plan.engine}, package {plan.package_version})")
    table.add_column("stage")
    table.add_column("object")
    table.add_column("kind")
    table.add_column("action")
    table.add_column("why" if verbose else "file")
    for stage in Stage:
        steps = [s for s in plan.steps if s.obj.stage == stage]
        if not steps:
            table.add_row(stage.label, "[dim](nothing in this stage yet)[/dim]", "", "", "")
            continue
        for i, step in enumerate(steps):
            style = ACTION_STYLE.get(step.action, "")
            table.add_row(stage.label if i == 0 else "", step.obj.name, step.obj.kind,
                          f"[{style}]{step.action}[/{style}]", escape(step.reason if verbose else step.obj.source_label))
    return table


def plan_summary(plan: Plan) -> str:
    counts = plan.counts()
    order = ["create", "alter", "reapply", "unchanged", "skip", "blocked", "verify"]
    return ", ".join(f"{counts[a]} {a}" for a in order if counts.get(a))


def stage_summary_table(result: PublishResult) -> Table:
    table = Table(title="Deployed, by stage")
    table.add_column("stage")
    for outcome in ("applied", "unchanged", "skipped", "failed", "not run", "checked"):
        table.add_column(outcome, justify="right")
    table.add_column("seconds", justify="right")
    for stage in Stage:
        rows = [o for o in result.outcomes if o.stage == int(stage)]
        cells = [str(sum(1 for o in rows if o.outcome == k) or "") for k in
                 ("applied", "unchanged", "skipped", "failed", "not run", "checked")]
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
