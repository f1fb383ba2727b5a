"""Concept discovery in the database (dbo.fn_DiscoverConcepts on the local PostgreSQL) at 10,000,
50,000 and 100,000 embeddings, against the same policy run outside it (hartonomous_ext.concepts.
discover in this process, on the same vectors and texts) in the same run; and binding one atom
(dbo.fn_BindConcepts), the cost sp_IngestAtom adds to an ingest.

    .venv/bin/python -m deployer local up
    .venv/bin/python bench/concepts_db.py [--sizes 10000,50000,100000]

Data: Debian's package descriptions embedded by the packaged all-MiniLM-L6-v2 (bench/concepts.py's
corpus and samples, cached in /tmp/concepts_cache; the 100,000 sample is the ~60,000 descriptions
plus jittered copies). Each size is loaded as a tenant of its own in a database of its own on the
local instance (atoms, their text as payload, their embeddings; bulk INSERTs, not timed), then
clustered once with the defaults. "outside" is what a user would run instead: export the vectors
and texts and cluster them in Python; its time here leaves out the export. NMI is the primary
concept per atom against the section (unassigned as one more label), from the database's rows and
from the outside run's result. Writes bench/results/concepts_db.md.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import psycopg
from sklearn.metrics import normalized_mutual_info_score

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "db" / "external_scripts"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from deployer import cli  # noqa: E402
from deployer.local.instance import LocalInstance  # noqa: E402
from hartonomous_ext import concepts, policy  # noqa: E402

RESULTS = Path(__file__).parent / "results"
DATABASE = "bench_concepts"
LOAD_BATCH = 5000
BINDS = 50

_spec = importlib.util.spec_from_file_location("bench_concepts", Path(__file__).parent / "concepts.py")
corpus_bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(corpus_bench)


def load(conn, tenant: int, vectors: np.ndarray, texts: list[str]) -> list[int]:
    """The tenant's atoms with their text and embedding, in bulk; returns the AtomIds in order."""
    ids: list[int] = []
    for start in range(0, len(texts), LOAD_BATCH):
        chunk = texts[start:start + LOAD_BATCH]
        payloads = [t.encode() for t in chunk]
        hashes = [hashlib.sha256(f"{start + i}\n".encode() + p).digest() for i, p in enumerate(payloads)]
        rows = conn.execute(
            "INSERT INTO dbo.Atoms (TenantId, ContentHash, ContentType, Modality, ContentSize) "
            "SELECT %s, h, 'text/plain', 'text', s FROM unnest(%s::bytea[], %s::bigint[]) WITH ORDINALITY AS x (h, s, o) "
            "ORDER BY o RETURNING AtomId", (tenant, hashes, [len(p) for p in payloads])).fetchall()
        batch_ids = [r[0] for r in rows]
        conn.execute("INSERT INTO dbo.AtomPayloadStore (AtomId, Payload) SELECT * FROM unnest(%s::bigint[], %s::bytea[])",
                     (batch_ids, payloads))
        conn.execute("INSERT INTO dbo.AtomEmbeddings (AtomId, EmbeddingType, Dimension, EmbeddingVector) "
                     "SELECT a, 'all-MiniLM-L6-v2', %s, v FROM unnest(%s::bigint[], %s::bytea[]) AS x (a, v)",
                     (vectors.shape[1], batch_ids,
                      [np.asarray(v, dtype="<f4").tobytes() for v in vectors[start:start + LOAD_BATCH]]))
        ids.extend(batch_ids)
    return ids


def nmi(truth: np.ndarray, labels: np.ndarray) -> float:
    return float(normalized_mutual_info_score(truth, labels))


