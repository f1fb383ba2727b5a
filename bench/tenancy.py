"""What tenant isolation costs: dbo.sp_SemanticSearch (index and exact paths) and dbo.sp_IngestAtom,
called by an administrator (superuser: row-level security does not apply, the tenant is given)
against the same calls by an application login of the tenant (the tenant resolved from its login,
the SECURITY DEFINER front, row-level security on what it reads), on the same real texts (Debian's
package descriptions, tools.corpus) in the same run.

    .venv/bin/python -m deployer local up
    .venv/bin/python bench/tenancy.py [--texts 10000] [--queries 200]

The queries are held-out descriptions' embeddings; each path is timed as the median client wall
time of the calls, after a warm-up call per session, the two callers' calls taken in turns. Writes bench/results/tenancy.md.
"""

from __future__ import annotations

import argparse
import base64
import json
import statistics
import sys
import time
from pathlib import Path

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # tools/ (the Debian corpus), as pytest's pythonpath gives the tests

from deployer import cli  # noqa: E402
from deployer.local.instance import LocalInstance  # noqa: E402
from tools.corpus import debian_descriptions  # noqa: E402

RESULTS = Path(__file__).parent / "results"
DATABASE = "bench_tenancy"
LOGIN = "bench_tenancy_login"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=10000)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    local = LocalInstance.default()
    with psycopg.connect(local.url("postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(LOGIN)))
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(LOGIN)))
    url = local.create_database(DATABASE)
    assert cli.main(["publish", "--target", url, "--log-dir", str(RESULTS / "logs")]) == 0
    assert cli.main(["grant", "--target", url, "--login", LOGIN, "--role", "app", "--tenant", "1"]) == 0
    texts = [description for description, _ in debian_descriptions()]
    stored, held_out = texts[:args.texts], texts[args.texts:args.texts + args.queries]
    with psycopg.connect(url, autocommit=True) as conn:
        batch = 200
        for start in range(0, len(stored), batch):
            atoms = json.dumps([{"content": base64.b64encode(t.encode()).decode(), "contentType": "text/plain"}
                                for t in stored[start:start + batch]])
            conn.execute("SELECT count(*) FROM dbo.sp_IngestAtoms(%s, TenantId => 1, GenerateEmbedding => 1)", (atoms,))
        conn.execute("CALL dbo.sp_BuildVectorIndex(TenantId => 1)")
        # steady state: without it the first minute after 10,000 inserts measures autovacuum's work
        conn.execute("VACUUM ANALYZE")
        vectors = [conn.execute("SELECT dbo.fn_GenerateEmbedding(%s)", (q,)).fetchone()[0] for q in held_out]

    search = ("SELECT AtomId FROM dbo.sp_SemanticSearch(query_vector => %s, top_k => 10, use_hybrid => {hybrid}"
              "{tenant})")
    ingest = "CALL dbo.sp_IngestAtom(%s, 'text/plain'{tenant})"
    # two sessions, one per caller, measured in turns (query by query) so that neither gets a
    # quieter machine than the other
    sessions = {who: psycopg.connect(url, autocommit=True) for who in ("admin", "app")}
    sessions["app"].execute(sql.SQL("SET SESSION AUTHORIZATION {}").format(sql.Identifier(LOGIN)))
    tenant = {"admin": ", TenantId => 1", "app": ""}
    times = {(who, path): [] for who in sessions for path in ("index", "exact", "ingest")}
    try:
        for path, hybrid in (("index", "true"), ("exact", "false")):
            for who, conn in sessions.items():  # warm: the library and the index load once per session
                conn.execute(search.format(hybrid=hybrid, tenant=tenant[who]), (vectors[0],)).fetchall()
            for vector in vectors:
                for who, conn in sessions.items():
                    start = time.perf_counter()
                    conn.execute(search.format(hybrid=hybrid, tenant=tenant[who]), (vector,)).fetchall()
                    times[(who, path)].append((time.perf_counter() - start) * 1000)
        for i, text in enumerate(held_out):
            for who, conn in sessions.items():
                start = time.perf_counter()
                conn.execute(ingest.format(tenant=tenant[who]), (f"{who} {i} {text}".encode(),))
                times[(who, "ingest")].append((time.perf_counter() - start) * 1000)
    finally:
        for conn in sessions.values():
            conn.close()
    results = {key: statistics.median(values) for key, values in times.items()}

    lines = [f"# What tenant isolation costs (PostgreSQL, {len(stored)} Debian descriptions, {len(vectors)} queries)",
             "", "Command: `.venv/bin/python bench/tenancy.py "
             f"--texts {args.texts} --queries {args.queries}`", "",
             "| call | administrator (superuser, TenantId given) p50 ms | application login (its tenant) p50 ms | ratio |",
             "|---|---:|---:|---:|"]
    for path, label in (("index", "sp_SemanticSearch, index"), ("exact", "sp_SemanticSearch, exact scan"),
                        ("ingest", "sp_IngestAtom, no embedding")):
        admin, app = results[("admin", path)], results[("app", path)]
        lines.append(f"| {label} | {admin:.2f} | {app:.2f} | {app / admin:.2f} |")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "tenancy.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    with psycopg.connect(local.url("postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        for suffix in ("admin", "app", "reader", "system"):
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(f"{DATABASE}_{suffix}")))
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(LOGIN)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
