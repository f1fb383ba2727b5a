"""The autonomous loop on a real PostgreSQL: it observes, proposes, acts, measures and reverts on
the system's own data, by itself from pg_cron or through its dispatcher; waits for people where it
must; survives poison messages and a reader killed mid-transaction; and leaves a quiet system alone.

The workload is the monitoring query a dashboard runs most (the latest requests of one type), on
dbo.InferenceRequests filled with 60,000 rows of 500 request types; the regression is the
removal of the index that query needs (IX_InferenceRequests_TaskType_StartTime).
"""

from __future__ import annotations

import random
import threading
import time

import numpy as np
import psycopg
import pytest

from conftest import publish_with_logins, query
from deployer.engines import open_engine
from hartonomous_ext import policy, vector_index
from test_vector_index import clustered

FREQUENT_QUERY = ("SELECT RequestId, DurationMs FROM dbo.InferenceRequests WHERE TaskType = %s "
                  "ORDER BY StartTime DESC LIMIT 20")
FAST_SETTINGS = ("INSERT INTO dbo.AutonomousLoopSettings (SettingsId, Enabled, IntervalSeconds, ValidationSeconds, "
                 "MinValidationCalls, VisibilitySeconds, LookbackHours) VALUES (1, 1, %s, 1, 20, %s, 0) "
                 "ON CONFLICT (SettingsId) DO UPDATE SET Enabled = 1, IntervalSeconds = EXCLUDED.IntervalSeconds, "
                 "VisibilitySeconds = EXCLUDED.VisibilitySeconds")


def fill_requests(url: str, rows: int = 60000) -> None:
    query(url, "INSERT INTO dbo.InferenceRequests (TenantId, TaskType, StartTime, DurationMs) "
               "SELECT 0, 'task' || (i %% 500), now() - i * interval '1 second', 1 FROM generate_series(1, %s) i",
          (rows,))
    query(url, "ANALYZE dbo.InferenceRequests")


class Workload:
    """The frequent query, run by a thread of its own until stopped; its mean time per batch."""

    def __init__(self, url: str):
        self.url, self.stop, self.batches = url, threading.Event(), []
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self.stop.is_set():
                started = time.perf_counter()
                for _ in range(20):
                    conn.execute(FREQUENT_QUERY, (f"task{random.randrange(500)}",)).fetchall()
                self.batches.append((time.perf_counter() - started) / 20)
                time.sleep(0.05)

    def __enter__(self) -> "Workload":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join(30)


def dispatch(url: str, seconds: float) -> None:
    """One run of the dispatcher, as pg_cron makes it."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CALL dbo.sp_RunAutonomousLoop(%s)", (seconds,))


def wait_for(url: str, sql: str, timeout: float, params=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = query(url, sql, params)
        if rows:
            return rows
        time.sleep(1)
    raise AssertionError(f"not within {timeout} s: {sql}")


def phase_failures(url: str) -> list[tuple]:
    return query(url, "SELECT Phase, ErrorMessage FROM dbo.OODALoopMetrics WHERE Success = 0")


@pytest.fixture
def slow_requests(fresh_published):
    """A copy with the workload's table filled and the index its query needs dropped."""
    url = fresh_published
    fill_requests(url)
    query(url, "DROP INDEX dbo.IX_InferenceRequests_TaskType_StartTime")
    query(url, FAST_SETTINGS, (2, 30))
    return url


def test_the_loop_fixes_a_dropped_index_by_itself_from_pg_cron_and_measures_the_gain(slow_requests):
    url = slow_requests
    engine = open_engine(url)
    engine.connect(create_database=False)
    try:
        with Workload(url) as load:
            done = engine.data.start_loop()
            assert [what for what, _ in done] == ["loop", "message", "schedule"]
            (judged,) = wait_for(url, "SELECT ActionId, MetricBefore, MetricAfter, ImprovementPct FROM "
                                      "dbo.AutonomousImprovementHistory WHERE ActionType = 'create_index'", 240)
        engine.data.stop_loop()
    finally:
        engine.close()
    action, before, after, improvement = judged
    # observed: whole-table scans of the table, again and again
    assert query(url, "SELECT count(*) > 0 FROM dbo.AutonomousObservations WHERE Kind = 'seq_scan_hotspot' "
                      "AND TargetObject = 'dbo.inferencerequests'") == [(True,)]
    # proposed after a hypothetical index cut the statement's estimated cost
    (trials, columns, status), = query(url, "SELECT Parameters->'hypothetical', TargetColumns, Status "
                                            "FROM dbo.AutonomousActions WHERE ActionId = %s", (action,))
    assert columns[0] == "tasktype" and status == "Kept"
    assert all(t["cost_after"] < 0.5 * t["cost_before"] for t in trials)
    # applied online, valid, and measured on the statement itself
    assert query(url, "SELECT x.indisvalid FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid "
                      "WHERE c.relname LIKE 'ix_auto_inferencerequests_tasktype%%'") == [(True,)]
    assert after < 0.5 * before and improvement > 50
    assert {p for (p,) in query(url, "SELECT DISTINCT Phase FROM dbo.OODALoopMetrics WHERE Success = 1")} >= {
        "Analyze", "Hypothesize", "Act", "Learn", "Online"}
    assert phase_failures(url) == []
    # pg_cron ran the dispatcher (nothing else did): its job is gone after loop stop
    assert query(url, "SELECT count(*) FROM dbo.AutonomousCycles WHERE TriggeredBy IN ('start', 'loop')")[0][0] >= 2


