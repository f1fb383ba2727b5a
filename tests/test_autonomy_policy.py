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
    ("rebuild_vector_index", 0.0, 40.0, "kept", None),  # nothing to bring down when it ran: new work came after
    ("create_index", None, 3.0, "kept", None),          # nothing ran: nothing to judge on
])
def test_verdicts_keep_or_revert_on_the_metric_with_a_tolerance(action, before, after, verdict, improvement):
    assert autonomy.judge(action, before, after, 0.10) == (verdict, improvement)


def test_only_a_measurable_gain_counts_as_kept():
    assert autonomy.counts_as_kept("kept", 0.5) and not autonomy.counts_as_kept("kept", 0.01)
    assert not autonomy.counts_as_kept("kept", None) and not autonomy.counts_as_kept("reverted", 0.5)


def test_reclustering_runs_online_without_approval_and_is_judged_on_the_changed_share():
    from hartonomous_ext import policy
    area, destructive, online, revertable, *_ = autonomy.ACTIONS["recluster_concepts"]
    # a batch run in the online runner (its own session on PostgreSQL, after the phase commits on
    # SQL Server), never inside a phase's transaction; nothing to undo, and nothing lost by it
    assert (area, destructive, online, revertable) == ("maintenance", False, True, False)
    # an observation at the threshold has the whole gain (the share in units of the threshold, at
    # most 1): with no record yet it is applied without a person
    first = autonomy.score("recluster_concepts", min(1.0, policy.CONCEPT_RECLUSTER_SHARE / policy.CONCEPT_RECLUSTER_SHARE), 0, 0)
    assert first >= policy.LOOP_AUTO_APPROVE_THRESHOLD
    assert autonomy.needs_approval("recluster_concepts", first, policy.LOOP_AUTO_APPROVE_THRESHOLD, False, True) is None
    assert autonomy.needs_approval("recluster_concepts", first, policy.LOOP_AUTO_APPROVE_THRESHOLD, True, True) \
        .startswith("human approval is required")
    # judged on the changed share, which a completed run brings to 0: kept, and counted as kept
    verdict, improvement = autonomy.judge("recluster_concepts", 0.3, 0.0, policy.LOOP_REVERT_TOLERANCE)
    assert (verdict, improvement) == ("kept", 1.0) and autonomy.counts_as_kept(verdict, improvement)
    # more changed after it than before (atoms kept arriving while it ran): worse, and no revert exists
    assert autonomy.judge("recluster_concepts", 0.3, 0.5, policy.LOOP_REVERT_TOLERANCE)[0] == "regressed"
    assert 0 < policy.CONCEPT_RECLUSTER_SHARE < 1 and policy.CONCEPT_RECLUSTER_MIN_ATOMS >= 2
    assert policy.CONCEPT_RECLUSTER_INTERVAL_HOURS > 0


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


# A statement's plan as Query Store keeps it (sys.query_store_plan.query_plan), cut to what matters:
# two missing-index groups, one on another table
SHOWPLAN = """<ShowPlanXML xmlns="http://schemas.microsoft.com/sqlserver/2004/07/showplan" Version="1.564" Build="16.0.1000.6">
<BatchSequence><Batch><Statements>
<StmtSimple StatementText="SELECT ... FROM dbo.InferenceRequests r JOIN dbo.Atoms a ..." StatementId="1" StatementType="SELECT">
<QueryPlan DegreeOfParallelism="1" CachedPlanSize="40">
<MissingIndexes>
<MissingIndexGroup Impact="87.5">
<MissingIndex Database="[Hartonomous]" Schema="[dbo]" Table="[InferenceRequests]">
<ColumnGroup Usage="EQUALITY"><Column Name="[TaskType]" ColumnId="3" /><Column Name="[TenantId]" ColumnId="2" /></ColumnGroup>
<ColumnGroup Usage="INEQUALITY"><Column Name="[StartTime]" ColumnId="6" /><Column Name="[DurationMs]" ColumnId="7" /></ColumnGroup>
<ColumnGroup Usage="INCLUDE"><Column Name="[Status]" ColumnId="10" /></ColumnGroup>
</MissingIndex>
</MissingIndexGroup>
<MissingIndexGroup Impact="40.25">
<MissingIndex Database="[Hartonomous]" Schema="[dbo]" Table="[Atoms]">
<ColumnGroup Usage="EQUALITY"><Column Name="[ContentHash]" ColumnId="4" /></ColumnGroup>
</MissingIndex>
</MissingIndexGroup>
</MissingIndexes>
<RelOp NodeId="0" PhysicalOp="Clustered Index Scan" LogicalOp="Clustered Index Scan">
<IndexScan><Object Database="[Hartonomous]" Schema="[dbo]" Table="[InferenceRequests]" Index="[PK_InferenceRequests]" /></IndexScan>
</RelOp>
</QueryPlan>
</StmtSimple>
</Statements></Batch></BatchSequence>
</ShowPlanXML>"""
REQUEST_COLUMNS = ["RequestId", "TenantId", "TaskType", "ModelId", "Parameters", "StartTime", "DurationMs", "Status"]


