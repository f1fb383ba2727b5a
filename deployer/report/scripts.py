"""Scripts people run or review: `render --out` output and the SQL a plan would execute.

`render --out` writes one .sql file per object under objects/<stage>/ and one combined script in
the engine's own form (the dialect writes it: `sqlcmd -i` for SQL Server, `psql -f` for
PostgreSQL). `plan_script` is exactly what publish would execute for a plan, each object
introduced by a comment (`plan --script`, `publish --dry-run`).
"""

from __future__ import annotations

from pathlib import Path

from deployer import __version__
from deployer.source.render import RenderedObject
from deployer.source.stages import Stage
from deployer.target.plan import Plan


def _stage_dir(stage: Stage) -> str:
    return f"{int(stage)}-{stage.title.replace(' ', '-')}"


def write_render(rendered: list[RenderedObject], out: Path, dialect, version: int | None, *,
                 filestream: bool = True) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    for position, r in enumerate(rendered, start=1):
        folder = out / "objects" / _stage_dir(r.obj.stage)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{position:03d}-{r.obj.name}.sql").write_text(dialect.object_file(r), encoding="utf-8")
    for stage in Stage:  # empty stages still show in the output
        (out / "objects" / _stage_dir(stage)).mkdir(parents=True, exist_ok=True)
    combined = out / dialect.script_name(version)
    combined.write_text(dialect.combined_script(rendered, __version__, version), encoding="utf-8")
    for name, text in dialect.operation_scripts(__version__, version, filestream).items():
        (out / name).write_text(text, encoding="utf-8")
    return combined


def plan_script(plan: Plan, dialect) -> str:
    """The SQL publish would execute, in order, each object introduced by a comment."""
    parts = []
    for step in plan.changes:
        obj = step.obj
        parts.append(f"-- [{obj.stage.label}] {step.action} {obj.kind} {obj.name} ({obj.source_label})\n")
        parts.append(dialect.join_batches(step.statements(dialect)))
        parts.append("\n")
    return "".join(parts)
