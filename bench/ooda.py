"""The autonomous loop, running by itself from pg_cron for an hour against a steady workload with
two injected regressions: how soon it sees each, how soon it fixes it, what it did and undid, how
long its phases take, whether its queues, dead letters and pending messages grow, and how many
messages a second its queues move.

    .venv/bin/python -m deployer local up
    .venv/bin/python bench/ooda.py [--minutes 60] [--rows 200000]

The workload (one client thread, steady): the dashboard's latest requests of one type (dbo.InferenceRequests by
TaskType, newest first), a tenant's requests since a moment (by TenantId and StartTime), and new
requests written as they arrive. Both reads have their index at the start. At a sixth of the run
the first index is dropped; at half of it the second. The loop runs with a one-minute interval,
a one-minute validation window and its default thresholds. Writes bench/results/ooda.md.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from deployer import cli  # noqa: E402
from deployer.engines import open_engine  # noqa: E402
from deployer.local.instance import LocalInstance  # noqa: E402

RESULTS = Path(__file__).parent / "results"
DATABASE = "bench_ooda"
DASHBOARD = ("SELECT RequestId, DurationMs FROM dbo.InferenceRequests WHERE TaskType = %s "
             "ORDER BY StartTime DESC LIMIT 20")
TENANT_RECENT = ("SELECT count(*), avg(DurationMs) FROM dbo.InferenceRequests WHERE TenantId = %s "
                 "AND StartTime >= now() - interval '10 minutes'")
ARRIVAL = "INSERT INTO dbo.InferenceRequests (TenantId, TaskType, DurationMs) VALUES (%s, %s, %s)"
REGRESSIONS = [("dashboard", "dbo.IX_InferenceRequests_TaskType_StartTime", "inferencerequests", "tasktype"),
               ("tenant recent", "dbo.bench_ix_tenant_start", "inferencerequests", "tenantid")]


class Workload(threading.Thread):
    def __init__(self, url: str):
        super().__init__(daemon=True)
        self.url, self.stop, self.samples = url, threading.Event(), {"dashboard": [], "tenant recent": []}

    def run(self) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self.stop.is_set():
                for name, statement, args in (("dashboard", DASHBOARD, (f"task{random.randrange(500)}",)),
                                              ("tenant recent", TENANT_RECENT, (random.randrange(200),))):
                    started = time.perf_counter()
                    conn.execute(statement, args).fetchall()
                    self.samples[name].append((time.time(), time.perf_counter() - started))
                conn.execute(ARRIVAL, (random.randrange(200), f"task{random.randrange(500)}", random.random() * 20))
                time.sleep(0.05)


def one(conn, statement: str, params=None):
    return conn.execute(statement, params).fetchone()


def state(conn) -> dict:
    return {
        "queued messages": one(conn, "SELECT count(*) FROM dbo.AutonomousLoopMessages")[0],
        "visible messages": one(conn, "SELECT count(*) FROM dbo.AutonomousLoopMessages WHERE VisibleAt <= now()")[0],
        "dead letters": one(conn, "SELECT count(*) FROM dbo.AutonomousLoopDeadLetters")[0],
        "open actions": one(conn, "SELECT count(*) FROM dbo.AutonomousActions WHERE Status IN "
                                  "('Proposed', 'Approved', 'Executing', 'Applied', 'Reverting')")[0],
        "backends of the loop": one(conn, "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'hartonomous_loop'")[0],
    }


def mean_ms(samples, start: float, end: float) -> float | None:
    values = [d for t, d in samples if start <= t < end]
    return 1000 * statistics.mean(values) if values else None


def queue_throughput(url: str, messages: int) -> float:
    """Learn messages (the cheapest phase) through the dispatcher, per second, loop otherwise idle."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DELETE FROM dbo.AutonomousLoopMessages")
        conn.execute("INSERT INTO dbo.AutonomousLoopSettings (SettingsId, Enabled, IntervalSeconds) VALUES (1, 1, 86400) "
                     "ON CONFLICT (SettingsId) DO UPDATE SET Enabled = 1, IntervalSeconds = 86400")
        for _ in range(messages):
            conn.execute("CALL dbo.sp_SendLoopMessage('LearnQueue', '{}')")
        started = time.perf_counter()
        while one(conn, "SELECT count(*) FROM dbo.AutonomousLoopMessages WHERE QueueName = 'LearnQueue'")[0]:
            conn.execute("CALL dbo.sp_RunAutonomousLoop(5)")
        return messages / (time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60)
    parser.add_argument("--rows", type=int, default=200000)
    args = parser.parse_args()
    local = LocalInstance.default()
    url = local.create_database(DATABASE)
    assert cli.main(["publish", "--target", url, "--log-dir", str(RESULTS / "logs")]) == 0
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("INSERT INTO dbo.InferenceRequests (TenantId, TaskType, StartTime, DurationMs) "
                     "SELECT i %% 200, 'task' || (i %% 500), now() - i * interval '50 milliseconds', random() * 20 "
                     "FROM generate_series(1, %s) i", (args.rows,))
        conn.execute("CREATE INDEX bench_ix_tenant_start ON dbo.InferenceRequests (TenantId, StartTime)")
        conn.execute("VACUUM ANALYZE dbo.InferenceRequests")
        conn.execute("INSERT INTO dbo.AutonomousLoopSettings (SettingsId, Enabled, IntervalSeconds, ValidationSeconds, "
                     "MinValidationCalls, LookbackHours) VALUES (1, 1, 60, 60, 50, 1)")
        at_start = state(conn)
    engine = open_engine(url)
    engine.connect(create_database=False)
    workload = Workload(url)
    workload.start()
    started = time.time()
    injected = {}
    try:
        engine.data.start_loop()
        seconds = args.minutes * 60
        schedule = [(seconds / 6, REGRESSIONS[0]), (seconds / 2, REGRESSIONS[1])]
        with psycopg.connect(url, autocommit=True) as conn:
            while time.time() - started < seconds:
                for at, (name, index, _, _) in schedule:
                    if name not in injected and time.time() - started >= at:
                        conn.execute(f"DROP INDEX {index}")
                        injected[name] = datetime.now(timezone.utc)
                        print(f"{time.time() - started:7.0f} s  dropped {index} ({name})", flush=True)
                time.sleep(5)
            at_end = state(conn)
            report = collect(conn, injected, workload, started, seconds)
            cron_runs = one(conn, "SELECT count(*) FROM dbo.OODALoopMetrics WHERE Phase = 'Analyze'")[0]
    finally:
        workload.stop.set()
        workload.join(30)
        engine.data.stop_loop()
        engine.close()
    throughput = queue_throughput(url, 300)
    write(report, at_start, at_end, throughput, cron_runs, args)
    return 0


