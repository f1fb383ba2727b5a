"""Search benchmark: dbo.sp_SemanticSearch (hybrid and exact) on the local engine, against an
in-process exact numpy scan and hnswlib, in the same run.

    .venv/bin/pip install -e '.[bench]'
    .venv/bin/python -m deployer local up
    .venv/bin/python bench/search.py --sizes 10000 100000 --queries 100

Data: a structured synthetic set, a Gaussian mixture of 384-d unit vectors (64 components), bulk
loaded with COPY into a fresh database per size; queries are fresh draws from the same mixture.
Ground truth is the exact top 10 by cosine. Writes bench/results/search.md (table) and
bench/results/search.png (recall against p50 latency).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import psycopg

from deployer import cli
from deployer.local.engine import LocalEngine

DIM, COMPONENTS, K = 384, 64, 10
RESULTS = Path(__file__).parent / "results"


def mixture(rng: np.random.Generator, n: int, centres: np.ndarray) -> np.ndarray:
    picks = rng.integers(0, len(centres), n)
    points = centres[picks] + rng.normal(scale=0.35 / np.sqrt(DIM) * 4, size=(n, DIM)).astype(np.float32)
    return (points / np.linalg.norm(points, axis=1, keepdims=True)).astype(np.float32)


def load(url: str, vectors: np.ndarray) -> None:
    """Atoms and their embeddings with COPY: the benchmark measures search, not ingestion."""
    with psycopg.connect(url) as conn:
        with conn.cursor().copy("COPY dbo.Atoms (AtomId, ContentHash, ContentType, Modality, ContentSize) "
                                "FROM STDIN") as copy:
            for i in range(len(vectors)):
                copy.write_row((i + 1, i.to_bytes(32, "big"), "application/octet-stream", "binary", DIM * 4))
        with conn.cursor().copy("COPY dbo.AtomEmbeddings (AtomId, EmbeddingType, Dimension, EmbeddingVector) "
                                "FROM STDIN") as copy:
            for i, vector in enumerate(vectors):
                copy.write_row((i + 1, "all-MiniLM-L6-v2", DIM, vector.astype("<f4").tobytes()))
        conn.execute("SELECT setval(pg_get_serial_sequence('dbo.atoms', 'atomid'), %s)", (len(vectors),))
        conn.commit()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE dbo.AtomEmbeddings")
        conn.execute("CALL dbo.sp_RecomputeAllSpatialProjections(20000, 20000)")


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def run_size(engine: LocalEngine, n: int, queries: int, rng: np.random.Generator) -> list[dict]:
    centres = rng.normal(size=(COMPONENTS, DIM)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    base, probes = mixture(rng, n, centres), mixture(rng, queries, centres)
    url = engine.create_database(f"bench_search_{n}")
    assert cli.main(["publish", "--target", url, "--log-dir", str(RESULTS / "logs")]) == 0
    t0 = time.perf_counter()
    load(url, base)
    print(f"n={n}: loaded and projected in {time.perf_counter() - t0:.1f} s")

    truth = np.argsort(-(probes @ base.T), axis=1)[:, :K] + 1  # AtomIds are 1-based positions
    rows = []

    # in-process references
    latencies = []
    for q in probes:
        t = time.perf_counter()
        np.argpartition(-(base @ q), K)[:K]
        latencies.append((time.perf_counter() - t) * 1000)
    rows.append({"n": n, "method": "numpy exact scan (in process)", "recall": 1.0, "p50": percentile(latencies, 50),
                 "p95": percentile(latencies, 95), "candidates": n})
    try:
        import hnswlib

        index = hnswlib.Index(space="cosine", dim=DIM)
        index.init_index(max_elements=n, ef_construction=100, M=16)
        index.add_items(base, np.arange(1, n + 1))
        for ef in (32, 128):
            index.set_ef(ef)
            latencies, hits = [], 0
            for q, want in zip(probes, truth):
                t = time.perf_counter()
                labels, _ = index.knn_query(q, k=K)
                latencies.append((time.perf_counter() - t) * 1000)
                hits += len(set(labels[0]) & set(want))
            rows.append({"n": n, "method": f"hnswlib ef={ef} (in process)", "recall": hits / (K * queries),
                         "p50": percentile(latencies, 50), "p95": percentile(latencies, 95), "candidates": None})
    except ImportError:
        print("hnswlib is not installed: its rows are left out")

    # the database
    variants = [("sp_SemanticSearch exact", False, None)]
    variants += [(f"sp_SemanticSearch hybrid, {c:,} candidates", True, c) for c in (1000, 10000) if c < n]
    with psycopg.connect(url, autocommit=True) as conn:
        for label, hybrid, candidates in variants:
            latencies, hits, examined = [], 0, []
            for q, want in zip(probes, truth):
                t = time.perf_counter()
                got = conn.execute("SELECT AtomId FROM dbo.sp_SemanticSearch(query_embedding => %s, top_k => %s, "
                                   "use_hybrid => %s, candidate_count => %s)",
                                   (q.astype("<f4").tobytes(), K, hybrid, candidates)).fetchall()
                latencies.append((time.perf_counter() - t) * 1000)
                hits += len({r[0] for r in got} & set(want.tolist()))
            examined = conn.execute("SELECT avg(CandidatesExamined) FROM (SELECT CandidatesExamined FROM "
                                    "dbo.InferenceRequests ORDER BY RequestId DESC LIMIT %s) r", (queries,)).fetchone()[0]
            rows.append({"n": n, "method": label, "recall": hits / (K * queries), "p50": percentile(latencies, 50),
                         "p95": percentile(latencies, 95), "candidates": int(examined)})
    engine_url = engine.url("postgres")
    with psycopg.connect(engine_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "bench_search_{n}" WITH (FORCE)')
    return rows


def write(rows: list[dict]) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    lines = ["| N | method | recall@10 | p50 ms | p95 ms | candidates examined |", "|---:|---|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['n']:,} | {r['method']} | {r['recall']:.3f} | {r['p50']:.2f} | {r['p95']:.2f} | "
                     f"{'' if r['candidates'] is None else format(r['candidates'], ',')} |")
    (RESULTS / "search.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(8, 5))
    for r in rows:
        axis.scatter(r["p50"], r["recall"], label=f"{r['n']:,}: {r['method']}")
    axis.set_xscale("log")
    axis.set_xlabel("p50 latency (ms, log)")
    axis.set_ylabel("recall@10")
    axis.axhline(0.95, linestyle="--", color="grey")
    axis.axvline(50, linestyle="--", color="grey")
    axis.legend(fontsize=6)
    figure.tight_layout()
    figure.savefig(RESULTS / "search.png", dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10000])
    parser.add_argument("--queries", type=int, default=100)
    args = parser.parse_args()
    engine = LocalEngine.default()
    if not engine.running():
        raise SystemExit("start the local engine first: python -m deployer local up")
    rng = np.random.default_rng(20261123)
    rows = [row for n in args.sizes for row in run_size(engine, n, args.queries, rng)]
    write(rows)


if __name__ == "__main__":
    main()