def unused_index(url: str) -> None:
    """Make the workload's index look unused to the statistics (its scan count back to zero)."""
    query(url, "SELECT pg_stat_reset_single_table_counters('dbo.IX_InferenceRequests_TaskType_StartTime'::regclass)")


def test_a_destructive_candidate_waits_for_approval_and_a_rejection_keeps_it_from_running(fresh_published):
    url = fresh_published
    fill_requests(url)
    query(url, FAST_SETTINGS, (1, 30))
    unused_index(url)
    dispatch(url, 8)  # several cycles
    (action, status, reason), = query(url, "SELECT ActionId, Status, StatusReason FROM dbo.AutonomousActions "
                                           "WHERE ActionType = 'drop_index'")
    assert (status, reason) == ("AwaitingApproval", "it is destructive")
    assert query(url, "SELECT count(*) FROM pg_indexes WHERE indexname = 'ix_inferencerequests_tasktype_starttime'") == [(1,)]
    assert query(url, "SELECT count(*) FROM dbo.AutonomousCycles")[0][0] >= 3
    query(url, "CALL dbo.sp_RejectAction(%s, 'the dashboard needs it')", (action,))
    dispatch(url, 4)
    assert query(url, "SELECT Status, DecidedBy, StatusReason FROM dbo.AutonomousActions WHERE ActionId = %s",
                 (action,)) == [("Rejected", query(url, "SELECT session_user")[0][0], "the dashboard needs it")]
    assert query(url, "SELECT count(*) FROM pg_indexes WHERE indexname = 'ix_inferencerequests_tasktype_starttime'") == [(1,)]
    # rejected: not proposed again within the cool-down
    assert query(url, "SELECT count(*) FROM dbo.AutonomousActions WHERE ActionType = 'drop_index'") == [(1,)]
    with pytest.raises(psycopg.errors.ObjectNotInPrerequisiteState, match="is Rejected, not awaiting approval"):
        query(url, "CALL dbo.sp_ApproveAction(%s)", (action,))
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="action 999999 does not exist"):
        query(url, "CALL dbo.sp_ApproveAction(999999)")


def test_an_approved_action_that_makes_things_worse_is_reverted_by_learn(fresh_published):
    url = fresh_published
    fill_requests(url)
    query(url, FAST_SETTINGS, (1, 30))
    with Workload(url):
        time.sleep(2)  # the statement's time with its index, on record in pg_stat_statements
    unused_index(url)  # the statistics now call the index unused; the workload, paused, still needs it
    dispatch(url, 3)
    (action,), = query(url, "SELECT ActionId FROM dbo.AutonomousActions WHERE ActionType = 'drop_index' "
                            "AND Status = 'AwaitingApproval'")
    query(url, "CALL dbo.sp_ApproveAction(%s, 'forced by the test')", (action,))
    with Workload(url):
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            dispatch(url, 3)
            if query(url, "SELECT Status FROM dbo.AutonomousActions WHERE ActionId = %s", (action,))[0][0] == "Reverted":
                break
    (status, before, after), = query(url, "SELECT Status, MetricBefore, MetricAfter FROM dbo.AutonomousActions "
                                          "WHERE ActionId = %s", (action,))
    assert status == "Reverted"
    assert after > 2 * before  # the statement got slower without its index
    assert query(url, "SELECT Verdict, ImprovementPct < -100 FROM dbo.AutonomousImprovementHistory "
                      "WHERE ActionId = %s", (action,)) == [("reverted", True)]
    # the index is back, valid, with its definition
    assert query(url, "SELECT indexdef LIKE '%%(tasktype, starttime DESC)', x.indisvalid FROM pg_indexes i "
                      "JOIN pg_class c ON c.relname = i.indexname JOIN pg_index x ON x.indexrelid = c.oid "
                      "WHERE i.indexname = 'ix_inferencerequests_tasktype_starttime'") == [(True, True)]
    # and the action type's record counts the failure, lowering its next scores
    assert query(url, "SELECT KeptCount, FailedCount FROM dbo.AutonomousActionCatalog WHERE ActionType = 'drop_index'") == [
        (0, 1)]