def test_showplan_index_candidates_read_the_tables_missing_index_groups():
    found = autonomy.showplan_index_candidates(SHOWPLAN, "InferenceRequests", REQUEST_COLUMNS)
    # equality columns, then the first inequality; INCLUDE columns are no key; names as the table spells them
    assert found == [{"columns": ["TaskType", "TenantId", "StartTime"], "impact": 0.875,
                      "name": "ix_auto_inferencerequests_tasktype_tenantid_starttime"}]
    assert autonomy.showplan_index_candidates(SHOWPLAN, "inferencerequests", REQUEST_COLUMNS, schema="dbo") == found
    # another table's group is that table's: the Atoms group is not proposed for InferenceRequests
    assert autonomy.showplan_index_candidates(SHOWPLAN, "Atoms", ["AtomId", "ContentHash"]) == [
        {"columns": ["ContentHash"], "impact": 0.4025, "name": "ix_auto_atoms_contenthash"}]
    assert autonomy.showplan_index_candidates(SHOWPLAN, "InferenceRequests", REQUEST_COLUMNS, schema="graph") == []
    assert autonomy.showplan_index_candidates(SHOWPLAN, "Models", ["ModelId"]) == []
    with pytest.raises(Exception):
        autonomy.showplan_index_candidates("not a plan", "InferenceRequests", REQUEST_COLUMNS)


def test_showplan_index_candidates_unbracket_names_and_leave_long_keys_out():
    quoted = SHOWPLAN.replace("[InferenceRequests]", "[Odd]]Name]").replace("[TaskType]", "[Task]]Type]")
    found = autonomy.showplan_index_candidates(quoted, "Odd]Name", ["Task]Type", "TenantId", "StartTime"])
    assert [c["columns"] for c in found] == [["Task]Type", "TenantId", "StartTime"]]
    wide = SHOWPLAN.replace('<Column Name="[TenantId]" ColumnId="2" />',
                            '<Column Name="[TenantId]" ColumnId="2" /><Column Name="[ModelId]" ColumnId="4" />')
    assert autonomy.showplan_index_candidates(wide, "InferenceRequests", REQUEST_COLUMNS) == []  # four key columns


def test_the_best_index_candidate_weighs_impact_by_each_plans_time():
    other = SHOWPLAN.replace('Impact="87.5"', 'Impact="10"').replace(
        '<Column Name="[TenantId]" ColumnId="2" />', "")
    plans = [{"query_id": 7, "plan_id": 70, "total_ms": 900.0, "showplan": SHOWPLAN},
             {"query_id": 8, "plan_id": 80, "total_ms": 100.0, "showplan": other}]
    best = autonomy.best_index_candidate("InferenceRequests", REQUEST_COLUMNS, plans, schema="dbo")
    assert best["columns"] == ["TaskType", "TenantId", "StartTime"]
    assert best["gain"] == round(900 * 0.875 / 1000, 4)
    assert best["plans"] == [{"query_id": 7, "plan_id": 70, "impact": 0.875, "total_ms": 900.0}]
    # a suggestion for a little of the time is not worth an index (LOOP_MIN_INDEX_GAIN)
    assert autonomy.best_index_candidate("InferenceRequests", REQUEST_COLUMNS, [plans[1]]) is None
    assert autonomy.best_index_candidate("InferenceRequests", REQUEST_COLUMNS, []) is None


