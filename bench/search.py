"""Search benchmark: dbo.sp_SemanticSearch (exact, 3-D spatial pre-filter, vector-bucket pre-filter)
on the local engine, against an in-process exact numpy scan and hnswlib, in the same run; and
ingest throughput with in-database embeddings against raw onnxruntime on the same texts.

    .venv/bin/pip install -e '.[bench]'
    .venv/bin/python -m deployer local up
    .venv/bin/python bench/search.py --mixture 10000 100000 1000000 --minilm 10000 100000

Data sets (each bulk loaded with COPY into a fresh database, then fitted and projected by
dbo.sp_RecomputeAllSpatialProjections):
  mixture  a structured synthetic set: 64 topics x 16 subtopics of 384-d unit vectors; a point is
           its subtopic's centre plus noise inside its topic's own 32-d subspace plus a little
           isotropic noise (real sentence embeddings also live near low-dimensional pieces);
  minilm   real all-MiniLM-L6-v2 embeddings (hartonomous_ext.embeddings, the code the database
           runs) of a generated corpus of templated sentences over 24 subjects.
Queries are fresh draws (mixture) or held-out sentences (minilm). Ground truth is the exact top 10
by cosine. Writes bench/results/search.md (tables) and bench/results/search.png (recall against
p50 latency).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psycopg

from deployer import cli
from deployer.local.instance import LocalInstance

ROOT = Path(__file__).resolve().parent.parent
from hartonomous_ext import embeddings  # noqa: E402  (the in-database package, installed with the deployer)

DIM, K = 384, 10
RESULTS = Path(__file__).parent / "results"
HNSW_MAX = 200_000  # building hnswlib over 1M on 2 cores takes longer than the rest of the run


# ---- data sets ---------------------------------------------------------------------------------

def mixture(n: int, queries: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    topics, subtopics, subspace = 64, 16, 32
    topic_centres = rng.normal(size=(topics, DIM))
    bases = [np.linalg.qr(rng.normal(size=(DIM, subspace)))[0] for _ in range(topics)]
    sub_centres = np.stack([topic_centres[t] + bases[t] @ rng.normal(scale=0.5, size=(subspace, subtopics))[:, s]
                            for t in range(topics) for s in range(subtopics)])

    def draw(count: int) -> np.ndarray:
        out = np.empty((count, DIM), np.float32)
        for start in range(0, count, 50_000):
            m = min(50_000, count - start)
            pick = rng.integers(0, topics * subtopics, m)
            points = sub_centres[pick] + rng.normal(scale=0.02, size=(m, DIM))
            for t in np.unique(pick // subtopics):
                members = np.flatnonzero(pick // subtopics == t)
                points[members] += rng.normal(scale=0.7, size=(len(members), subspace)) @ bases[t].T
            out[start:start + m] = points / np.linalg.norm(points, axis=1, keepdims=True)
        return out

    return draw(n), draw(queries)


SUBJECTS = {
    "astronomy": ("telescope", "comet", "galaxy", "nebula", "orbit", "planet", "star cluster", "observatory"),
    "cooking": ("sauce", "oven", "recipe", "bread dough", "spice blend", "frying pan", "broth", "pastry"),
    "finance": ("bond yield", "dividend", "interest rate", "stock index", "budget deficit", "loan", "bank", "invoice"),
    "databases": ("query planner", "index", "transaction", "table", "stored procedure", "replica", "log", "schema"),
    "gardening": ("rose bush", "compost", "seedling", "greenhouse", "hedge", "tomato plant", "soil", "orchard"),
    "football": ("striker", "goalkeeper", "penalty", "stadium", "midfielder", "referee", "league", "corner kick"),
    "medicine": ("vaccine", "surgeon", "clinic", "blood test", "antibiotic", "patient", "x-ray", "ward"),
    "music": ("violin", "orchestra", "chord", "melody", "drummer", "concert hall", "choir", "album"),
    "weather": ("storm", "rainfall", "heat wave", "fog", "snowfall", "forecast", "hurricane", "frost"),
    "travel": ("airport", "passport", "hotel", "train station", "ferry", "luggage", "tour guide", "visa"),
    "law": ("court", "judge", "contract", "witness", "appeal", "lawyer", "verdict", "statute"),
    "chemistry": ("molecule", "catalyst", "solvent", "reaction", "acid", "crystal", "electrode", "polymer"),
    "history": ("empire", "treaty", "castle", "revolution", "dynasty", "archive", "monument", "battlefield"),
    "software": ("compiler", "unit test", "pull request", "debugger", "library", "deployment", "bug", "API"),
    "ocean": ("coral reef", "whale", "tide", "shipwreck", "submarine", "lighthouse", "kelp forest", "harbour"),
    "farming": ("tractor", "harvest", "barn", "wheat field", "irrigation", "cattle", "fertilizer", "silo"),
    "fashion": ("dress", "runway", "tailor", "fabric", "sneaker", "handbag", "designer", "collection"),
    "energy": ("wind turbine", "solar panel", "power grid", "battery", "reactor", "pipeline", "substation", "dam"),
    "education": ("classroom", "teacher", "exam", "lecture", "textbook", "homework", "campus", "scholarship"),
    "cycling": ("bicycle", "peloton", "mountain pass", "helmet", "gear shift", "time trial", "saddle", "sprint"),
    "architecture": ("facade", "arch", "skyscraper", "blueprint", "column", "courtyard", "staircase", "dome"),
    "pets": ("puppy", "kitten", "parrot", "hamster", "aquarium", "leash", "litter box", "veterinarian"),
    "politics": ("election", "parliament", "senator", "campaign", "ballot", "coalition", "minister", "referendum"),
    "photography": ("lens", "shutter", "tripod", "exposure", "darkroom", "portrait", "aperture", "flash"),
}
VERBS = ("inspected", "described", "improved", "damaged", "replaced", "studied", "moved", "cleaned", "praised",
         "ignored", "measured", "built", "sold", "repaired", "photographed", "tested")
ADJECTIVES = ("old", "new", "small", "huge", "famous", "quiet", "broken", "modern", "rare", "busy", "cheap",
              "remote", "bright", "heavy")
PLACES = ("in the morning", "after the storm", "near the river", "during the meeting", "at the weekend",
          "before lunch", "in the north", "last winter", "for the report", "by accident", "on Tuesday",
          "at midnight")


def corpus(n: int, rng: np.random.Generator) -> list[str]:
    topics = list(SUBJECTS.values())
    texts: set[str] = set()
    while len(texts) < n:
        words = topics[rng.integers(len(topics))]
        other = topics[rng.integers(len(topics))] if rng.random() < 0.2 else words
        texts.add(f"The {ADJECTIVES[rng.integers(len(ADJECTIVES))]} {words[rng.integers(len(words))]} "
                  f"{VERBS[rng.integers(len(VERBS))]} the {other[rng.integers(len(other))]} "
                  f"{PLACES[rng.integers(len(PLACES))]}.")
    return sorted(texts)


def embed(texts: list[str]) -> np.ndarray:
    return np.vstack([embeddings.embed(texts[i:i + 256], batch_size=64) for i in range(0, len(texts), 256)])


# ---- the database ------------------------------------------------------------------------------

def load(url: str, vectors: np.ndarray, texts: list[str] | None) -> None:
    """Atoms (text payloads for the minilm set) and their embeddings with COPY, then the fit."""
    with psycopg.connect(url) as conn:
        with conn.cursor().copy("COPY dbo.Atoms (AtomId, ContentHash, ContentType, Modality, ContentSize) "
                                "FROM STDIN") as copy:
            for i in range(len(vectors)):
                copy.write_row((i + 1, i.to_bytes(32, "big"), "text/plain" if texts else "application/octet-stream",
                                "text" if texts else "binary", len(texts[i]) if texts else DIM * 4))
        if texts:
            with conn.cursor().copy("COPY dbo.AtomPayloadStore (AtomId, Payload) FROM STDIN") as copy:
                for i, text in enumerate(texts):
                    copy.write_row((i + 1, text.encode()))
        with conn.cursor().copy("COPY dbo.AtomEmbeddings (AtomId, EmbeddingType, Dimension, EmbeddingVector) "
                                "FROM STDIN") as copy:
            for i, vector in enumerate(vectors):
                copy.write_row((i + 1, "all-MiniLM-L6-v2", DIM, vector.astype("<f4").tobytes()))
        conn.execute("SELECT setval(pg_get_serial_sequence('dbo.atoms', 'atomid'), %s)", (len(vectors),))
        conn.commit()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
        conn.execute("CALL dbo.sp_RecomputeAllSpatialProjections(20000, %s)", (min(len(vectors), 50_000),))
        conn.execute("VACUUM ANALYZE")


def timed_queries(conn, queries: np.ndarray, truth: np.ndarray, **kwargs) -> dict:
    names = "".join(f", {k} => %({k})s" for k in kwargs)
    sql = f"SELECT AtomId FROM dbo.sp_SemanticSearch(query_vector => %(q)s, top_k => {K}{names})"
    latencies, hits = [], 0
    for q, want in zip(queries, truth):
        t = time.perf_counter()
        got = conn.execute(sql, {"q": q.astype("<f4").tobytes(), **kwargs}).fetchall()
        latencies.append((time.perf_counter() - t) * 1000)
        hits += len({r[0] for r in got} & set(want.tolist()))
    examined = conn.execute("SELECT avg(CandidatesExamined) FROM (SELECT CandidatesExamined FROM dbo.InferenceRequests "
                            "ORDER BY RequestId DESC LIMIT %s) r", (len(queries),)).fetchone()[0]
    return {"recall": hits / (K * len(queries)), "p50": float(np.percentile(latencies, 50)),
            "p95": float(np.percentile(latencies, 95)), "candidates": int(examined)}


def run_set(local: LocalInstance, name: str, base: np.ndarray, probes: np.ndarray, texts: list[str] | None,
            exact_queries: int) -> list[dict]:
    n = len(base)
    database = f"bench_search_{name}_{n}"
    with psycopg.connect(local.url("postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    url = local.create_database(database)
    assert cli.main(["publish", "--target", url, "--log-dir", str(RESULTS / "logs")]) == 0
    t0 = time.perf_counter()
    load(url, base, texts)
    print(f"{name} n={n:,}: loaded, fitted and projected in {time.perf_counter() - t0:.1f} s", flush=True)

    truth = np.vstack([np.argsort(-(base @ q))[:K] for q in probes]) + 1  # AtomIds are 1-based positions
    rows = []

    def row(method: str, result: dict) -> None:
        rows.append({"set": name, "n": n, "method": method, **result})
        print(f"  {method}: recall {result['recall']:.3f}, p50 {result['p50']:.2f} ms", flush=True)

    latencies = []
    for q in probes:
        t = time.perf_counter()
        np.argpartition(-(base @ q), K)[:K]
        latencies.append((time.perf_counter() - t) * 1000)
    row("numpy exact scan (in process)", {"recall": 1.0, "p50": float(np.percentile(latencies, 50)),
                                          "p95": float(np.percentile(latencies, 95)), "candidates": n})
    if n <= HNSW_MAX:
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
                hits += len(set(labels[0].tolist()) & set(want.tolist()))
            row(f"hnswlib ef={ef} (in process)", {"recall": hits / (K * len(probes)),
                                                  "p50": float(np.percentile(latencies, 50)),
                                                  "p95": float(np.percentile(latencies, 95)), "candidates": None})

    with psycopg.connect(url, autocommit=True) as conn:
        buckets = conn.execute("SELECT CentroidCount FROM dbo.SpatialLandmarks WHERE IsActive").fetchone()[0]
        timed_queries(conn, probes[:3], truth[:3])  # warm the session: Python, the library, the centroids
        row(f"sp_SemanticSearch exact ({min(exact_queries, len(probes))} queries)",
            timed_queries(conn, probes[:exact_queries], truth[:exact_queries], use_hybrid=False))
        for candidates in (1000, 10000):
            if candidates < n:
                row(f"sp_SemanticSearch hybrid, 3-D spatial, {candidates:,} candidates",
                    timed_queries(conn, probes, truth, prefilter="spatial", candidate_count=candidates))
        for count in sorted({max(1, round(buckets / share)) for share in (256, 128, 64, 32, 16)}):
            row(f"sp_SemanticSearch hybrid, buckets, {count} of {buckets} probed",
                timed_queries(conn, probes, truth, prefilter="buckets", probes=count))
    with psycopg.connect(local.url("postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    return rows


def ingest_throughput(local: LocalInstance, texts: list[str]) -> list[dict]:
    """Atoms/s of `ingest-embeddings` (sp_IngestAtom with in-database embeddings, one call per atom)
    against onnxruntime in this process on the same texts, batched and one at a time."""
    database = "bench_ingest"
    with psycopg.connect(local.url("postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    url = local.create_database(database)
    assert cli.main(["publish", "--target", url, "--log-dir", str(RESULTS / "logs")]) == 0
    rows = []
    embeddings.embed(texts[:8])  # build the session outside the timings, as the database's is warm
    t = time.perf_counter()
    embed(texts)
    rows.append({"path": "onnxruntime in process, batches of 64", "rate": len(texts) / (time.perf_counter() - t)})
    t = time.perf_counter()
    for text in texts:
        embeddings.embed_one(text)
    rows.append({"path": "onnxruntime in process, one text at a time", "rate": len(texts) / (time.perf_counter() - t)})
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "texts.txt"
        source.write_text("\n".join(texts) + "\n")
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CALL dbo.sp_IngestAtom('warm-up', 'text/plain', NULL, 99, true)")
        t = time.perf_counter()
        assert cli.main(["ingest-embeddings", "--target", url, "--input", str(source), "--batch-size", "200"]) == 0
        elapsed = time.perf_counter() - t
    with psycopg.connect(url) as conn:
        stored = conn.execute("SELECT count(*) FROM dbo.AtomEmbeddings e JOIN dbo.Atoms a USING (AtomId) "
                              "WHERE a.TenantId = 0").fetchone()[0]
    assert stored == len(texts), (stored, len(texts))
    rows.append({"path": "ingest-embeddings: sp_IngestAtom with in-database embedding, per atom",
                 "rate": len(texts) / elapsed})
    for r in rows:
        print(f"  {r['path']}: {r['rate']:.0f} texts/s", flush=True)
    with psycopg.connect(local.url("postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    return rows


# ---- report ------------------------------------------------------------------------------------

def write(rows: list[dict], ingest: list[dict], command: str) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    lines = [f"Produced by `{command}` on the local engine (PostgreSQL 15, 2 cores).", "",
             "| set | N | method | recall@10 | p50 ms | p95 ms | candidates examined |",
             "|---|---:|---|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['set']} | {r['n']:,} | {r['method']} | {r['recall']:.3f} | {r['p50']:.2f} | {r['p95']:.2f} | "
                     f"{'' if r['candidates'] is None else format(r['candidates'], ',')} |")
    if ingest:
        lines += ["", f"Ingest throughput, {ingest[0]['texts']:,} texts of the minilm corpus:", "",
                  "| path | texts/s | share of onnxruntime batched |", "|---|---:|---:|"]
        for r in ingest:
            lines.append(f"| {r['path']} | {r['rate']:.0f} | {r['rate'] / ingest[0]['rate']:.2f} |")
    (RESULTS / "search.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(9, 6))
    markers = {"numpy": "s", "hnswlib": "^", "exact": "x", "spatial": "v", "buckets": "o"}
    for (name, n) in dict.fromkeys((r["set"], r["n"]) for r in rows):
        group = [r for r in rows if (r["set"], r["n"]) == (name, n)]
        colour = None
        for kind, marker in markers.items():
            points = [r for r in group if kind in r["method"]]
            if points:
                line = axis.plot([p["p50"] for p in points], [p["recall"] for p in points], marker=marker,
                                 linestyle="-" if kind == "buckets" else "none", color=colour,
                                 label=f"{name} {n:,}: {kind}")[0]
                colour = line.get_color()
    axis.set_xscale("log")
    axis.set_xlabel("p50 latency (ms, log)")
    axis.set_ylabel("recall@10")
    axis.axhline(0.95, linestyle="--", color="grey")
    axis.axvline(50, linestyle="--", color="grey")
    axis.set_title("sp_SemanticSearch vs in-process references (target: recall >= 0.95 at p50 <= 50 ms)")
    axis.legend(fontsize=6, ncol=2)
    figure.tight_layout()
    figure.savefig(RESULTS / "search.png", dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mixture", type=int, nargs="*", default=[10000], help="sizes of the synthetic set")
    parser.add_argument("--minilm", type=int, nargs="*", default=[10000], help="sizes of the MiniLM corpus set")
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--exact-queries", type=int, default=20, help="queries for the (slow) exact scan")
    parser.add_argument("--ingest", type=int, default=2000, help="texts for the ingest-throughput run (0: skip)")
    args = parser.parse_args()
    local = LocalInstance.default()
    if not local.running():
        raise SystemExit("start the local engine first: python -m deployer local up")
    rng = np.random.default_rng(20261123)
    rows, ingest = [], []
    for n in args.mixture:
        base, probes = mixture(n, args.queries, rng)
        rows += run_set(local, "mixture", base, probes, None, args.exact_queries)
    largest = max(args.minilm + [args.ingest], default=0)
    if largest:
        texts = corpus(largest + args.queries, rng)
        order = rng.permutation(len(texts))
        held_out = [texts[i] for i in order[:args.queries]]
        pool = [texts[i] for i in order[args.queries:]]
        probes = embed(held_out)
        if args.ingest:
            ingest = [dict(r, texts=args.ingest) for r in ingest_throughput(local, pool[:args.ingest])]
        for n in args.minilm:
            t = time.perf_counter()
            base = embed(pool[:n])
            print(f"minilm n={n:,}: embedded in process in {time.perf_counter() - t:.1f} s", flush=True)
            rows += run_set(local, "minilm", base, probes, pool[:n], args.exact_queries)
    write(rows, ingest, "python bench/search.py " + " ".join(sys.argv[1:]))


if __name__ == "__main__":
    main()