def collect(conn, injected: dict, workload: Workload, started: float, seconds: float) -> dict:
    rows = []
    for name, index, table, column in REGRESSIONS:
        if name not in injected:
            continue
        at = injected[name]
        detected = one(conn, "SELECT min(ObservedAt) FROM dbo.AutonomousObservations WHERE Kind = 'seq_scan_hotspot' "
                             "AND TargetObject = %s AND ObservedAt >= %s", (f"dbo.{table}", at))[0]
        fixed = one(conn, "SELECT min(AppliedAt), min(JudgedAt), min(ActionId) FROM dbo.AutonomousActions "
                          "WHERE ActionType = 'create_index' AND TargetColumns[1] = %s AND ProposedAt >= %s", (column, at))
        judged = one(conn, "SELECT Verdict, MetricBefore, MetricAfter, ImprovementPct FROM dbo.AutonomousImprovementHistory "
                           "WHERE ActionId = %s", (fixed[2],)) if fixed[2] else None
        t_at = at.timestamp()
        before = mean_ms(workload.samples[name], t_at - 120, t_at)
        broken_end = fixed[0].timestamp() if fixed[0] else started + seconds
        during = mean_ms(workload.samples[name], t_at, broken_end)
        after = mean_ms(workload.samples[name], broken_end + 10, broken_end + 130) if fixed[0] else None
        rows.append({"regression": f"{name}: {index} dropped", "detect": (detected - at).total_seconds() if detected else None,
                     "fix": (fixed[0] - at).total_seconds() if fixed[0] else None,
                     "validated": (fixed[1] - at).total_seconds() if fixed[1] else None,
                     "verdict": judged, "client ms": (before, during, after)})
    actions = conn.execute("SELECT ActionType, Status, count(*) FROM dbo.AutonomousActions GROUP BY 1, 2 ORDER BY 1, 2").fetchall()
    phases = conn.execute("SELECT Phase, count(*), count(*) FILTER (WHERE Success = 0), "
                          "percentile_cont(0.5) WITHIN GROUP (ORDER BY DurationMs), "
                          "percentile_cont(0.95) WITHIN GROUP (ORDER BY DurationMs), max(DurationMs) "
                          "FROM dbo.OODALoopMetrics GROUP BY Phase ORDER BY Phase").fetchall()
    cycles = one(conn, "SELECT count(*), count(*) FILTER (WHERE FinishedAt IS NOT NULL) FROM dbo.AutonomousCycles")
    return {"regressions": rows, "actions": actions, "phases": phases, "cycles": cycles}