def measure(url: str, tenant: int, size: int, vectors, texts, truth) -> dict:
    with psycopg.connect(url, autocommit=True) as conn:
        started = time.perf_counter()
        ids = load(conn, tenant, vectors, texts)
        loaded = time.perf_counter() - started
        conn.execute("ANALYZE dbo.Atoms; ANALYZE dbo.AtomEmbeddings; ANALYZE dbo.AtomPayloadStore")
        started = time.perf_counter()
        found = conn.execute("SELECT count(*) FROM dbo.fn_DiscoverConcepts(TenantId => %s)", (tenant,)).fetchone()[0]
        inside = time.perf_counter() - started
        parameters = conn.execute("SELECT Parameters FROM dbo.IngestionJobs WHERE TenantId = %s AND JobType = "
                                  "'concept-discovery' ORDER BY IngestionJobId DESC LIMIT 1", (tenant,)).fetchone()[0]
        primary = dict(conn.execute(
            "SELECT ac.AtomId, ac.ConceptId FROM provenance.AtomConcepts ac JOIN dbo.Atoms a ON a.AtomId = ac.AtomId "
            "WHERE a.TenantId = %s AND ac.IsPrimary", (tenant,)).fetchall())
        rng = np.random.default_rng(1)
        bind_ms = []
        for atom in rng.choice(ids, BINDS, replace=False).tolist():
            started = time.perf_counter()
            conn.execute("SELECT * FROM dbo.fn_BindConcepts(%s, TenantId => %s)", (atom, tenant)).fetchall()
            bind_ms.append((time.perf_counter() - started) * 1000)
    db_labels = np.array([primary.get(a, -1) for a in ids])
    started = time.perf_counter()
    result = concepts.discover(vectors, texts, None, policy.CONCEPT_COHERENCE_THRESHOLD, policy.CONCEPT_MAX_CONCEPTS)
    outside = time.perf_counter() - started
    out_labels = np.full(len(texts), -1)
    for j, concept in enumerate(result["concepts"]):
        out_labels[concept["members"]] = j
    return {"size": size, "loaded": loaded, "inside": inside, "outside": outside, "concepts": found,
            "out_concepts": len(result["concepts"]), "seconds": parameters["seconds"],
            "unassigned": float(np.mean(db_labels == -1)), "nmi": nmi(truth, db_labels), "out_nmi": nmi(truth, out_labels),
            "bind_p50": statistics.median(bind_ms), "bind_p95": sorted(bind_ms)[int(0.95 * len(bind_ms)) - 1]}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,50000,100000")
    parser.add_argument("--out", default=str(RESULTS / "concepts_db.md"))
    args = parser.parse_args(argv)
    vectors, texts, truth, total = corpus_bench.corpus()
    local = LocalInstance.default()
    url = local.create_database(DATABASE)
    assert cli.main(["publish", "--target", url, "--log-dir", str(RESULTS / "logs")]) == 0
    rows = []
    for n, size in enumerate(int(s) for s in args.sizes.split(",")):
        x, t, y, _ = corpus_bench.sample(vectors, texts, truth, size)
        r = measure(url, 1000 + n, size, x, t, y)
        rows.append(r)
        print(r, flush=True)
    stages = ["read", *concepts.STAGES, "write"]
    out = [
        "# Concept discovery in the database",
        "",
        f"Produced by `.venv/bin/python bench/concepts_db.py --sizes {args.sizes}` against the local PostgreSQL 15 "
        "(2 shared cores), each size a tenant of its own with the default settings "
        f"(min_cluster_size max({policy.CONCEPT_MIN_CLUSTER_SIZE}, atoms / {policy.CONCEPT_ATOMS_PER_MIN_CLUSTER}), "
        f"coherence >= {policy.CONCEPT_COHERENCE_THRESHOLD}, at most {policy.CONCEPT_MAX_CONCEPTS} concepts). "
        "Data: Debian's package descriptions embedded by all-MiniLM-L6-v2 (384-d); the 100,000 sample adds "
        "jittered copies to the ~60,000 descriptions (its NMI is not a quality figure).",
        "",
        "\"in the database\": `SELECT count(*) FROM dbo.fn_DiscoverConcepts(TenantId => t)`, wall clock from the client "
        "(reading the embeddings and texts, clustering, writing concepts, memberships and evolution, committing). "
        "\"outside\": hartonomous_ext.concepts.discover on the same vectors and texts in the bench's own process, "
        "without exporting them first (what a user running the clustering outside would at least pay).",
        "",
        "| embeddings | in the database s | outside s | ratio | concepts | unassigned | NMI (database rows) | NMI (outside) | "
        "fn_BindConcepts p50 / p95 ms |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        *[f"| {r['size']:,} | {r['inside']:.1f} | {r['outside']:.1f} | {r['inside'] / r['outside']:.2f} | {r['concepts']} | "
          f"{100 * r['unassigned']:.1f}% | {r['nmi']:.3f} | {r['out_nmi']:.3f} | {r['bind_p50']:.1f} / {r['bind_p95']:.1f} |"
          for r in rows],
        "",
        "Seconds per stage inside the database (the run's dbo.IngestionJobs row):",
        "",
        "| embeddings | " + " | ".join(stages) + " |",
        "|---:|" + "---:|" * len(stages),
        *[f"| {r['size']:,} | " + " | ".join(f"{r['seconds'].get(s, 0.0):.1f}" for s in stages) + " |" for r in rows],
        "",
        "Loading each tenant (bulk INSERTs of atoms, payloads and embeddings; not part of the measure): "
        + ", ".join(f"{r['size']:,} in {r['loaded']:.0f} s" for r in rows) + ".",
    ]
    out.append(f"Load average over the run (1/5/15 min, at its end): {' / '.join(f'{v:.1f}' for v in os.getloadavg())}.")
    Path(args.out).write_text("\n".join(out) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