def test_score_candidates_is_score_and_needs_approval_for_each_row():
    rows = [{"ObservationId": 1, "ActionType": "create_index", "ExpectedGain": 0.9, "KeptCount": 2, "FailedCount": 1,
             "Threshold": 3.0, "RequireHumanApproval": False, "IsAllowlisted": True},
            {"ObservationId": 2, "ActionType": "drop_index", "ExpectedGain": 0.5, "KeptCount": 0, "FailedCount": 0,
             "Threshold": 3.0, "RequireHumanApproval": 0, "IsAllowlisted": 1},
            {"ObservationId": 3, "ActionType": "analyze_table", "ExpectedGain": 0.1, "KeptCount": 0, "FailedCount": 0,
             "Threshold": 3.0, "RequireHumanApproval": 1, "IsAllowlisted": 1}]
    scored = json.loads(autonomy.score_candidates(json.dumps(rows)))
    assert [r["ObservationId"] for r in scored] == [1, 2, 3]
    for row, out in zip(rows, scored):
        expected = autonomy.score(row["ActionType"], row["ExpectedGain"], row["KeptCount"], row["FailedCount"])
        assert out["Score"] == expected
        assert out["ApprovalReason"] == autonomy.needs_approval(row["ActionType"], expected, row["Threshold"],
                                                                bool(row["RequireHumanApproval"]),
                                                                bool(row["IsAllowlisted"]))
    assert scored[0]["ApprovalReason"] is None and scored[1]["ApprovalReason"] == "it is destructive"
    # a stored score (sp_Act) is judged as it is, not scored again
    kept = json.loads(autonomy.score_candidates(json.dumps([{**rows[0], "Score": 1.5}])))[0]
    assert kept["Score"] == 1.5 and kept["ApprovalReason"] == "its score 1.50 is below the threshold 3"


def test_score_candidates_refuses_what_it_cannot_score():
    row = {"ActionType": "create_index", "ExpectedGain": 0.9, "KeptCount": 0, "FailedCount": 0, "Threshold": 3.0,
           "RequireHumanApproval": 0, "IsAllowlisted": 1}
    with pytest.raises(ValueError, match="'rm -rf' is not in the action catalog"):
        autonomy.score_candidates(json.dumps([{**row, "ActionType": "rm -rf"}]))
    with pytest.raises(ValueError, match="row 1 has no Threshold"):
        autonomy.score_candidates(json.dumps([{k: v for k, v in row.items() if k != "Threshold"}]))
    with pytest.raises(ValueError, match="expected a JSON array"):
        autonomy.score_candidates(json.dumps(row))
    with pytest.raises(ValueError, match="row 2 is not a JSON object"):
        autonomy.score_candidates(json.dumps([row, 5]))


def test_judge_actions_is_judge_and_counts_as_kept_for_each_row_in_order():
    rows = [{"ActionId": 9007199254740993, "ActionType": "create_index", "MetricBefore": 10.0, "MetricAfter": 2.0,
             "Tolerance": 0.1},
            {"ActionId": 2, "ActionType": "create_index", "MetricBefore": 10.0, "MetricAfter": 9.5, "Tolerance": 0.1},
            {"ActionId": 3, "ActionType": "analyze_table", "MetricBefore": 0.0, "MetricAfter": 5.0, "Tolerance": 0.1},
            {"ActionId": 4, "ActionType": "drop_index", "MetricBefore": 10.0, "MetricAfter": 20.0, "Tolerance": 0.1},
            {"ActionId": 5, "ActionType": "purge_loop_history", "Tolerance": 0.1}]  # FOR JSON leaves out NULLs
    judged = json.loads(autonomy.judge_actions(json.dumps(rows)))
    assert [j["ActionId"] for j in judged] == [r["ActionId"] for r in rows]  # a BIGINT id comes back exact
    for row, out in zip(rows, judged):
        verdict, improvement = autonomy.judge(row["ActionType"], row.get("MetricBefore"), row.get("MetricAfter"),
                                              row["Tolerance"])
        assert (out["Verdict"], out["Improvement"]) == (verdict, improvement)
        assert out["CountsAsKept"] == int(autonomy.counts_as_kept(verdict, improvement))
    assert [j["Verdict"] for j in judged] == ["kept", "reverted", "kept", "reverted", "kept"]
    assert [j["CountsAsKept"] for j in judged] == [1, 0, 0, 0, 0]
    assert judged[4]["Improvement"] is None