def test_a_quiet_healthy_system_takes_no_action_over_several_cycles(fresh_published):
    url = fresh_published
    query(url, FAST_SETTINGS, (1, 30))
    with psycopg.connect(url, autocommit=True) as conn:
        for text in ("Kittens sleep in the sun.", "Revenue grew by four percent."):
            conn.execute("CALL dbo.sp_IngestAtom(Content => %s, ContentType => 'text/plain', GenerateEmbedding => 1)",
                         (text.encode(),))
    load_embeddings(url, clustered(GRAPH_VECTORS, dimension=32, seed=41))
    query(url, "CALL dbo.sp_BuildVectorIndex(Mode => 'graph')")  # a sound, calibrated graph
    dispatch(url, 8)
    assert query(url, "SELECT count(*) FROM dbo.AutonomousCycles WHERE FinishedAt IS NOT NULL")[0][0] >= 3
    assert query(url, "SELECT ActionType, TargetName FROM dbo.AutonomousActions") == []
    # each graph's recall (the two texts' type is a graph too) was measured once (a day), at the
    # target, and is no observation
    measured = query(url, "SELECT Counters FROM dbo.AutonomousSnapshots WHERE Kind = 'vector_index' "
                          "ORDER BY Counters->>'type'")
    assert [(c["type"], c["queries"]) for (c,) in measured] == [("all-MiniLM-L6-v2", 2), ("test-32", 20)]
    assert all(c["recall"] >= policy.TARGET_RECALL - policy.LOOP_RECALL_TOLERANCE for (c,) in measured)
    assert query(url, "SELECT Kind FROM dbo.AutonomousObservations WHERE Kind = 'search_recall'") == []
    assert phase_failures(url) == []
    assert query(url, "SELECT count(*) FROM dbo.AutonomousLoopDeadLetters") == [(0,)]


def test_poison_messages_end_in_the_dead_letters_within_three_attempts_and_the_next_cycle_runs(fresh_published):
    url = fresh_published
    query(url, FAST_SETTINGS, (1, 30))
    query(url, "CALL dbo.sp_SendLoopMessage('HypothesizeQueue', 'this is not json')")
    query(url, "CALL dbo.sp_SendLoopMessage('AnalyzeQueue', '{\"scope\": \"everything\"}')")  # the phase throws
    dispatch(url, 25)  # retried after 5 and 10 seconds
    dead = query(url, "SELECT QueueName, Attempts, LastError FROM dbo.AutonomousLoopDeadLetters ORDER BY QueueName")
    assert [(q, a) for q, a, _ in dead] == [("AnalyzeQueue", 3), ("HypothesizeQueue", 1)]
    assert "AnalysisScope must be full, performance or maintenance, not everything" in dead[0][2]
    assert dead[1][2].startswith("malformed message body: invalid input syntax for type json")
    # the chain went on: the dispatcher started cycles of its own, which finished
    assert query(url, "SELECT count(*) > 0 FROM dbo.AutonomousCycles WHERE TriggeredBy = 'dispatcher' "
                      "AND FinishedAt IS NOT NULL") == [(True,)]
    assert query(url, "SELECT count(*) FROM dbo.OODALoopMetrics WHERE Success = 0") == [(4,)]


def test_a_reader_killed_mid_transaction_loses_no_message_and_runs_none_twice(fresh_published):
    url = fresh_published
    query(url, FAST_SETTINGS, (600, 3))  # no second cycle within the test
    query(url, "CALL dbo.sp_SendLoopMessage('AnalyzeQueue', '{\"trigger\": \"test\"}')")
    with psycopg.connect(url, autocommit=True) as blocker:
        # the phases take this lock first: the reader claims the message, then waits inside its phase
        blocker.execute("SELECT pg_advisory_lock(hashtext('hartonomous.autonomous_loop'))")
        reader = threading.Thread(target=lambda: _dispatch_quietly(url), daemon=True)
        reader.start()
        (pid,), = wait_for(url, "SELECT pid FROM pg_stat_activity WHERE application_name = 'killed_reader' "
                                "AND wait_event_type = 'Lock'", 30)
        assert query(url, "SELECT Attempts FROM dbo.AutonomousLoopMessages") == [(1,)]
        blocker.execute("SELECT pg_terminate_backend(%s)", (pid,))
        reader.join(30)
        blocker.execute("SELECT pg_advisory_unlock_all()")
    # nothing of the killed phase stayed; the message is there, hidden until its visibility timeout
    assert query(url, "SELECT count(*) FROM dbo.AutonomousCycles") == [(0,)]
    assert query(url, "SELECT QueueName, Attempts FROM dbo.AutonomousLoopMessages") == [("AnalyzeQueue", 1)]
    time.sleep(3.5)
    dispatch(url, 3)
    assert query(url, "SELECT TriggeredBy, FinishedAt IS NOT NULL FROM dbo.AutonomousCycles") == [("test", True)]
    assert query(url, "SELECT Phase, count(*) FROM dbo.OODALoopMetrics WHERE Success = 1 GROUP BY Phase ORDER BY Phase") == [
        ("Act", 1), ("Analyze", 1), ("Hypothesize", 1), ("Learn", 1)]
    assert query(url, "SELECT count(*) FROM dbo.AutonomousLoopDeadLetters") == [(0,)]
    # the next cycle's Analyze waits its interval
    assert query(url, "SELECT QueueName, VisibleAt > now() + interval '500 seconds' FROM dbo.AutonomousLoopMessages") == [
        ("AnalyzeQueue", True)]


