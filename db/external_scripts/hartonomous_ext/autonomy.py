"""The autonomous loop's policy: which actions exist, how a candidate is scored, how an applied
action is judged, and which index a statement's plan asks for. Both engines call it; the SQL of
sp_Hypothesize, sp_Act and sp_Learn gathers the numbers and writes the rows.

The catalog is the allowlist: an action type not named here is never proposed or run, and a DBA
can switch one off (dbo.AutonomousActionCatalog.IsAllowlisted = 0) but not add one. A destructive
action always waits for a person (sp_ApproveAction). Scores learn: each action type's record of
kept and reverted actions (a Beta prior per type, updated by sp_Learn) scales its expected gain.
"""

from __future__ import annotations

import hashlib
import json
import re

from hartonomous_ext import policy

# ActionType -> (area, destructive, online, revertable, risk 0-1, prior kept, prior failed, description)
# online: runs in a session of its own, outside the loop's transaction (PostgreSQL: CONCURRENTLY,
# VACUUM and the procedures that commit in batches; SQL Server: ONLINE = ON where the edition has
# it), so tables stay readable and writable and a long job does not hold the loop's transaction.
ACTIONS: dict[str, tuple[str, bool, bool, bool, float, float, float, str]] = {
    "create_index": ("performance", False, True, True, 0.20, 1, 1,
                     "create the index a frequent statement's plan asks for (checked hypothetically first)"),
    "drop_index": ("performance", True, True, True, 0.50, 1, 1,
                   "drop an index no statement has used over the lookback"),
    "reindex_index": ("performance", False, True, False, 0.10, 4, 1,
                      "rebuild a fragmented or bloated B-tree index online"),
    "analyze_table": ("performance", False, False, False, 0.02, 9, 1,
                      "refresh the planner statistics of a table with many changed rows"),
    "vacuum_table": ("maintenance", False, True, False, 0.05, 9, 1,
                     "vacuum a table with many dead rows"),
    "refit_projections": ("maintenance", False, True, False, 0.10, 4, 1,
                          "project embeddings that have no 3-D point or bucket (sp_RecomputeAllSpatialProjections)"),
    "rebuild_vector_index": ("performance", False, True, False, 0.10, 4, 1,
                             "rebuild the vector index of a tenant's embeddings (sp_BuildVectorIndex @Mode = 'rebuild')"),
    "recluster_concepts": ("maintenance", False, True, False, 0.10, 4, 1,
                           "run concept discovery again for a tenant's embedding type that changed since its last run, "
                           "with that run's parameters (fn_DiscoverConcepts)"),
    "archive_inference_requests": ("maintenance", False, False, False, 0.05, 9, 1,
                                   "move InferenceRequests past their retention to InferenceRequests_Archive "
                                   "(LOOP_ARCHIVE_BATCH_ROWS a cycle)"),
    "archive_billing_usage": ("maintenance", False, False, False, 0.05, 9, 1,
                              "move closed months of the billing ledger to its archive (sp_ArchiveBillingUsage)"),
    "purge_loop_history": ("maintenance", False, False, False, 0.05, 9, 1,
                           "delete the loop's own cycles, snapshots, observations, metrics and dead letters past "
                           "their retention (actions and their history stay)"),
}
AREAS = ("performance", "maintenance")


def catalog() -> list[tuple]:
    """The catalog as rows: ActionType, Area, IsDestructive, IsOnline, IsRevertable, Risk, Description."""
    return [(name, area, int(destructive), int(online), int(revertable), risk, text)
            for name, (area, destructive, online, revertable, risk, _, _, text) in ACTIONS.items()]


def _known(action_type: str) -> tuple:
    try:
        return ACTIONS[action_type]
    except KeyError:
        raise ValueError(f"{action_type!r} is not in the action catalog ({', '.join(ACTIONS)})") from None


def score(action_type: str, expected_gain: float, kept: int, failed: int) -> float:
    """0-10: the expected gain (0-1), less the action's risk, times its record (kept / judged, with
    its prior). A create_index with a 90% cheaper plan and no record scores 3.6."""
    _, _, _, _, risk, prior_kept, prior_failed, _ = _known(action_type)
    gain = min(max(float(expected_gain), 0.0), 1.0)
    confidence = (kept + prior_kept) / (kept + failed + prior_kept + prior_failed)
    return round(10.0 * gain * (1.0 - risk) * confidence, 3)