def test_judge_actions_of_no_rows_and_of_an_unknown_type():
    assert json.loads(autonomy.judge_actions("[]")) == []
    with pytest.raises(ValueError, match="'rm -rf' is not in the action catalog"):
        autonomy.judge_actions(json.dumps([{"ActionId": 1, "ActionType": "rm -rf", "MetricBefore": 1, "MetricAfter": 1,
                                            "Tolerance": 0.1}]))


def test_the_best_index_candidate_leaves_out_a_plan_it_cannot_read_and_names_it():
    # as PostgreSQL leaves out a statement it cannot plan: the readable plans decide, over their own time
    plans = [{"query_id": 7, "plan_id": 70, "total_ms": 900.0, "showplan": SHOWPLAN},
             {"query_id": 8, "plan_id": 80, "total_ms": 5000.0, "showplan": "<ShowPlanXML><not closed"},
             {"query_id": 9, "plan_id": 90, "total_ms": 5000.0},  # no showplan: Query Store let it go
             {"query_id": 10, "plan_id": 100, "total_ms": "a while", "showplan": SHOWPLAN},
             "not a plan"]
    problems = []
    best = autonomy.best_index_candidate("InferenceRequests", REQUEST_COLUMNS, plans, schema="dbo", problems=problems)
    assert best["columns"] == ["TaskType", "TenantId", "StartTime"] and best["gain"] == 0.875
    assert best["plans"] == [{"query_id": 7, "plan_id": 70, "impact": 0.875, "total_ms": 900.0}]
    assert [(p["plan_id"], p["query_id"]) for p in problems] == [(80, 8), (90, 9), (100, 10), (None, None)]
    assert problems[0]["problem"].startswith("ParseError: ")
    assert problems[1]["problem"].startswith("ValueError: no showplan")
    assert problems[2]["problem"].startswith("ValueError: could not convert string to float")
    assert problems[3]["problem"] == "TypeError: plan 5 is not a JSON object"
    # nothing readable: no candidate, and every plan named
    problems = []
    assert autonomy.best_index_candidate("InferenceRequests", REQUEST_COLUMNS, plans[1:3], problems=problems) is None
    assert len(problems) == 2
    # without a list to report into, a plan it cannot read still raises
    with pytest.raises(ValueError, match="no showplan"):
        autonomy.best_index_candidate("InferenceRequests", REQUEST_COLUMNS, [plans[0], plans[2]])


def test_score_candidates_leaves_out_a_row_it_cannot_score_and_names_it():
    good = {"ObservationId": 1, "ActionType": "analyze_table", "ExpectedGain": 0.5, "KeptCount": 0, "FailedCount": 0,
            "Threshold": 3.0, "RequireHumanApproval": 0, "IsAllowlisted": 1}
    rows = [good,
            {**good, "ObservationId": 2, "ActionType": "rm -rf"},
            {k: v for k, v in good.items() if k != "Threshold"} | {"ObservationId": 3},
            {**good, "ObservationId": 4, "KeptCount": "many"},
            {**good, "ObservationId": 5, "Threshold": None},
            {**good, "ObservationId": 6, "KeptCount": 1e999},  # OverflowError: an integer cannot be infinite
            7,
            {**good, "ObservationId": 8, "ActionType": "create_index", "ExpectedGain": 0.9}]
    problems = []
    scored = json.loads(autonomy.score_candidates(json.dumps(rows), problems=problems))
    assert [r["ObservationId"] for r in scored] == [1, 8]
    assert scored == json.loads(autonomy.score_candidates(json.dumps([rows[0], rows[-1]])))  # the good ones as alone
    assert [(p.get("ObservationId"), p["Row"]) for p in problems] == [(2, 2), (3, 3), (4, 4), (5, 5), (6, 6), (None, 7)]
    assert problems[0]["Problem"].startswith("ValueError: 'rm -rf' is not in the action catalog")
    assert problems[1]["Problem"] == "ValueError: score_candidates: row 3 has no Threshold"
    assert problems[2]["Problem"].startswith("ValueError: invalid literal for int()")
    assert problems[3]["Problem"].startswith("TypeError: float() argument must be")
    assert problems[4]["Problem"].startswith("OverflowError: ")
    assert problems[5]["Problem"] == "ValueError: score_candidates: row 7 is not a JSON object"
    with pytest.raises(ValueError, match="expected a JSON array"):  # the batch itself is still refused
        autonomy.score_candidates(json.dumps(good), problems=[])