def _dispatch_quietly(url: str) -> None:
    try:
        with psycopg.connect(url, autocommit=True, application_name="killed_reader") as conn:
            conn.execute("CALL dbo.sp_RunAutonomousLoop(20)")
    except psycopg.OperationalError:
        pass  # terminated by the test


def test_a_switched_off_loop_runs_nothing(fresh_published):
    url = fresh_published
    query(url, FAST_SETTINGS, (1, 30))
    query(url, "CALL dbo.sp_StopAutonomousLoop()")
    query(url, "CALL dbo.sp_SendLoopMessage('AnalyzeQueue')")
    dispatch(url, 2)
    assert query(url, "SELECT count(*) FROM dbo.AutonomousCycles") == [(0,)]
    assert query(url, "SELECT Attempts FROM dbo.AutonomousLoopMessages") == [(0,)]


@pytest.mark.parametrize("call, sqlstate, message", [
    ("CALL dbo.sp_Analyze(AnalysisScope => 'x'' OR 1=1 --')", "22023", "AnalysisScope must be full, performance or maintenance"),
    ("CALL dbo.sp_Analyze(LookbackHours => -1)", "22023", "LookbackHours must be between 0 and 8760"),
    ("CALL dbo.sp_Hypothesize(TargetArea => 'everything')", "22023", "TargetArea must be performance, maintenance or all"),
    ("CALL dbo.sp_Act(AutoApproveThreshold => 'NaN')", "22023", "AutoApproveThreshold must be between 0 and 10"),
    ("CALL dbo.sp_Act(MaxChangesPerRun => -5)", "22023", "MaxChangesPerRun must be between 0 and 100"),
    ("CALL dbo.sp_Act(DryRun => 7)", "22023", "RequireHumanApproval and DryRun are 0 or 1"),
    ("CALL dbo.sp_AutonomousImprovement(DryRun => NULL)", "22023", "DryRun, RequireHumanApproval and Debug are 0 or 1"),
    ("CALL dbo.sp_AutonomousImprovement(TargetArea => 'the moon')", "22023", "TargetArea must be performance, maintenance or all"),
    ("CALL dbo.sp_SendLoopMessage('dbo.Atoms; DROP TABLE dbo.Atoms', '{}')", "22023", "QueueName must be AnalyzeQueue"),
    ("CALL dbo.sp_SendLoopMessage('AnalyzeQueue', repeat('x', 70000))", "22023", "Body must be given and at most 64 KiB"),
    ("CALL dbo.sp_SendLoopMessage('AnalyzeQueue', '{}', 'Infinity')", "22023", "DelaySeconds must be between 0 and 31536000"),
    ("CALL dbo.sp_RunAutonomousLoop(-1)", "22023", "BudgetSeconds must be between 0 and 3600"),
    ("CALL dbo.sp_ApproveAction(NULL)", "22023", "action NULL does not exist"),
    ("CALL dbo.sp_RejectAction(-1)", "22023", "action -1 does not exist"),
    ("CALL dbo.sp_RebuildFragmentedIndexes(MinLeafDensity => 0)", "22023", "MinLeafDensity must be above 0"),
    ("SELECT * FROM dbo.sp_ArchiveInferenceRequests(0)", "22023", "OlderThanDays must be 1 or more"),
    ("SELECT * FROM dbo.sp_PurgeAutonomousHistory(NULL)", "22023", "OlderThanDays must be 1 or more"),
])
def test_the_loop_refuses_bad_arguments_cleanly_and_changes_nothing(published, call, sqlstate, message):
    engine = open_engine(published)
    engine.connect(create_database=False)
    try:
        before = engine.table_checksums()
        with pytest.raises(psycopg.Error) as raised:
            query(published, call)
        assert raised.value.sqlstate == sqlstate and message in str(raised.value)
        assert "Traceback" not in str(raised.value)
        assert engine.table_checksums() == before
    finally:
        engine.close()


