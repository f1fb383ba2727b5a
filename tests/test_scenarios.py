"""Golden scenarios for plan, publish and drift on a real PostgreSQL (migra-style).

One folder per scenario under tests/scenarios/:

    scenario.json   "before_edits": edits to a copy of db/ that make the starting package;
                    "after_edits": edits that make the changed package from it (each edit replaces
                    one exact, unique piece of a file, so a change to db/ that breaks a scenario
                    fails it loudly instead of testing a stale copy);
                    "delete": files removed from the changed package; "plan_exit"; "publish": the
                    publishes to try in turn, with their arguments, exit codes and output;
                    "after_rows": queries and their rows once published; "drift_exit";
                    "final_drift": drift that remains (default: none)
    before/         new files for the starting package (optional)
    setup.sql       run on the target after the starting package is published (rows, hand edits)
    expected.json   the expected plan report: the objects that are not unchanged, with their action
                    and changes, the data-loss alerts and the drift

Each scenario ends with the convergence check: once published, a new plan has no differences.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conftest import capture_ddl, ddl_seen, query

SCENARIOS = sorted(p for p in (Path(__file__).parent / "scenarios").iterdir() if p.is_dir())
NO_DRIFT = {"changed": [], "missing": [], "unknown": []}


def _overlay(source: Path, target: Path) -> None:
    if source.is_dir():
        shutil.copytree(source, target, dirs_exist_ok=True)


def _edit(package: Path, edits: list[dict]) -> None:
    for edit in edits:
        path = package / edit["file"]
        text = path.read_text()
        assert text.count(edit["replace"]) == 1, f"{edit['file']}: the scenario's edit no longer applies"
        path.write_text(text.replace(edit["replace"], edit["with"]))


def _plan(run, url, package, *extra):
    result = run("plan", "--target", url, "--source", package, "--format", "json", *extra)
    assert result.code in (0, 1), result
    return result.code, json.loads(result.out)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[p.name for p in SCENARIOS])
def test_scenario(scenario, run, fresh_db, db_copy, tmp_path):
    spec = json.loads((scenario / "scenario.json").read_text())
    expected = json.loads((scenario / "expected.json").read_text())

    _overlay(scenario / "before", db_copy)
    _edit(db_copy, spec.get("before_edits", []))
    first = run("publish", "--target", fresh_db, "--source", db_copy, "--log-dir", tmp_path / "logs")
    assert first.code == 0, first
    if (scenario / "setup.sql").exists():
        query(fresh_db, (scenario / "setup.sql").read_text())

    _edit(db_copy, spec.get("after_edits", []))
    for relative in spec.get("delete", []):
        (db_copy / relative).unlink()

    # the plan report
    script = tmp_path / "plan.sql"
    code, report = _plan(run, fresh_db, db_copy, "--script", script)
    assert code == spec["plan_exit"], report
    changed = {o["name"]: o for o in report["objects"] if o["action"] not in ("unchanged", "verify")}
    assert set(changed) == set(expected["objects"]), {n: (o['action'], o.get('reason')) for n, o in changed.items()}
    for name, want in expected["objects"].items():
        assert changed[name]["action"] == want["action"], changed[name]
        if "changes" in want:
            assert changed[name]["changes"] == want["changes"], changed[name]
    assert report["data_loss"] == expected["data_loss"]
    assert report["drift"] == expected["drift"]
    assert report["differences"] == (spec["plan_exit"] == 1)
    text = script.read_text()
    for fragment in expected.get("script_contains", []):
        assert fragment in text, text
    for fragment in expected.get("script_excludes", []):
        assert fragment not in text, text
    if "drift_exit" in spec:
        assert run("drift", "--target", fresh_db, "--source", db_copy).code == spec["drift_exit"]

    # publishing: refused ones execute nothing
    capture_ddl(fresh_db)
    for attempt in spec["publish"]:
        result = run("publish", "--target", fresh_db, "--source", db_copy, "--log-dir", tmp_path / "logs",
                     *attempt["args"])
        assert result.code == attempt["exit"], result
        for fragment in attempt.get("out_contains", []):
            assert fragment in result.out, result
        if attempt["exit"] == 1:
            assert ddl_seen(fresh_db) == [], "a refused publish executed DDL"
    for sql, rows in spec.get("after_rows", {}).items():
        assert [list(r) for r in query(fresh_db, sql)] == rows, sql

    # convergence: the package and the target agree now
    code, after = _plan(run, fresh_db, db_copy)
    leftover = {o["name"]: o["action"] for o in after["objects"] if o["action"] not in ("unchanged", "verify")}
    assert leftover == {}, leftover
    assert after["data_loss"] == []
    final_drift = spec.get("final_drift", NO_DRIFT)
    assert after["drift"] == final_drift
    assert code == (0 if final_drift == NO_DRIFT else 1)


def test_report_formats(run, fresh_db, db_copy, tmp_path):
    """Text for people, JSON for machines, Markdown for reviews: the same plan in each."""
    scenario = Path(__file__).parent / "scenarios" / "column_dropped"
    spec = json.loads((scenario / "scenario.json").read_text())
    _edit(db_copy, spec["before_edits"])
    assert run("publish", "--target", fresh_db, "--source", db_copy, "--log-dir", tmp_path).code == 0
    query(fresh_db, (scenario / "setup.sql").read_text())
    _edit(db_copy, spec["after_edits"])

    text = run("plan", "--target", fresh_db, "--source", db_copy)
    assert text.code == 1
    assert "column dropped legacy" in text.out and "Possible data loss" in text.out and "30" in text.out
    assert "4 advanced tables" in text.out  # every stage is shown

    markdown = run("plan", "--target", fresh_db, "--source", db_copy, "--format", "markdown")
    assert markdown.code == 1
    assert "| `dbo.Atoms` | table | **alter** | column dropped legacy |" in markdown.out
    assert "### Possible data loss" in markdown.out and "| 30 |" in markdown.out

    as_json = json.loads(run("plan", "--target", fresh_db, "--source", db_copy, "--format", "json").out)
    assert as_json["summary"]["alter"] == 1 and as_json["differences"] is True

    script = tmp_path / "publish.sql"
    run("plan", "--target", fresh_db, "--source", db_copy, "--script", script)
    assert "ALTER TABLE dbo.atoms DROP COLUMN legacy;" in script.read_text()
    (tmp_path / "formats").mkdir()
    for name, out in (("text", text.out), ("markdown", markdown.out)):
        (tmp_path / "formats" / f"plan.{name}").write_text(out)


def test_plan_of_an_empty_database_and_exit_codes(run, pg_instance, fresh_db, tmp_path):
    code, report = _plan(run, fresh_db, str(Path(__file__).parents[1] / "db"))
    assert code == 1 and report["summary"]["create"] > 20
    assert run("publish", "--target", fresh_db, "--log-dir", tmp_path).code == 0
    assert run("plan", "--target", fresh_db).code == 0
    assert run("drift", "--target", fresh_db).code == 0
    assert run("plan", "--target", "postgresql://nobody@127.0.0.1:1/x").code == 2