def _hypothesize_script():
    """The Python of dbo.sp_Hypothesize's sp_execute_external_script, as SQL Server runs it."""
    from pathlib import Path

    from tools.tsql_gate.rules import _EXTERNAL_SCRIPT

    raw = (Path(__file__).resolve().parents[1] / "db" / "procedures" / "autonomy" /
           "dbo.sp_Hypothesize.mssql.sql").read_text()
    scripts = [m.group(1).replace("''", "'") for m in _EXTERNAL_SCRIPT.finditer(raw)]
    assert len(scripts) == 1
    return scripts[0]


def _run_hypothesize_script(request: dict) -> tuple[dict | None, str]:
    names = {"request_json": json.dumps(request)}
    exec(compile(_hypothesize_script(), "<sp_Hypothesize @script>", "exec"), names)
    return (json.loads(names["scored"]) if names["scored"] else None), names["problem"]


def test_sp_hypothesize_script_reads_each_hotspot_on_its_own():
    hot = {"schema": "dbo", "table": "InferenceRequests", "columns": [{"name": c} for c in REQUEST_COLUMNS]}
    request = {
        "candidates": [{"ObservationId": 1, "ActionType": "analyze_table", "ExpectedGain": 0.5}],
        "hotspots": [
            {**hot, "ObservationId": 2, "plans": [{"plan_id": 20, "query_id": 2, "total_ms": 900.0,
                                                    "showplan": "<ShowPlanXML><MissingIndexes>"}]},
            {**hot, "ObservationId": 3, "plans": [{"plan_id": 30, "query_id": 3, "total_ms": 900.0, "showplan": SHOWPLAN},
                                                   {"plan_id": 31, "query_id": 4, "total_ms": 100.0}]},
            {**hot, "ObservationId": 4, "columns": "not a list of columns",
             "plans": [{"plan_id": 40, "query_id": 5, "total_ms": 1.0, "showplan": SHOWPLAN}]},
            {"ObservationId": 5, "schema": "dbo", "plans": []},  # no table: a KeyError, its own
        ],
        "record": [{"ActionType": "create_index", "KeptCount": 0, "FailedCount": 0, "IsAllowlisted": True}],
        "threshold": 3.0, "require_human": False}
    scored, problem = _run_hypothesize_script(request)
    assert problem == ""  # the phase goes on
    assert [(c["ObservationId"], c["ActionType"]) for c in scored["candidates"]] == [(1, "analyze_table"),
                                                                                    (3, "create_index")]
    index = scored["candidates"][1]
    assert index["TargetName"] == "ix_auto_inferencerequests_tasktype_tenantid_starttime" and index["ExpectedGain"] == 0.875
    assert json.loads(index["Parameters"])["statements"] == [3]
    assert index["Area"] == "performance" and index["Score"] == autonomy.score("create_index", 0.875, 0, 0)
    by_observation = {}
    for entry in scored["problems"]:
        by_observation.setdefault(entry["ObservationId"], []).append(entry)
    assert sorted(by_observation) == [2, 3, 4, 5]
    assert by_observation[2][0]["plan_id"] == 20 and by_observation[2][0]["problem"].startswith("ParseError: ")
    assert by_observation[3][0]["plan_id"] == 31 and "no showplan" in by_observation[3][0]["problem"]
    assert by_observation[4][0]["problem"].startswith("TypeError: ")
    assert by_observation[5][0]["problem"] == "KeyError: 'table'"


def test_sp_hypothesize_script_fails_the_phase_only_for_the_request_as_a_whole():
    nothing = _run_hypothesize_script({"threshold": 3.0, "require_human": False})
    assert nothing == ({"catalog": nothing[0]["catalog"], "candidates": [], "problems": []}, "")
    # a request without the settings every candidate is weighed by: the phase fails (51312), with the reason
    scored, problem = _run_hypothesize_script({"candidates": [{"ObservationId": 1, "ActionType": "analyze_table",
                                                               "ExpectedGain": 0.5}]})
    assert scored is None and problem == "KeyError: 'threshold'"
    names = {"request_json": "this is not json"}
    exec(compile(_hypothesize_script(), "<sp_Hypothesize @script>", "exec"), names)
    assert names["scored"] == "" and names["problem"].startswith("JSONDecodeError: ")