def fmt(value, unit: str = "") -> str:
    return "-" if value is None else f"{value:,.1f}{unit}" if isinstance(value, float) else f"{value}{unit}"


def write(report: dict, at_start: dict, at_end: dict, throughput: float, cron_runs: int, args) -> None:
    lines = [
        f"# The autonomous loop for {args.minutes:g} minutes (bench/ooda.py)", "",
        f"Run {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC: `.venv/bin/python bench/ooda.py --minutes {args.minutes:g} "
        f"--rows {args.rows}` on the local PostgreSQL 15 (2 cores), pg_cron running dbo.sp_RunAutonomousLoop every minute; "
        "interval 60 s, validation 60 s and 50 executions, default thresholds. "
        f"{report['cycles'][0]} cycles started, {report['cycles'][1]} finished; {cron_runs} Analyze runs.", "",
        "## Regressions", "",
        "| regression | detected after | fixed after | validated after | verdict | statement before → after (ms, loop's measure) "
        "| client ms: before / broken / after |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in report["regressions"]:
        verdict = r["verdict"]
        lines.append(f"| {r['regression']} | {fmt(r['detect'], ' s')} | {fmt(r['fix'], ' s')} | {fmt(r['validated'], ' s')} | "
                     f"{verdict[0] if verdict else '-'} ({fmt(verdict[3] if verdict else None, '%')}) | "
                     f"{fmt(verdict[1] if verdict else None)} → {fmt(verdict[2] if verdict else None)} | "
                     + " / ".join(fmt(v) for v in r["client ms"]) + " |")
    lines += ["", "## Actions", "", "| action | status | count |", "|---|---|---|"]
    lines += [f"| {a} | {s} | {n} |" for a, s, n in report["actions"]]
    lines += ["", "## Phases (dbo.OODALoopMetrics)", "", "| phase | runs | failed | p50 ms | p95 ms | max ms |",
              "|---|---|---|---|---|---|"]
    lines += [f"| {p} | {n} | {f} | {fmt(p50)} | {fmt(p95)} | {fmt(mx)} |" for p, n, f, p50, p95, mx in report["phases"]]
    lines += ["", "## Queues and sessions: start → end", "", "| | start | end |", "|---|---|---|"]
    lines += [f"| {k} | {at_start[k]} | {at_end[k]} |" for k in at_start]
    lines += ["", f"Queue throughput: {throughput:,.0f} messages/s (300 Learn messages drained by the dispatcher, "
                  "each a real, empty sp_Learn, loop otherwise idle).", ""]
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "ooda.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
