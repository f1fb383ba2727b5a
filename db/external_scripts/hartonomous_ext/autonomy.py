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
    No measurement (nothing ran in the window) keeps it, with no improvement to report."""
    revertable = _known(action_type)[3]
    if before is None or after is None:
        return "kept", None
    before, after = float(before), float(after)
    if before <= 0:
        return ("kept", 0.0) if after <= 0 else (("reverted" if revertable else "regressed"), -1.0)
    improvement = (before - after) / before
    if after > before * (1.0 + tolerance):
        return ("reverted" if revertable else "regressed"), round(improvement, 4)
    if action_type in MUST_IMPROVE and improvement < policy.LOOP_MIN_KEEP_GAIN:
        return "reverted", round(improvement, 4)
    return "kept", round(improvement, 4)


def counts_as_kept(verdict: str, improvement: float | None) -> bool:
    """What sp_Learn adds to an action type's record: kept and measurably better."""
    return verdict == "kept" and improvement is not None and improvement > 0.05


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