def needs_approval(action_type: str, score_value: float, threshold: float, require_human: bool,
                   allowlisted: bool) -> str | None:
    """Why a candidate must wait for a person, or None when sp_Act may apply it."""
    destructive = _known(action_type)[1]
    if not allowlisted:
        return "its action type is switched off in dbo.AutonomousActionCatalog"
    if destructive:
        return "it is destructive"
    if require_human:
        return "human approval is required (@RequireHumanApproval = 1)"
    if score_value < threshold:
        return f"its score {score_value:.2f} is below the threshold {threshold:g}"
    return None


# actions that add something every write pays for: kept only for a real gain
MUST_IMPROVE = ("create_index",)


def judge(action_type: str, before: float | None, after: float | None, tolerance: float) -> tuple[str, float | None]:
    """The verdict on an applied action from its metric (lower is better) before and after:
    ('kept' | 'reverted' | 'regressed', improvement as a share of before). A regression beyond the
    tolerance reverts an action that can be reverted; one that cannot is kept and marked regressed.
    A new index must also cut its statements' time by LOOP_MIN_KEEP_GAIN, or it is reverted.
    No measurement (nothing ran in the window), or a maintenance action whose count was already 0,
    keeps it, with no improvement to report."""
    revertable = _known(action_type)[3]
    if before is None or after is None:
        return "kept", None
    before, after = float(before), float(after)
    if before <= 0:
        if after <= 0:
            return "kept", 0.0
        if not revertable:
            # nothing was there to bring down when it ran (a rebuild for lost search recall finds no
            # embeddings outside the index): what came after is new work, not the action's doing
            return "kept", None
        return "reverted", -1.0
    improvement = (before - after) / before
    if after > before * (1.0 + tolerance):
        return ("reverted" if revertable else "regressed"), round(improvement, 4)
    if action_type in MUST_IMPROVE and improvement < policy.LOOP_MIN_KEEP_GAIN:
        return "reverted", round(improvement, 4)
    return "kept", round(improvement, 4)


def counts_as_kept(verdict: str, improvement: float | None) -> bool:
    """What sp_Learn adds to an action type's record: kept and measurably better."""
    return verdict == "kept" and improvement is not None and improvement > 0.05


def judge_actions(rows_json: str) -> str:
    """SQL Server's sp_Learn judges a run's actions in one external script (each call starts a
    Python): for each {ActionId, ActionType, MetricBefore, MetricAfter, Tolerance} the verdict of
    judge() and whether it counts as kept, as JSON [{ActionId, Verdict, Improvement, CountsAsKept}]
    in the same order. ActionId is handed back as it came (a BIGINT stays exact in JSON)."""
    rows = json.loads(rows_json) if rows_json else []
    judged = []
    for row in rows:
        verdict, improvement = judge(row["ActionType"], row.get("MetricBefore"), row.get("MetricAfter"),
                                     float(row["Tolerance"]))
        judged.append({"ActionId": row["ActionId"], "Verdict": verdict, "Improvement": improvement,
                       "CountsAsKept": int(counts_as_kept(verdict, improvement))})
    return json.dumps(judged)


# Plan filters as PostgreSQL prints them: "((tasktype)::text = $1)", "(starttime >= $2)"
_COMPARISON = re.compile(r"\(*\b([a-z_][a-z0-9_]*)\b\)*(?:::[a-z ]+(?:\[\])?\)*)?\s*(=|<=|>=|<|>|~~)\s")


def index_candidates(plan_json: str, table: str, columns: list[str]) -> list[list[str]]:
    """The column lists worth testing as an index on `table` (lower-case name) for one statement's
    plan (EXPLAIN (FORMAT JSON)): for each sequential scan of the table with a filter, its equality
    columns, then the same with its first range or sort column. Columns not of the table are left out."""
    known = {c.lower() for c in columns}
    plans = json.loads(plan_json) if isinstance(plan_json, str) else plan_json
    found: list[list[str]] = []

    def walk(node: dict, sort_keys: list[str]) -> None:
        keys = sort_keys
        if node.get("Node Type") in ("Sort", "Incremental Sort"):
            keys = [k.split()[0].strip("()").split("::")[0].split(".")[-1] for k in node.get("Sort Key", [])]
        # a parallel scan is a sequential scan too (bench/results/ooda-hour-1.md: one went unfixed for 30 minutes)
        if node.get("Node Type") in ("Seq Scan", "Parallel Seq Scan") and \
                str(node.get("Relation Name", "")).lower() == table and node.get("Filter"):
            equal, ranged = [], []
            for column, operator in _COMPARISON.findall(node["Filter"].lower()):
                if column not in known:
                    continue
                target = equal if operator == "=" else ranged
                if column not in equal and column not in ranged:
                    target.append(column)
            ordered = [k.lower() for k in keys if k.lower() in known and k.lower() not in equal]
            for candidate in (equal, equal + ranged[:1], equal + ordered[:1]):
                if candidate and candidate not in found and len(candidate) <= 3:
                    found.append(list(candidate))
        for child in node.get("Plans", []):
            walk(child, keys)

    for entry in plans:
        walk(entry["Plan"], [])
    return found


