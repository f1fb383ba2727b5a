"""Set-based ingestion benchmark: `ingest-embeddings` (batches through dbo.sp_IngestAtoms, embeddings
computed in the database) against onnxruntime in this process on the same real texts (Debian's
package descriptions, tools.corpus): batched as sentence-transformers batches (32 texts a run,
sorted by length: hartonomous_ext.embeddings.embed, the code the database runs), and one text at a
time. The database side also stores every atom, payload and embedding; the baselines only embed.

    .venv/bin/pip install -e '.[bench]'
    .venv/bin/python -m deployer local up
    .venv/bin/python bench/ingest_embeddings.py [--texts 2000] [--batch-size 100]

Each measurement is the median of 3 runs, interleaved (in process, database, in process); the database ones each into a fresh database whose
session has loaded the model once (a warm connection, as a running application has). Writes
bench/results/ingest_embeddings.md.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # tools/ (the Debian corpus), as pytest's pythonpath gives the tests

from hartonomous_ext import embeddings  # noqa: E402

from deployer import cli  # noqa: E402
from deployer.client.atoms import AtomClient  # noqa: E402
from deployer.engines import open_engine  # noqa: E402
from deployer.local.instance import LocalInstance  # noqa: E402
from tools.corpus import debian_descriptions  # noqa: E402

RESULTS = Path(__file__).parent / "results"
REPEATS = 3
DATABASE = "bench_ingest_embeddings"


def timed(work) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def database_run(local: LocalInstance, source: Path, batch_size: int, texts: int) -> float:
    """Seconds for `ingest-embeddings` of `source` into a fresh database, through the client's
    library call (the command's own code path, without its progress bar)."""
    with psycopg.connect(local.url("postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
    url = local.create_database(DATABASE)
    try:
        assert cli.main(["publish", "--target", url, "--log-dir", str(RESULTS / "logs")]) == 0
        engine = open_engine(url)
        engine.connect(create_database=False)
        try:
            # the session's model, loaded once, as a running application's connection has it
            engine.data.ingest_atoms('[{"content": "d2FybQ==", "contentType": "text/plain"}]', 99,
                                     engine.data.start_embedding_job(99, "warm-up", 1, "{}"), 1)
            elapsed = timed(lambda: AtomClient(engine).ingest(source, tenant=1, batch_size=batch_size))
        finally:
            engine.close()
        with psycopg.connect(url) as conn:
            stored = conn.execute("SELECT count(*) FROM dbo.AtomEmbeddings e JOIN dbo.Atoms a USING (AtomId) "
                                  "WHERE a.TenantId = 1").fetchone()[0]
        assert stored == texts, (stored, texts)
        return elapsed
    finally:
        with psycopg.connect(local.url("postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=100, help="ingest-embeddings --batch-size")
    args = parser.parse_args()
    local = LocalInstance.default()
    if not local.running():
        raise SystemExit("start the local engine first: python -m deployer local up")
    # one line per text: descriptions with their line breaks folded, distinct
    texts = list(dict.fromkeys(" ".join(d.split()) for d, _ in debian_descriptions()))[:args.texts]
    source = Path(tempfile.mkdtemp(prefix="hartonomous-bench-")) / "debian-descriptions.txt"
    source.write_text("\n".join(texts) + "\n")
    embeddings.embed(texts[:32])  # the in-process session, built outside the timings
    # interleaved, so a slow spell of the machine weighs on both sides alike
    batched, single, inside = [], [], []
    for _ in range(REPEATS):
        batched.append(timed(lambda: embeddings.embed(texts)))
        inside.append(database_run(local, source, args.batch_size, len(texts)))
        single.append(timed(lambda: [embeddings.embed_one(t) for t in texts[:500]]))
    batched, single, inside = statistics.median(batched), statistics.median(single), statistics.median(inside)
    rows = [("onnxruntime in process, batched (32 a run, sorted by length)", len(texts) / batched),
            ("onnxruntime in process, one text at a time (first 500 texts)", 500 / single),
            (f"`ingest-embeddings` (dbo.sp_IngestAtoms, {args.batch_size} a call; atoms, payloads and embeddings "
             "stored, job row kept)", len(texts) / inside)]
    lines = [f"Produced by `python bench/ingest_embeddings.py --texts {args.texts} --batch-size {args.batch_size}` "
             f"on the local engine (PostgreSQL 15, 2 cores): {len(texts):,} Debian package descriptions "
             f"(mean {statistics.mean(len(t) for t in texts):.0f} characters); medians of {REPEATS} runs.", "",
             "| path | texts/s | ratio to batched onnxruntime |", "|---|---:|---:|"]
    lines += [f"| {label} | {rate:.0f} | {rate / rows[0][1]:.2f} |" for label, rate in rows]
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "ingest_embeddings.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
