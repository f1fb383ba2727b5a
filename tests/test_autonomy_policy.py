"""The autonomous loop's policy (hartonomous_ext.autonomy), which both engines' phases call: the
catalog, scores, approvals, verdicts and the index a plan asks for. No database."""

from __future__ import annotations

import json

import pytest

from hartonomous_ext import autonomy


def test_every_catalog_action_has_an_area_and_a_risk_and_only_dropping_an_index_is_destructive():
    rows = autonomy.catalog()
    assert {r[0] for r in rows} == set(autonomy.ACTIONS)
    assert all(r[1] in autonomy.AREAS and 0 <= r[5] < 1 for r in rows)
    assert {r[0] for r in rows if r[2]} == {"drop_index"}


def test_scores_weigh_gain_by_risk_and_by_what_the_type_kept_or_failed():
    fresh = autonomy.score("create_index", 0.9, 0, 0)
    assert fresh == 3.6
    assert autonomy.score("create_index", 0.9, 5, 0) > fresh > autonomy.score("create_index", 0.9, 0, 3)
    assert autonomy.score("create_index", 7.0, 0, 0) == autonomy.score("create_index", 1.0, 0, 0)  # gain capped at 1
    assert autonomy.score("create_index", -1, 0, 0) == 0.0
    with pytest.raises(ValueError, match="'rm -rf' is not in the action catalog"):
        autonomy.score("rm -rf", 1, 0, 0)


def test_approval_is_needed_for_destructive_switched_off_low_scoring_or_when_asked():
    assert autonomy.needs_approval("create_index", 3.6, 3, False, True) is None
    assert autonomy.needs_approval("drop_index", 9.9, 3, False, True) == "it is destructive"
    assert autonomy.needs_approval("create_index", 9.9, 3, False, False).startswith("its action type is switched off")
    assert autonomy.needs_approval("create_index", 9.9, 3, True, True).startswith("human approval is required")
    assert autonomy.needs_approval("analyze_table", 2.5, 3, False, True) == "its score 2.50 is below the threshold 3"


@pytest.mark.parametrize("action, before, after, verdict, improvement", [
    ("create_index", 10.0, 0.5, "kept", 0.95),
    ("create_index", 10.0, 10.5, "reverted", -0.05),    # a new index must earn its writes
    ("reindex_index", 10.0, 10.5, "kept", -0.05),       # within the tolerance
    ("create_index", 10.0, 8.0, "kept", 0.2),
    ("create_index", 10.0, 12.0, "reverted", -0.2),
    ("analyze_table", 10.0, 12.0, "regressed", -0.2),   # worse, and no revert exists for it
    ("drop_index", 0.0, 3.0, "reverted", -1.0),
    ("create_index", None, 3.0, "kept", None),          # nothing ran: nothing to judge on
])
def test_verdicts_keep_or_revert_on_the_metric_with_a_tolerance(action, before, after, verdict, improvement):
    assert autonomy.judge(action, before, after, 0.10) == (verdict, improvement)


def test_only_a_measurable_gain_counts_as_kept():
    assert autonomy.counts_as_kept("kept", 0.5) and not autonomy.counts_as_kept("kept", 0.01)
    assert not autonomy.counts_as_kept("kept", None) and not autonomy.counts_as_kept("reverted", 0.5)


def plan(filter_text: str, sort_key: str | None = None, relation: str = "inferencerequests") -> str:
    scan = {"Node Type": "Seq Scan", "Relation Name": relation, "Filter": filter_text}
    node = {"Node Type": "Sort", "Sort Key": [sort_key], "Plans": [scan]} if sort_key else scan
    return json.dumps([{"Plan": {"Node Type": "Limit", "Plans": [node]}}])


def test_index_candidates_are_the_equality_columns_then_a_range_or_sort_column():
    columns = ["RequestId", "TaskType", "StartTime", "TenantId"]
    assert autonomy.index_candidates(plan("((tasktype)::text = $1)", "inferencerequests.starttime DESC"),
                                     "inferencerequests", columns) == [["tasktype"], ["tasktype", "starttime"]]
    assert autonomy.index_candidates(plan("((tenantid = $1) AND (starttime >= (now() - '00:10:00'::interval)))"),
                                     "inferencerequests", columns) == [["tenantid"], ["tenantid", "starttime"]]
    parallel = json.dumps([{"Plan": {"Node Type": "Aggregate", "Plans": [{"Node Type": "Gather", "Plans": [
        {"Node Type": "Parallel Seq Scan", "Relation Name": "inferencerequests",
         "Filter": "((tenantid = $1) AND (starttime >= (now() - '00:10:00'::interval)))"}]}]}}])
    assert autonomy.index_candidates(parallel, "inferencerequests", columns) == [["tenantid"], ["tenantid", "starttime"]]
    # another table's scan, an unknown column, no filter: nothing to propose
    assert autonomy.index_candidates(plan("(tasktype = $1)", relation="atoms"), "inferencerequests", columns) == []
    assert autonomy.index_candidates(plan("(nosuchcolumn = $1)"), "inferencerequests", columns) == []
    with pytest.raises(json.JSONDecodeError):
        autonomy.index_candidates("not a plan", "inferencerequests", columns)


def test_index_names_fit_postgresql_identifiers():
    assert autonomy.index_name("InferenceRequests", ["TaskType", "StartTime"]) == "ix_auto_inferencerequests_tasktype_starttime"
    long = [autonomy.index_name("t" * 80, [c]) for c in ("a", "b")]
    assert len(long[0]) == 63 and long[0] != long[1] and long[0][:54] == long[1][:54]