def index_name(table: str, columns: list[str]) -> str:
    """LOOP_INDEX_PREFIX<table>_<columns> (ix_auto_...): a publish leaves indexes so named alone (drift
    and schema diffs skip them). One longer than PostgreSQL's 63 characters is cut and ends in a
    hash of the whole, so two long names cannot come out the same."""
    name = policy.LOOP_INDEX_PREFIX + table.lower() + "_" + "_".join(c.lower() for c in columns)
    if len(name) <= 63:
        return name
    return name[:54] + "_" + hashlib.sha256(name.encode()).hexdigest()[:8]


_SHOWPLAN = "{http://schemas.microsoft.com/sqlserver/2004/07/showplan}"


def _unbracket(name: str | None) -> str:
    """A showplan name as SQL Server writes it ("[dbo]", "[a]]b]") back to the name itself."""
    name = name or ""
    if name.startswith("[") and name.endswith("]"):
        return name[1:-1].replace("]]", "]")
    return name


def showplan_index_candidates(showplan_xml: str, table: str, columns: list[str],
                              schema: str | None = None) -> list[dict]:
    """The indexes SQL Server's optimizer asked for on `table` (and `schema`, when given) in one
    showplan (Query Store's query_plan): for each MissingIndexGroup, its equality columns, then its
    first inequality column, as the table spells them; INCLUDE columns are not key columns. Each
    {"columns", "impact" (the group's Impact as a share, 0-1), "name"}; a key longer than three
    columns is left out, as on PostgreSQL, and so are columns the table does not have."""
    import xml.etree.ElementTree as ElementTree  # only SQL Server's phases need it

    known = {c.lower(): c for c in columns}
    root = ElementTree.fromstring(showplan_xml)
    found: dict[tuple[str, ...], dict] = {}
    for group in root.iter(_SHOWPLAN + "MissingIndexGroup"):
        impact = float(group.get("Impact") or 0.0) / 100.0
        for index in group.iter(_SHOWPLAN + "MissingIndex"):
            if _unbracket(index.get("Table")).lower() != table.lower():
                continue
            if schema is not None and _unbracket(index.get("Schema")).lower() != schema.lower():
                continue
            usage: dict[str, list[str]] = {"EQUALITY": [], "INEQUALITY": []}
            for column_group in index.iter(_SHOWPLAN + "ColumnGroup"):
                if column_group.get("Usage") not in usage:
                    continue  # INCLUDE: carried at the leaf, not a key
                for column in column_group.iter(_SHOWPLAN + "Column"):
                    name = known.get(_unbracket(column.get("Name")).lower())
                    if name is not None and name not in usage[column_group.get("Usage")]:
                        usage[column_group.get("Usage")].append(name)
            key = tuple(usage["EQUALITY"] + usage["INEQUALITY"][:1])
            if not key or len(key) > 3:
                continue
            if key not in found or found[key]["impact"] < impact:
                found[key] = {"columns": list(key), "impact": round(impact, 6), "name": index_name(table, list(key))}
    return list(found.values())