def test_the_seeds_loop_calls_and_runbook_queries_run_as_written(published):
    """003 "OODA Loop": the four phases and sp_AutonomousImprovement as the seed calls them; 001: the
    quick health check's OODA query, "OODA Loop Health", the queue depths and the restart; 000: the
    archive of old inference requests; 003's maintenance: sp_RebuildFragmentedIndexes. PostgreSQL's
    spelling (named arguments, CALL, the dialect's dates)."""
    url = published
    (cycle,), = query(url, "CALL dbo.sp_Analyze(TenantId => 0, AnalysisScope => 'full', LookbackHours => 24)")
    assert cycle >= 1
    assert query(url, "CALL dbo.sp_Hypothesize(TenantId => 0)") is not None
    query(url, "CALL dbo.sp_Act(TenantId => 0, AutoApproveThreshold => 3)")
    query(url, "CALL dbo.sp_Learn(TenantId => 0)")
    query(url, "CALL dbo.sp_AutonomousImprovement(DryRun => 1, MaxChangesPerRun => 1, RequireHumanApproval => 1, "
               "TargetArea => 'performance', Debug => 1)")
    assert query(url, "SELECT 'OODA Loop' AS Component, CASE WHEN COUNT(*) > 0 THEN 'Healthy' ELSE 'FAILED' END AS Status "
                      "FROM dbo.OODALoopMetrics WHERE ExecutedAt >= now() - interval '1 hour'") == [("OODA Loop", "Healthy")]
    health = query(url, "SELECT Phase, COUNT(*) AS Executions, AVG(DurationMs) AS AvgDuration, "
                        "SUM(CASE WHEN Success = 1 THEN 1 ELSE 0 END) * 100.0 / COUNT(*) AS SuccessRate "
                        "FROM dbo.OODALoopMetrics WHERE ExecutedAt >= now() - interval '24 hours' GROUP BY Phase ORDER BY Phase")
    assert [(p, n, float(rate)) for p, n, _, rate in health] == [
        ("Act", 1, 100.0), ("Analyze", 1, 100.0), ("Hypothesize", 1, 100.0), ("Learn", 1, 100.0)]  # the dry run left nothing
    for queue in ("AnalyzeQueue", "HypothesizeQueue", "ActQueue", "LearnQueue"):
        assert query(url, f"SELECT COUNT(*) FROM dbo.{queue}") == [(0,)]
    query(url, "CALL dbo.sp_SendLoopMessage('AnalyzeQueue', '{\"trigger\": \"manual\"}')")
    assert query(url, "SELECT MessageType, Body FROM dbo.AnalyzeQueue") == [
        ("//Hartonomous/AutonomousLoop/AnalyzeMessage", '{"trigger": "manual"}')]
    query(url, "INSERT INTO dbo.InferenceRequests (TaskType, StartTime, DurationMs) VALUES ('search', now() - interval '100 days', 3)")
    query(url, "INSERT INTO InferenceRequests_Archive SELECT * FROM InferenceRequests "
               "WHERE StartTime < now() - interval '90 days'")
    query(url, "DELETE FROM InferenceRequests WHERE StartTime < now() - interval '90 days'")
    assert query(url, "SELECT TaskType, DurationMs FROM dbo.InferenceRequests_Archive") == [("search", 3.0)]
    query(url, "CALL dbo.sp_RebuildFragmentedIndexes()")


def test_the_loop_catalog_actions_run_by_hand_and_are_recorded(fresh_published):
    url = fresh_published
    fill_requests(url, 20000)
    # half of the rows gone: the index's leaf pages half empty
    query(url, "DELETE FROM dbo.InferenceRequests WHERE RequestId % 2 = 0")
    query(url, "VACUUM dbo.InferenceRequests")
    query(url, "CALL dbo.sp_RebuildFragmentedIndexes(MinLeafDensity => 80, MinIndexBytes => 0, DryRun => 1)")
    assert query(url, "SELECT count(*) FROM dbo.AutonomousActions") == [(0,)]
    query(url, "CALL dbo.sp_RebuildFragmentedIndexes(MinLeafDensity => 80, MinIndexBytes => 0)")
    rebuilt = query(url, "SELECT TargetName, Status, MetricBefore, DecidedBy IS NOT NULL FROM dbo.AutonomousActions "
                         "WHERE TargetName = 'ix_inferencerequests_tasktype_starttime'")
    assert [(n, s, d) for n, s, _, d in rebuilt] == [("ix_inferencerequests_tasktype_starttime", "Applied", True)]
    query(url, "CALL dbo.sp_Learn()")
    (before, after, verdict), = query(url, "SELECT h.MetricBefore, h.MetricAfter, h.Verdict FROM dbo.AutonomousImprovementHistory h "
                                           "JOIN dbo.AutonomousActions a ON a.ActionId = h.ActionId "
                                           "WHERE a.TargetName = 'ix_inferencerequests_tasktype_starttime'")
    assert verdict == "kept" and after < before  # fuller leaf pages after the rebuild
    query(url, "UPDATE dbo.InferenceRequests SET StartTime = StartTime - interval '200 days' WHERE RequestId < 100")
    assert query(url, "SELECT ArchivedRows FROM dbo.sp_ArchiveInferenceRequests()") == [(50,)]  # the odd ids below 100
    assert query(url, "SELECT count(*) FROM dbo.InferenceRequests_Archive") == [(50,)]


def test_the_loop_runs_as_the_system_role_and_administrators_cannot_write_its_record(pg_instance, tmp_path, open_login):
    target = publish_with_logins(pg_instance, tmp_path, "loop", {"sys": ("system", []), "adm": ("admin", [])})
    url = target["url"]
    query(url, FAST_SETTINGS, (1, 30))
    system = open_login(url, target["logins"]["sys"])
    system.rows("CALL dbo.sp_RunAutonomousLoop(3)")
    assert system.rows("SELECT count(*) > 0 FROM dbo.AutonomousCycles WHERE FinishedAt IS NOT NULL") == [(True,)]
    assert system.error("SELECT count(*) FROM dbo.Atoms").sqlstate == "42501"  # no tenant content
    admin = open_login(url, target["logins"]["adm"])
    assert admin.rows("SELECT count(*) > 0 FROM dbo.OODALoopMetrics") == [(True,)]
    admin.rows("UPDATE dbo.AutonomousLoopSettings SET IntervalSeconds = 5")
    for statement in ("UPDATE dbo.AutonomousActions SET Parameters = '{}'",
                      "INSERT INTO dbo.AutonomousObservations (CycleId, Kind) VALUES (1, 'unused_index')",
                      "DELETE FROM dbo.AutonomousLoopMessages"):
        assert admin.error(statement).sqlstate == "42501", statement
    assert query(url, "SELECT IntervalSeconds FROM dbo.AutonomousLoopSettings") == [(5,)]


