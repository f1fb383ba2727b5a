"""What metering costs (PostgreSQL): dbo.sp_ChargeUsage as every metered procedure runs it (the quota
check before the work, the charge in the work's transaction: the month's counter and a ledger line),
against what a user would write instead, an application-side usage log (one INSERT into an
unindexed table, committed), in the same run; and its share of a dbo.sp_SemanticSearch call on
real texts (Debian's package descriptions, tools.corpus). Also throughput with two clients charging
the same tenant and operation at once, which take turns on the counter's row.

    .venv/bin/python -m deployer local up
    .venv/bin/python bench/billing.py [--texts 2000] [--calls 2000]

Latencies are medians of client wall time per call (one connection, autocommit, each call its own
transaction); throughput is calls per second over both clients. Writes bench/results/billing.md.
"""

from __future__ import annotations

import argparse
import base64
import json
import statistics
import sys
import threading
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # tools/ (the Debian corpus), as pytest's pythonpath gives the tests

from deployer import cli  # noqa: E402
from deployer.local.instance import LocalInstance  # noqa: E402
from tools.corpus import debian_descriptions  # noqa: E402

RESULTS = Path(__file__).parent / "results"
DATABASE = "bench_billing"


def charge(conn) -> None:
    """What a metered procedure adds: the quota check, then the charge, in one transaction and one
    round trip, as inside the procedure (the comparison then pays the same one round trip)."""
    conn.execute("DO $$ BEGIN CALL dbo.sp_ChargeUsage(1, 'search', 1, 'bench', true); "
                 "CALL dbo.sp_ChargeUsage(1, 'search', 1, 'bench'); END $$")


def log(conn) -> None:
    """What a user would write instead: an application-side usage log."""
    conn.execute("INSERT INTO public.usage_log (TenantId, Operation, Units) VALUES (1, 'search', 1)")


def timed(conn, action, calls: int) -> list[float]:
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        action(conn)
        times.append((time.perf_counter() - start) * 1000)
    return times


def throughput(url: str, action, calls: int) -> float:
    """Calls per second of two clients running `action` `calls` times each, at once."""
    def client():
        with psycopg.connect(url, autocommit=True) as conn:
            timed(conn, action, calls)

    threads = [threading.Thread(target=client) for _ in range(2)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return 2 * calls / (time.perf_counter() - start)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=2000)
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    local = LocalInstance.default()
    with psycopg.connect(local.url("postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
    url = local.create_database(DATABASE)
    assert cli.main(["publish", "--target", url, "--log-dir", str(RESULTS / "logs")]) == 0
    texts = [description for description, _ in debian_descriptions()][:args.texts + 200]
    with psycopg.connect(url, autocommit=True) as conn:
        for start in range(0, args.texts, 200):
            atoms = json.dumps([{"content": base64.b64encode(t.encode()).decode(), "contentType": "text/plain"}
                                for t in texts[start:min(start + 200, args.texts)]])
            conn.execute("SELECT count(*) FROM dbo.sp_IngestAtoms(%s, TenantId => 1, GenerateEmbedding => 1)", (atoms,))
        conn.execute("INSERT INTO dbo.BillingRatePlans (PlanName) VALUES ('bench')")
        conn.execute("INSERT INTO dbo.BillingRates (RatePlanId, Operation, UnitRate, MonthlyQuotaUnits) "
                     "SELECT RatePlanId, 'search', 0.001, 1000000000 FROM dbo.BillingRatePlans")
        conn.execute("INSERT INTO dbo.BillingAccounts (TenantId, RatePlanId) SELECT 1, RatePlanId FROM dbo.BillingRatePlans")
        conn.execute("CREATE TABLE public.usage_log (TenantId integer, Operation text, Units bigint, "
                     "RecordedAt timestamptz DEFAULT now())")
        conn.execute("VACUUM ANALYZE")
        vectors = [conn.execute("SELECT dbo.fn_GenerateEmbedding(%s)", (q,)).fetchone()[0]
                   for q in texts[args.texts:args.texts + 200]]
        search = "SELECT AtomId FROM dbo.sp_SemanticSearch(query_vector => %s, top_k => 10, TenantId => 1)"
        conn.execute(search, (vectors[0],)).fetchall()  # warm: the library and the index load once per session
        search_ms = []
        for vector in vectors:
            start = time.perf_counter()
            conn.execute(search, (vector,)).fetchall()
            search_ms.append((time.perf_counter() - start) * 1000)
        charge_ms = statistics.median(timed(conn, charge, args.calls))
        log_ms = statistics.median(timed(conn, log, args.calls))
    charge_rate, log_rate = throughput(url, charge, args.calls), throughput(url, log, args.calls)
    search_p50 = statistics.median(search_ms)

    lines = [f"# What metering costs (PostgreSQL, {args.texts} Debian descriptions, {len(vectors)} searches, "
             f"{args.calls} charges)", "",
             f"Command: `.venv/bin/python bench/billing.py --texts {args.texts} --calls {args.calls}`", "",
             "| measure | dbo.sp_ChargeUsage (check + charge + ledger line) | application usage log (one INSERT) | ratio |",
             "|---|---:|---:|---:|",
             f"| p50 ms per call, its own transaction | {charge_ms:.3f} | {log_ms:.3f} | {charge_ms / log_ms:.2f} |",
             f"| calls/s, two clients, one tenant and operation | {charge_rate:.0f} | {log_rate:.0f} | "
             f"{charge_rate / log_rate:.2f} |", "",
             f"sp_SemanticSearch p50 (index path, metered): {search_p50:.2f} ms; the charge is "
             f"{100 * charge_ms / search_p50:.0f}% of it."]
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "billing.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    with psycopg.connect(local.url("postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
    return 0


if __name__ == "__main__":
    sys.exit(main())