def best_index_candidate(table: str, columns: list[str], plans: list[dict], schema: str | None = None,
                         problems: list | None = None) -> dict | None:
    """The one index to propose for a table from its statements' plans ({"showplan", "query_id",
    "plan_id", "total_ms"}): the candidate whose Impact, weighted by each plan's time, saves the
    most of the plans' time (PostgreSQL weighs its hypothetical costs the same way), fewer columns
    first on a tie. None when nothing reaches LOOP_MIN_INDEX_GAIN.

    A plan that cannot be read (no showplan: Query Store no longer holds it; XML that does not
    parse; a time that is not a number) is left out, its time too, as PostgreSQL's sp_Hypothesize
    leaves out a statement it cannot plan: given a list as `problems`, each such plan is appended
    there as {"plan_id", "query_id", "problem"} and the others decide; without one, it raises."""
    import math

    trials: dict[tuple[str, ...], dict] = {}
    total = 0.0
    for number, plan in enumerate(plans, start=1):
        try:
            if not isinstance(plan, dict):
                raise TypeError(f"plan {number} is not a JSON object")
            if plan.get("showplan") is None:
                raise ValueError("no showplan (Query Store no longer holds the plan, or its query_plan is NULL)")
            weight = max(float(plan.get("total_ms") or 0.0), 0.0)
            if not math.isfinite(weight):
                raise ValueError(f"total_ms {plan.get('total_ms')!r} is not a finite number")
            found = showplan_index_candidates(plan["showplan"], table, columns, schema)
        except Exception as exc:  # any reason at all: this plan's, not the table's
            if problems is None:
                raise
            problems.append({"plan_id": plan.get("plan_id") if isinstance(plan, dict) else None,
                             "query_id": plan.get("query_id") if isinstance(plan, dict) else None,
                             "problem": f"{type(exc).__name__}: {exc}"[:400]})
            continue
        total += weight
        for candidate in found:
            trial = trials.setdefault(tuple(candidate["columns"]), {
                "columns": candidate["columns"], "name": candidate["name"], "saved": 0.0, "plans": []})
            trial["saved"] += weight * candidate["impact"]
            trial["plans"].append({"query_id": plan.get("query_id"), "plan_id": plan.get("plan_id"),
                                   "impact": candidate["impact"], "total_ms": weight})
    if not trials or total <= 0:
        return None
    best = max(trials.values(), key=lambda t: (t["saved"], -len(t["columns"])))
    gain = round(best["saved"] / total, 4)
    if gain < policy.LOOP_MIN_INDEX_GAIN:
        return None
    return {"columns": best["columns"], "name": best["name"], "gain": gain, "plans": best["plans"]}


_SCORE_FIELDS = ("ActionType", "ExpectedGain", "KeptCount", "FailedCount", "Threshold", "RequireHumanApproval",
                 "IsAllowlisted")


def score_candidates(rows_json: str, problems: list | None = None) -> str:
    """SQL Server's batch of score() and needs_approval(): a JSON array of {ActionType, ExpectedGain,
    KeptCount, FailedCount, Threshold, RequireHumanApproval, IsAllowlisted} in, the same rows with
    Score and ApprovalReason (null: sp_Act may apply it) out, in order, every other field kept (an
    ActionId or ObservationId to join back on). A row that already has a Score (sp_Act, deciding on
    the score sp_Hypothesize stored, as PostgreSQL's sp_Act does) keeps it and is judged on it.

    A row that cannot be scored (a field missing, an action type not in the catalog, a count that
    is not a number) raises; given a list as `problems`, it is left out of the result instead and
    appended there as {ObservationId and/or ActionId as the row has them, Row (1-based), Problem},
    so one bad row does not cost the others theirs. Input that is not a JSON array always raises."""
    import math

    rows = json.loads(rows_json)
    if not isinstance(rows, list):
        raise ValueError("score_candidates: expected a JSON array of candidate rows")
    scored = []
    for number, row in enumerate(rows, start=1):
        try:
            if not isinstance(row, dict):
                raise ValueError(f"score_candidates: row {number} is not a JSON object")
            missing = [f for f in _SCORE_FIELDS if f not in row]
            if missing:
                raise ValueError(f"score_candidates: row {number} has no {', '.join(missing)}")
            value = row.get("Score")
            if value is None:
                value = score(row["ActionType"], row["ExpectedGain"] or 0.0, int(row["KeptCount"] or 0),
                              int(row["FailedCount"] or 0))
            value = float(value)
            if not math.isfinite(value):
                raise ValueError(f"score_candidates: row {number}'s score {value!r} is not a finite number")
            reason = needs_approval(row["ActionType"], value, float(row["Threshold"]),
                                    bool(row["RequireHumanApproval"]), bool(row["IsAllowlisted"]))
        except Exception as exc:  # any reason at all (Msg 39004 would hide it): this row's, not the batch's
            if problems is None:
                raise
            keys = {k: row[k] for k in ("ObservationId", "ActionId") if isinstance(row, dict) and k in row}
            problems.append({**keys, "Row": number, "Problem": f"{type(exc).__name__}: {exc}"[:400]})
            continue
        scored.append({**row, "Score": value, "ApprovalReason": reason})
    return json.dumps(scored)
