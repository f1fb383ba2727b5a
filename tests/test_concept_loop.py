"""Re-clustering as an action of the autonomous loop (issue #13) on a real PostgreSQL: atoms arrive
after a concept discovery run (bound at ingest, never clustered) and others are deleted; once the
changed share of the run's atoms reaches CONCEPT_RECLUSTER_SHARE the loop observes concept_drift,
proposes recluster_concepts, runs discovery again in its online runner with the previous run's
parameters, and keeps it on the share measured again (0 after the run). Below the share nothing is
proposed, and within CONCEPT_RECLUSTER_INTERVAL_HOURS of a proposal nothing is observed again.
The texts are Debian package descriptions of a few sections (tests/test_concepts.py's fixtures)."""

from __future__ import annotations

import time

import psycopg
import pytest

from conftest import query
from hartonomous_ext import policy
from test_autonomous_loop import FAST_SETTINGS, dispatch, phase_failures
from test_concepts import ADDED, FIRST, PER_SECTION, discover, ingest, sections  # noqa: F401 (sections is a fixture)

TARGET = "0/all-MiniLM-L6-v2"  # tenant 0's packaged embedding type, as the loop names it


def drift(url: str) -> tuple:
    return query(url, "SELECT DiscoveryRunId, RunAtoms, Atoms, Added, Removed, Share FROM dbo.fn_ConceptDrift(0, 'all-MiniLM-L6-v2')")[0]