def test_health_command_reports_the_loop_and_fails_on_a_failed_component(fresh_published, run):
    url = fresh_published
    result = run("health", "--target", url)
    assert result.code == 1, result  # no phase has run, no pg_cron job
    assert "OODA Loop" in result.out and "no phase has run in 24 hours" in result.out
    assert "no pg_cron job hartonomous-loop-" in result.out
    query(url, FAST_SETTINGS, (1, 30))
    dispatch(url, 3)
    result = run("loop", "start", "--target", url)
    assert result.code == 0 and "pg_cron job" in result.out, result
    try:
        result = run("health", "--target", url)
        assert result.code == 0, result
        assert "Loop schedule" in result.out and "active" in result.out
    finally:
        assert run("loop", "stop", "--target", url).code == 0
    assert query(url, "SELECT Enabled FROM dbo.AutonomousLoopSettings") == [(0,)]


def test_a_dry_run_reports_what_it_would_do_and_leaves_nothing_behind(fresh_published):
    url = fresh_published
    fill_requests(url)
    query(url, FAST_SETTINGS, (1, 30))
    unused_index(url)
    notices = []
    with psycopg.connect(url, autocommit=True) as conn:
        conn.add_notice_handler(lambda n: notices.append(n.message_primary))
        conn.execute("CALL dbo.sp_AutonomousImprovement(DryRun => 1, MaxChangesPerRun => 1, RequireHumanApproval => 0, "
                     "TargetArea => 'all', Debug => 1)")
    assert any(n.startswith("observed unused_index: dbo.ix_inferencerequests_tasktype_starttime") for n in notices), notices
    assert any(n.startswith("sp_Act: would hold action") and "it is destructive" in n for n in notices), notices
    for table in ("AutonomousCycles", "AutonomousObservations", "AutonomousActions", "OODALoopMetrics", "AutonomousSnapshots"):
        assert query(url, f"SELECT count(*) FROM dbo.{table}") == [(0,)], table


def test_an_online_build_clears_what_a_failed_build_left_and_checks_the_result(fresh_published):
    url = fresh_published
    fill_requests(url, 20000)
    # a concurrent build that failed (duplicate keys) leaves an invalid index of the name behind
    with pytest.raises(psycopg.errors.UniqueViolation):
        query(url, "CREATE UNIQUE INDEX CONCURRENTLY ix_auto_inferencerequests_tasktype ON dbo.InferenceRequests (TaskType)")
    assert query(url, "SELECT x.indisvalid FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid "
                      "WHERE c.relname = 'ix_auto_inferencerequests_tasktype'") == [(False,)]
    query(url, "INSERT INTO dbo.AutonomousActionCatalog (ActionType) VALUES ('create_index')")
    (action,), = query(url, "INSERT INTO dbo.AutonomousActions (ActionType, TargetSchema, TargetName, TargetColumns, Parameters, "
                            "Command, Status) VALUES ('create_index', 'dbo', 'ix_auto_inferencerequests_tasktype', '{tasktype}', "
                            "'{\"table\": \"inferencerequests\", \"statements\": []}', 'CREATE INDEX ...', 'Executing') "
                            "RETURNING ActionId")
    query(url, "CALL dbo.sp_ExecuteOnlineActions()")
    assert query(url, "SELECT Status, ErrorMessage FROM dbo.AutonomousActions WHERE ActionId = %s", (action,)) == [("Applied", None)]
    assert query(url, "SELECT x.indisvalid, x.indisunique FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid "
                      "WHERE c.relname = 'ix_auto_inferencerequests_tasktype'") == [(True, False)]
    assert query(url, "SELECT Phase, Success FROM dbo.OODALoopMetrics") == [("Online", 1)]


def test_a_message_whose_last_attempt_never_finished_is_set_aside(fresh_published):
    """A reader cancelled, terminated or crashed on its last attempt runs no handler: the claim
    finds the message visible again with its attempts used up and sets it aside."""
    url = fresh_published
    query(url, FAST_SETTINGS, (600, 30))
    query(url, "INSERT INTO dbo.AutonomousLoopMessages (QueueName, MessageType, Body, Attempts, VisibleAt) "
               "VALUES ('HypothesizeQueue', '//Hartonomous/AutonomousLoop/HypothesizeMessage', '{}', 3, now() - interval '1 second')")
    dispatch(url, 1)
    assert query(url, "SELECT QueueName, Attempts, LastError FROM dbo.AutonomousLoopDeadLetters") == [
        ("HypothesizeQueue", 3, "its last attempt never finished (cancelled, terminated or crashed)")]
    assert query(url, "SELECT count(*) FROM dbo.AutonomousCycles WHERE TriggeredBy = 'dispatcher'") == [(1,)]


