"""What the provenance graph's writes cost a batch ingest: `dbo.sp_IngestAtoms` of 500 real texts
(Debian's package descriptions, tools.corpus) with embeddings, into a database that writes the
graph (dbo.sp_GraphRecordAtoms as published) and one that does not (the same package with
sp_GraphRecordAtoms replaced by an empty procedure), batch for batch alternating which goes
first, so a slow spell of the (shared) machine weighs on both alike.

    .venv/bin/python bench/graph_ingest.py [--batches 4] [--batch-size 500] [--source db]

Runs its own throw-away PostgreSQL (as the tests do: the in-database Python venv of
`python -m deployer local install`), publishes `--source` (default: this checkout's db/) and
prints one line per batch and the medians. Each database's session has embedded a text first (the
model loaded, as a running application's connection has it); batch n of both databases holds the
same texts, so both hold the same atoms and embeddings throughout.
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from deployer import cli  # noqa: E402
from deployer.local.instance import LocalInstance  # noqa: E402
from tools.corpus import debian_descriptions  # noqa: E402

NO_GRAPH = """CREATE OR REPLACE PROCEDURE dbo.sp_GraphRecordAtoms(AtomIds text, TenantId integer)
LANGUAGE plpgsql AS $$ BEGIN END $$"""


def batch_json(texts: list[str]) -> str:
    return json.dumps([{"content": base64.b64encode(t.encode()).decode(), "contentType": "text/plain"} for t in texts])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--source", type=Path, default=ROOT / "db")
    args = parser.parse_args()
    texts = list(dict.fromkeys(" ".join(d.split()) for d, _ in debian_descriptions()))
    texts = texts[:args.batches * args.batch_size]
    shared = LocalInstance.default()
    home = Path(tempfile.mkdtemp(prefix="hartonomous-bench-graph-"))
    instance = LocalInstance(home=home, port=random.randint(30000, 39999), pyenv=shared.pyenv_dir)
    instance.init()
    instance.start()
    try:
        instance.prepare_cluster()
        template = instance.create_database("bench_graph_template")
        assert cli.main(["publish", "--target", template, "--source", str(args.source),
                         "--log-dir", str(home / "logs")]) == 0
        urls = {"graph": instance.create_database("bench_graph", template="bench_graph_template"),
                "no graph": instance.create_database("bench_no_graph", template="bench_graph_template")}
        conns = {name: psycopg.connect(url, autocommit=True) for name, url in urls.items()}
        conns["no graph"].execute(NO_GRAPH)
        for conn in conns.values():  # the session's model, loaded outside the timings
            conn.execute("SELECT * FROM dbo.sp_IngestAtoms(%s, 99, true)", (batch_json(["warm up"]),)).fetchall()
        times: dict[str, list[float]] = {name: [] for name in conns}
        for n in range(args.batches):
            batch = batch_json(texts[n * args.batch_size:(n + 1) * args.batch_size])
            order = list(conns) if n % 2 == 0 else list(conns)[::-1]
            for name in order:
                start = time.perf_counter()
                rows = conns[name].execute("SELECT * FROM dbo.sp_IngestAtoms(%s, 1, true)", (batch,)).fetchall()
                times[name].append(time.perf_counter() - start)
                assert len(rows) == args.batch_size
            print(f"batch {n + 1} ({n * args.batch_size} stored before): "
                  + ", ".join(f"{name} {times[name][-1]:.2f} s" for name in conns), flush=True)
        edges = conns["graph"].execute("SELECT count(*) FROM graph.AtomGraphEdges WHERE EdgeType = 'SimilarTo' "
                                       "AND TenantId = 1").fetchone()[0]
        with_graph, without = statistics.median(times["graph"]), statistics.median(times["no graph"])
        ratio = statistics.median(g / n for g, n in zip(times["graph"], times["no graph"]))
        print(f"median of {args.batches} batches of {args.batch_size}: graph {with_graph:.2f} s, no graph "
              f"{without:.2f} s: the graph adds {100 * (with_graph / without - 1):.0f}% (median of the batches' "
              f"ratios: {100 * (ratio - 1):.0f}%; {edges} SimilarTo edges written)")
        for conn in conns.values():
            conn.close()
    finally:
        instance.stop()
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
