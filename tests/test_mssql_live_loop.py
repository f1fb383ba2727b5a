"""Live SQL Server suite of the autonomous loop: Service Broker activation runs the four phases.

Runs when HARTONOMOUS_MSSQL_DSN holds an ODBC connection string to a SQL Server 2019+ with
Machine Learning Services (Python) installed and a login allowed to create a database (as
tests/test_mssql_live.py). Otherwise every test here is reported as skipped, with the reason.
The module publishes a database of its own, starts the loop (`loop start`), sends the runbook's
restart message as seed 001 writes it, waits for a full cycle (a row of dbo.OODALoopMetrics for
each phase), sees the conversations closed and the queues enabled, has a malformed message
dead-lettered, and stops the loop (`loop stop`).
"""

from __future__ import annotations

import time

import pytest

from mssql_live_support import DSN, VERSION, published_database, rows, scalar

CYCLE_SECONDS = 300  # a first cycle on an empty database: Query Store, the four phases, Python once each
pytestmark = [
    pytest.mark.mssql,
    pytest.mark.skipif(not DSN, reason="live SQL Server loop suite skipped: HARTONOMOUS_MSSQL_DSN is not set"),
]

# seed 001, "Issue: OODA Loop Stopped", the fix as written
RUNBOOK_RESTART = """DECLARE @handle UNIQUEIDENTIFIER;
BEGIN DIALOG CONVERSATION @handle
    FROM SERVICE [AnalyzeService]
    TO SERVICE 'AnalyzeService'
    ON CONTRACT [//Hartonomous/AutonomousLoop/AnalyzeContract]
    WITH ENCRYPTION = OFF;

SEND ON CONVERSATION @handle
    MESSAGE TYPE [//Hartonomous/AutonomousLoop/AnalyzeMessage]
    (N'{"trigger": "manual"}');"""

QUEUES = ("AnalyzeQueue", "HypothesizeQueue", "ActQueue", "LearnQueue")


@pytest.fixture(scope="module")
def database(tmp_path_factory):
    yield from published_database("HartonomousLoop", tmp_path_factory.mktemp("logs"))


def _wait_for(check, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"waited {seconds:.0f} s for {what}")
        time.sleep(2)


@pytest.fixture(scope="module")
def started(database, tmp_path_factory):
    from deployer import cli

    common = ["--target", "mssql", "--database-name", database, "--mssql-version", VERSION]
    assert cli.main(["loop", "start", *common]) == 0
    yield database
    cli.main(["loop", "stop", *common])


def test_loop_start_switches_activation_on(started):
    rows = rows(started, "SELECT name, is_activation_enabled, is_receive_enabled, is_enqueue_enabled, max_readers, "
                          "activation_procedure FROM sys.service_queues WHERE name LIKE '%Queue' ORDER BY name")
    assert {r[0] for r in rows} == set(QUEUES)
    for name, activation, receive, enqueue, readers, procedure in rows:
        assert (activation, receive, enqueue, readers) == (True, True, True, 1), name
        assert procedure.endswith(f"[sp_{name.removesuffix('Queue')}]"), procedure
    assert scalar(started, "SELECT Enabled FROM dbo.AutonomousLoopSettings WHERE SettingsId = 1") is True


def test_the_runbook_restart_runs_a_whole_cycle(started):
    since = scalar(started, "SELECT SYSUTCDATETIME()")
    rows(started, RUNBOOK_RESTART)
    phases = "SELECT DISTINCT Phase FROM dbo.OODALoopMetrics WHERE ExecutedAt >= ? AND Success = 1"
    _wait_for(lambda: {r[0] for r in rows(started, phases, since)} >= {"Analyze", "Hypothesize", "Act", "Learn"},
              CYCLE_SECONDS, "a successful run of each phase after the runbook's restart")
    assert scalar(started, "SELECT COUNT(*) FROM dbo.AutonomousCycles WHERE StartedAt >= ? AND TriggeredBy = N'manual'",
                   since) >= 1
    # every conversation of the cycle ends on both sides (the readers end what they receive): none
    # is left open but the next Analyze, which waits for its timer (IntervalSeconds)
    def settled():
        states = rows(started, "SELECT e.state, e.is_initiator FROM sys.conversation_endpoints AS e "
                                "INNER JOIN sys.services AS v ON v.service_id = e.service_id "
                                "WHERE v.name LIKE N'%Service' AND e.state <> 'CD'")
        return states if len(states) <= 1 else None
    open_ = _wait_for(settled, 60, "the cycle's conversations to close")
    assert all(state in ("SO", "CO") for state, _ in open_), open_
    assert scalar(started, "SELECT COUNT(*) FROM dbo.AutonomousLoopAttempts WHERE QueueName = N'AnalyzeQueue'") == 1
    assert scalar(started, "SELECT COUNT(*) FROM sys.conversation_endpoints WHERE state = 'CD'") >= 4
    assert scalar(started, "SELECT COUNT(*) FROM sys.transmission_queue") == 0
    for queue in QUEUES:
        assert rows(started, "SELECT is_receive_enabled, is_enqueue_enabled FROM sys.service_queues WHERE name = ?",
                     queue) == [(True, True)], queue
    # the runbook's diagnosis, as written, still reads the queues
    for queue in QUEUES:
        assert scalar(started, f"SELECT COUNT(*) FROM dbo.{queue};") >= 0


def test_a_malformed_message_is_dead_lettered(started):
    sent = scalar(started, "SET NOCOUNT ON; DECLARE @m BIGINT; EXEC dbo.sp_SendLoopMessage @QueueName = N'HypothesizeQueue', "
                            "@Body = N'this is not json', @MessageId = @m OUTPUT; SELECT @m;")
    letter = _wait_for(lambda: rows(started, "SELECT MessageId, Attempts, LastError FROM dbo.AutonomousLoopDeadLetters "
                                              "WHERE QueueName = N'HypothesizeQueue' AND Body = N'this is not json'"),
                       60, "the malformed message in dbo.AutonomousLoopDeadLetters")
    assert letter[0][1:] == (1, "malformed message body: not a JSON object")
    # a body that is not a JSON object cannot carry its number: the reader numbers it again
    assert sent is not None and letter[0][0] > 0
    for queue in QUEUES:
        assert scalar(started, "SELECT CAST(is_receive_enabled AS INT) FROM sys.service_queues WHERE name = ?", queue) == 1


def test_health_reports_the_broker_and_the_queues(started, run):
    result = run("health", "--target", "mssql", "--database-name", started, "--mssql-version", VERSION)
    assert "Service Broker" in result.out and "Loop queues" in result.out and "Conversations" in result.out


def test_loop_stop_switches_activation_off(started):
    from deployer import cli

    common = ["--target", "mssql", "--database-name", started, "--mssql-version", VERSION]
    assert cli.main(["loop", "stop", *common]) == 0
    rows = rows(started, "SELECT name, is_activation_enabled, is_receive_enabled FROM sys.service_queues "
                          "WHERE name LIKE '%Queue'")
    assert sorted(rows) == sorted((q, False, True) for q in QUEUES)
    assert scalar(started, "SELECT Enabled FROM dbo.AutonomousLoopSettings WHERE SettingsId = 1") is False