def test_the_second_session_ignores_a_connection_string_set_by_the_session(fresh_published):
    url = fresh_published
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET hartonomous.loop_connection = 'host=/nonexistent port=1'")
        assert conn.execute("SELECT dbo.fn_OnlineActionSession('probe')").fetchone() == (None,)


def test_statements_with_typed_literals_come_back_as_text_that_plans(fresh_published):
    """pg_stat_statements writes interval '10 minutes' as interval $2 (bench/results/ooda.md: a
    regression seen every cycle, never fixed, because its statement could not be planned)."""
    url = fresh_published
    fill_requests(url, 1000)
    with psycopg.connect(url, autocommit=True) as conn:
        for tenant in range(3):
            conn.execute("SELECT count(*) FROM dbo.InferenceRequests WHERE TenantId = %s "
                         "AND StartTime >= now() - interval '10 minutes'", (tenant,))
    (text,), = query(url, "SELECT Query FROM dbo.fn_TableStatements('inferencerequests', 5) WHERE Query LIKE '%%TenantId%%'")
    assert text.endswith("now() - $2::interval")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"PREPARE probe AS {text}")
        assert conn.execute("SELECT parameter_types::text FROM pg_prepared_statements").fetchone() == ("{integer,interval}",)


def test_statements_are_ranked_by_their_time_since_the_previous_cycle(fresh_published):
    """A statement that turned expensive since the previous cycle comes before one that was
    expensive earlier (bench/results/ooda.md: a regression found ten minutes late, while its
    statement's total since the reset overtook the others')."""
    url = fresh_published
    fill_requests(url, 20000)
    earlier = "SELECT count(*) FROM dbo.InferenceRequests WHERE DurationMs > %s"
    lately = "SELECT count(*) FROM dbo.InferenceRequests WHERE ModelId = %s"
    with psycopg.connect(url, autocommit=True) as conn:
        for i in range(30):
            conn.execute(earlier, (i,))
        conn.execute("CALL dbo.sp_Analyze(LookbackHours => 0)")
        for i in range(10):
            conn.execute(lately, (i,))
        conn.execute("CALL dbo.sp_Analyze(LookbackHours => 0)")
        totals = dict(conn.execute("SELECT Query, TotalMs FROM dbo.fn_TableStatements('inferencerequests', 5)").fetchall())
        ranked = [q for (q,) in conn.execute("SELECT Query FROM dbo.fn_TableStatements('inferencerequests', 5)")]
    first_earlier = next(i for i, q in enumerate(ranked) if "DurationMs" in q)
    first_lately = next(i for i, q in enumerate(ranked) if "ModelId" in q)
    assert totals[ranked[first_earlier]] > totals[ranked[first_lately]]  # earlier is ahead in total ...
    assert first_lately < first_earlier  # ... and behind in what it cost since the previous cycle


GRAPH_VECTORS = 5200  # past policy.GRAPH_MIN_VECTORS: a rebuild makes a graph again


def load_embeddings(url: str, vectors: np.ndarray, tenant: int = 0) -> list[int]:
    """Atoms and their embeddings by COPY (ids from 100,000 on), projected already: the loop has
    nothing to refit and only the vector index to look at."""
    ids = list(range(100_000, 100_000 + len(vectors)))
    with psycopg.connect(url, autocommit=True) as conn, conn.cursor() as cur:
        with cur.copy("COPY dbo.Atoms (AtomId, TenantId, ContentHash, ContentType, Modality, ContentSize) FROM STDIN") as cp:
            for i in ids:
                cp.write_row((i, tenant, i.to_bytes(32, "big"), "text/plain", "text", 1))
        with cur.copy("COPY dbo.AtomEmbeddings (AtomEmbeddingId, AtomId, EmbeddingType, Dimension, EmbeddingVector, "
                      "VectorBucket, SpatialGeometry) FROM STDIN") as cp:
            for i, vector in zip(ids, vectors):
                cp.write_row((i, i, "test-32", len(vector), np.asarray(vector, "<f4").tobytes(), 0, "POINT Z (0 0 0)"))
        conn.execute("ANALYZE dbo.Atoms")
        conn.execute("ANALYZE dbo.AtomEmbeddings")
    return ids