def test_concepts_that_drifted_are_reclustered_by_the_loop_with_the_runs_parameters_and_kept(fresh_published, sections):
    url = fresh_published
    query(url, FAST_SETTINGS, (1, 30))
    with psycopg.connect(url, autocommit=True) as conn:
        first = [atom for section in FIRST for atom in ingest(conn, sections[section][:PER_SECTION])]
        # projected, so the loop has nothing but the concepts to look at
        conn.execute("CALL dbo.sp_RecomputeAllSpatialProjections()")
        # parameters of its own, which the loop's run must use again
        discover(conn, MinClusterSize=10, CoherenceThreshold=0.35, MaxConcepts=50)
        (run,), = conn.execute("SELECT IngestionJobId FROM dbo.IngestionJobs WHERE JobType = 'concept-discovery'").fetchall()
        # below the share: 20 new atoms of another section (a batch is not bound on arrival) of 120
        ingest(conn, sections[ADDED][:20])
    assert drift(url) == (run, 120, 140, 20, 0, pytest.approx(20 / 120))
    assert 20 >= policy.CONCEPT_RECLUSTER_MIN_ATOMS and 20 / 120 < policy.CONCEPT_RECLUSTER_SHARE
    dispatch(url, 6)
    assert query(url, "SELECT count(*) FROM dbo.AutonomousCycles WHERE FinishedAt IS NOT NULL")[0][0] >= 2
    assert query(url, "SELECT Kind, TargetObject FROM dbo.AutonomousObservations") == []
    assert query(url, "SELECT ActionType, TargetName FROM dbo.AutonomousActions") == []

    # five of the run's atoms deleted: 25 of 120 changed, past the share
    query(url, "DELETE FROM dbo.Atoms WHERE AtomId = ANY(%s)", (first[:5],))
    assert drift(url) == (run, 120, 135, 20, 5, pytest.approx(25 / 120))
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        dispatch(url, 5)
        if query(url, "SELECT 1 FROM dbo.AutonomousActions WHERE ActionType = 'recluster_concepts' "
                      "AND Status IN ('Kept', 'Failed')"):
            break
    # observed: the changed share against the threshold, with the counts and the run's parameters
    (target, metric, baseline, detail), = query(url, "SELECT TargetObject, Metric, Baseline, Detail "
                                                     "FROM dbo.AutonomousObservations WHERE Kind = 'concept_drift'")
    assert (target, baseline) == (TARGET, policy.CONCEPT_RECLUSTER_SHARE) and metric == pytest.approx(25 / 120)
    assert (detail["tenant"], detail["type"], detail["run"], detail["run_atoms"], detail["atoms"], detail["added"],
            detail["removed"]) == (0, "all-MiniLM-L6-v2", run, 120, 135, 20, 5)
    assert (detail["min_cluster_size"], detail["coherence_threshold"], detail["max_concepts"]) == (10, 0.35, 50)
    # proposed with the whole gain, applied without a person, judged on the share measured again
    (action, gain, status, reason, command, before, after), = query(
        url, "SELECT ActionId, ExpectedGain, Status, StatusReason, Command, MetricBefore, MetricAfter "
             "FROM dbo.AutonomousActions WHERE ActionType = 'recluster_concepts' AND TargetName = %s", (TARGET,))
    assert status == "Kept", (status, reason)
    assert float(gain) == 1.0
    assert command == ("SELECT count(*) FROM dbo.fn_DiscoverConcepts(MinClusterSize => '10', CoherenceThreshold => '0.35', "
                       "MaxConcepts => '50', TenantId => '0', EmbeddingType => 'all-MiniLM-L6-v2')")
    assert before == pytest.approx(25 / 120) and after == 0.0
    assert query(url, "SELECT Verdict, ImprovementPct FROM dbo.AutonomousImprovementHistory WHERE ActionId = %s",
                 (action,)) == [("kept", 100)]
    assert query(url, "SELECT KeptCount, FailedCount FROM dbo.AutonomousActionCatalog "
                      "WHERE ActionType = 'recluster_concepts'") == [(1, 0)]
    # the new run: every atom there now, the previous run's parameters, its evolution recorded
    (new_run, status, atoms, parameters), = query(
        url, "SELECT IngestionJobId, Status, AtomsProcessed, Parameters FROM dbo.IngestionJobs "
             "WHERE JobType = 'concept-discovery' AND IngestionJobId > %s", (run,))
    assert (status, atoms) == ("Completed", 135)
    assert (parameters["min_cluster_size"], parameters["coherence_threshold"], parameters["max_concepts"]) == (10, 0.35, 50)
    events = query(url, "SELECT EventType FROM provenance.ConceptEvolution WHERE DiscoveryRunId = %s", (new_run,))
    assert events and query(url, "SELECT count(*) FROM provenance.Concepts WHERE RetiredAt IS NULL AND DiscoveryRunId = %s",
                            (new_run,))[0][0] == sum(1 for (e,) in events if e != "gone")
    assert drift(url) == (new_run, 135, 135, 0, 0, 0.0)
    assert query(url, "SELECT count(*) FROM dbo.OODALoopMetrics WHERE Phase = 'Online' AND Success = 1")[0][0] >= 1
    assert phase_failures(url) == []

    # drifted again at once: within the interval of the proposal nothing is observed ...
    (second,), = query(url, "SELECT array_agg(a.AtomId ORDER BY a.AtomId) FROM (SELECT AtomId FROM dbo.Atoms "
                            "ORDER BY AtomId DESC LIMIT 30) a")
    query(url, "DELETE FROM dbo.Atoms WHERE AtomId = ANY(%s)", (second,))
    assert drift(url)[4:] == (30, pytest.approx(30 / 135))
    query(url, "CALL dbo.sp_Analyze()")
    assert query(url, "SELECT count(*) FROM dbo.AutonomousObservations WHERE Kind = 'concept_drift'") == [(1,)]
    # ... and after it, it is
    query(url, "UPDATE dbo.AutonomousActions SET ProposedAt = ProposedAt - make_interval(hours => %s) WHERE ActionId = %s",
          (policy.CONCEPT_RECLUSTER_INTERVAL_HOURS, action))
    query(url, "CALL dbo.sp_Analyze()")
    assert query(url, "SELECT count(*) FROM dbo.AutonomousObservations WHERE Kind = 'concept_drift'") == [(2,)]