def weaken_graph(url: str) -> int:
    """Replace the active graph's stored bytes with a graph of the same embeddings built with few
    links (M 2, ef_construction 4) and searched at the smallest ef_search: an index that misses
    most neighbours, as a graph damaged by a bad build would. Returns its SegmentId."""
    (segment,), = query(url, "SELECT SegmentId FROM dbo.VectorIndexSegments WHERE IsActive AND Kind = 'hnsw'")
    stored = b"".join(bytes(d) for (d,) in query(url, "SELECT Data FROM dbo.VectorIndexChunks WHERE SegmentId = %s "
                                                      "ORDER BY ChunkIndex", (segment,)))
    graph = vector_index.deserialize(stored)
    weak = vector_index.build_graph(graph.ids, graph.matrix(), m=2, ef_construction=4, seed=1)
    weak.ef_search = policy.HNSW_MIN_EF
    blob = vector_index.serialize(weak)
    with psycopg.connect(url) as conn:
        conn.execute("DELETE FROM dbo.VectorIndexChunks WHERE SegmentId = %s", (segment,))
        for number, chunk in enumerate(vector_index.chunks(blob)):
            conn.execute("INSERT INTO dbo.VectorIndexChunks (SegmentId, ChunkIndex, Data) VALUES (%s, %s, %s)",
                         (segment, number, chunk))
        conn.execute("UPDATE dbo.VectorIndexSegments SET EfSearch = %s, ByteSize = %s WHERE SegmentId = %s",
                     (weak.ef_search, len(blob), segment))
    return segment


def test_a_vector_index_of_low_search_recall_is_observed_rebuilt_and_measured_again(fresh_published):
    url = fresh_published
    query(url, FAST_SETTINGS, (1, 30))
    load_embeddings(url, clustered(GRAPH_VECTORS, dimension=32, seed=41))
    query(url, "CALL dbo.sp_BuildVectorIndex(Mode => 'graph')")
    weak = weaken_graph(url)
    (measured,), = query(url, "SELECT Recall FROM dbo.fn_MeasureSearchRecall(0, 'test-32', 20, 10, 7)")
    assert measured < policy.TARGET_RECALL - policy.LOOP_RECALL_TOLERANCE
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        dispatch(url, 5)
        if query(url, "SELECT 1 FROM dbo.AutonomousSnapshots s JOIN dbo.VectorIndexSegments g "
                      "ON g.SegmentId = (s.Counters->>'segment')::bigint "
                      "WHERE s.Kind = 'vector_index' AND g.IsActive AND g.SegmentId > %s", (weak,)):
            break
    # observed: the measured recall against the calibration target, with what it measured
    (metric, baseline, detail), = query(url, "SELECT Metric, Baseline, Detail FROM dbo.AutonomousObservations "
                                             "WHERE Kind = 'search_recall' AND TargetObject = '0'")
    assert metric < policy.TARGET_RECALL - policy.LOOP_RECALL_TOLERANCE and baseline == policy.TARGET_RECALL
    assert (detail["tenant"], detail["type"], detail["segment"], detail["k"], detail["queries"], detail["embeddings"]) == (
        0, "test-32", weak, 10, 20, GRAPH_VECTORS)
    print(f"search_recall: {metric} measured in {detail['seconds']} s")
    # proposed as a rebuild of the tenant's index, applied and kept
    (gain, status, reason), = query(url, "SELECT ExpectedGain, Status, StatusReason FROM dbo.AutonomousActions "
                                         "WHERE ActionType = 'rebuild_vector_index' AND TargetName = '0'")
    # the shortfall in units of the tolerance, at most 1: well past it here, so the whole gain
    assert float(gain) == pytest.approx(min(1.0, (policy.TARGET_RECALL - metric) / policy.LOOP_RECALL_TOLERANCE), abs=1e-4)
    print(f"rebuild_vector_index: gain {gain}, {status}")
    assert status in ("Applied", "Kept"), (status, reason)  # Kept once sp_Learn has judged it
    # the rebuilt graph, calibrated again, measured by the loop's next Analyze at the target
    (kind, ef), = query(url, "SELECT Kind, EfSearch FROM dbo.VectorIndexSegments WHERE IsActive")
    assert kind == "hnsw" and ef in policy.EF_SEARCH_STEPS
    (after,), = query(url, "SELECT (s.Counters->>'recall')::float FROM dbo.AutonomousSnapshots s "
                           "WHERE s.Kind = 'vector_index' AND (s.Counters->>'segment')::bigint > %s", (weak,))
    print(f"after the rebuild: {after} (ef_search {ef})")
    assert after >= policy.TARGET_RECALL - policy.LOOP_RECALL_TOLERANCE
    assert query(url, "SELECT count(*) FROM dbo.AutonomousObservations WHERE Kind = 'search_recall'") == [(1,)]
    # and measured on a sample of its own, by hand: at or above the target
    (again,), = query(url, "SELECT Recall FROM dbo.fn_MeasureSearchRecall(0, 'test-32', 100, 10, 7)")
    assert again >= policy.TARGET_RECALL
    assert phase_failures(url) == []
    # an internal function (sp_Analyze's), refusing what it cannot measure by 22023
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="SampleSize must be between 1 and 1000, not 0"):
        query(url, "SELECT * FROM dbo.fn_MeasureSearchRecall(0, 'test-32', 0)")
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="K must be between 1 and 1000, not 1001"):
        query(url, "SELECT * FROM dbo.fn_MeasureSearchRecall(0, 'test-32', 20, 1001)")
    assert query(url, "SELECT count(*) FROM dbo.fn_MeasureSearchRecall(0, 'no-such-type')") == [(0,)]  # no graph: no row
