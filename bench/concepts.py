"""Concept discovery (hartonomous_ext.concepts.discover) on a labelled real corpus, against
scikit-learn's KMeans TOLD the true number of clusters, on the same embeddings in the same run.

    /var/lib/hartonomous/pyenv/bin/python bench/concepts.py [--sizes 10000,50000,all,100000]

Run it with the database's Python (it has numpy, scipy, scikit-learn >= 1.3, faiss-cpu, onnxruntime
and the packaged all-MiniLM-L6-v2); the project venv works too when it has them.

The corpus: Debian's package descriptions (tools.corpus: `apt-cache dumpavail`, distinct
descriptions), each labelled with its package's Section. The area prefix is dropped ("contrib/net"
-> "net": the area is a licence, not a topic), and sections with fewer than MIN_SECTION
descriptions are left out (a clusterer whose smallest concept is ten atoms cannot be expected to
find a section of twenty in a sample of a sixth of the corpus). Sections are a weak, partly
non-topical truth (libs, libdevel, doc and debug hold the same topics in different package kinds),
so every method's figures are low in absolute terms; what matters is the comparison in one run.

Embeddings: hartonomous_ext.embeddings.embed, the code the database runs, once; cached under
/tmp/concepts_cache/ by the corpus's hash (not in the repository). Sizes are random samples
(seed 0) of the corpus; "all" is the whole of it. The corpus holds about 60,000 descriptions, so
the 100,000 row is the whole corpus plus 40,000 jittered copies of random descriptions (Gaussian
noise giving a cosine of about 0.9 to the original, the original's text and section): a measure of
time at that size, not of quality.

Metrics: NMI (arithmetic normalization, as scikit-learn's default) and ARI against the sections,
computed two ways for a method that leaves atoms unassigned: "all" counts the unassigned as one
more label (-1, as BERTopic's outlier topic), "assigned" scores only the atoms it assigned (flatters
a method that leaves the hard ones out: read it with the unassigned share). An atom's label is its
primary (nearest) concept. Timings are wall-clock seconds of discover() (or of KMeans.fit) on the
two shared cores. Writes bench/results/concepts.md.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "db" / "external_scripts"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))  # tools/ (the Debian corpus) and hartonomous_ext as the database has it

from hartonomous_ext import concepts, policy  # noqa: E402
from tools.corpus import debian_descriptions  # noqa: E402

RESULTS = Path(__file__).parent / "results"
CACHE = Path("/tmp/concepts_cache")
MIN_SECTION = 100
SEED = 0

DEFAULTS = dict(min_cluster_size=None, coherence_threshold=policy.CONCEPT_COHERENCE_THRESHOLD,
                max_concepts=policy.CONCEPT_MAX_CONCEPTS)
# (name, discover keyword arguments beyond the defaults, largest size it runs at)
METHODS = [
    ("default: kNN-graph HDBSCAN (leaf) on PCA-32, k-means refined", {}, None),
    ("  same, min_cluster_size fixed at 10", {"min_cluster_size": 10}, 60000),
    ("  same, min_cluster_size fixed at 80", {"min_cluster_size": 80}, 60000),
    ("  same, excess-of-mass selection", {"selection": "eom"}, 60000),
    ("  same, no PCA (384-d)", {"dimensions": 0}, 60000),
    ("  same, no k-means refinement (HDBSCAN cores only)", {"refine_iterations": 0}, 60000),
    ("scikit-learn HDBSCAN, all pairs, PCA-32 (leaf), refined", {"clusterer": "hdbscan-exact"}, 10000),
    ("scikit-learn HDBSCAN, all pairs, PCA-32 (leaf), cores only", {"clusterer": "hdbscan-exact", "refine_iterations": 0}, 10000),
    ("DBSCAN, cosine eps 0.15, 384-d, cores only", {"clusterer": "dbscan", "eps": 0.15, "dimensions": 0,
                                                    "refine_iterations": 0, "min_samples": 5}, 10000),
    ("DBSCAN, cosine eps 0.25, 384-d, cores only", {"clusterer": "dbscan", "eps": 0.25, "dimensions": 0,
                                                    "refine_iterations": 0, "min_samples": 5}, 10000),
]


def section(raw: str) -> str:
    return raw.rsplit("/", 1)[-1] or "(none)"


def corpus() -> tuple[np.ndarray, list[str], np.ndarray, int]:
    """(vectors, texts, sections, descriptions before the section filter), embedded once and cached."""
    from hartonomous_ext import embeddings

    found = debian_descriptions()
    texts = [t for t, _ in found]
    key = hashlib.sha256("\n".join(texts).encode()).hexdigest()[:16]
    cached = CACHE / f"debian_{key}.npz"
    if cached.exists():
        vectors = np.load(cached, allow_pickle=True)["vectors"]
    else:
        CACHE.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        vectors = embeddings.embed(texts)
        print(f"embedded {len(texts)} descriptions in {time.perf_counter() - started:.0f} s", flush=True)
        np.savez(cached, vectors=vectors, texts=np.array(texts, dtype=object),
                 sections=np.array([s for _, s in found], dtype=object))
    sections = np.array([section(s) for _, s in found], dtype=object)
    counts = Counter(sections)
    keep = np.array([counts[s] >= MIN_SECTION for s in sections])
    return vectors[keep], [t for t, k in zip(texts, keep) if k], sections[keep], len(texts)


def sample(vectors, texts, sections, size: int):
    rng = np.random.default_rng(SEED)
    n = len(texts)
    if size <= n:
        rows = np.sort(rng.choice(n, size, replace=False)) if size < n else np.arange(n)
        return vectors[rows], [texts[i] for i in rows], sections[rows], False
    extra = rng.choice(n, size - n, replace=True)
    noise = rng.normal(0.0, 0.025, (extra.size, vectors.shape[1])).astype(np.float32)  # |noise| ~ 0.49: cosine ~0.9
    jittered = vectors[extra] + noise
    jittered /= np.linalg.norm(jittered, axis=1, keepdims=True)
    return (np.vstack([vectors, jittered]), texts + [texts[i] for i in extra],
            np.concatenate([sections, sections[extra]]), True)


def scores(truth: np.ndarray, labels: np.ndarray) -> dict:
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    assigned = labels >= 0
    return {
        "nmi": normalized_mutual_info_score(truth, labels), "ari": adjusted_rand_score(truth, labels),
        "nmi_assigned": normalized_mutual_info_score(truth[assigned], labels[assigned]) if assigned.any() else 0.0,
        "ari_assigned": adjusted_rand_score(truth[assigned], labels[assigned]) if assigned.any() else 0.0,
        "unassigned": float(1 - assigned.mean()),
    }


def run_discover(vectors, texts, truth, options: dict) -> dict:
    settings = {**DEFAULTS, **options}
    started = time.perf_counter()
    result = concepts.discover(vectors, texts, settings.pop("min_cluster_size"), settings.pop("coherence_threshold"),
                               settings.pop("max_concepts"), **settings)
    seconds = time.perf_counter() - started
    labels = np.full(len(texts), -1, dtype=np.int64)
    m = result["memberships"]
    labels[m["atom"][m["primary"]]] = m["concept"][m["primary"]]
    per_atom = m["atom"].size / max(1, int((labels >= 0).sum()))
    return {**scores(truth, labels), "concepts": len(result["concepts"]), "seconds": seconds,
            "per_atom": per_atom, "timings": result["timings"], "result": result}


def run_kmeans(vectors, truth) -> dict:
    from sklearn.cluster import KMeans

    k = len(set(truth))
    started = time.perf_counter()
    labels = KMeans(n_clusters=k, n_init=1, random_state=SEED).fit_predict(vectors)
    return {**scores(truth, labels), "concepts": k, "seconds": time.perf_counter() - started, "per_atom": 1.0}


def row(name: str, size: int, r: dict) -> str:
    return (f"| {name} | {size:,} | {r['concepts']} | {r['unassigned']:.1%} | {r['nmi']:.3f} | {r['nmi_assigned']:.3f} "
            f"| {r['ari']:.3f} | {r['ari_assigned']:.3f} | {r['per_atom']:.2f} | {r['seconds']:.1f} |")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,50000,all,100000")
    parser.add_argument("--out", default=str(RESULTS / "concepts.md"))
    args = parser.parse_args(argv)
    vectors, texts, truth, total = corpus()
    sizes = [len(texts) if s == "all" else int(s) for s in args.sizes.split(",")]
    lines, stages, labels_shown = [], [], []
    for size in sizes:
        x, t, y, synthetic = sample(vectors, texts, truth, size)
        tag = f"{size:,}{' (jittered copies: time only)' if synthetic else ''}"
        k = run_kmeans(x, y)
        lines.append(row(f"KMeans told k={k['concepts']} (reference)", size, k))
        print(lines[-1], flush=True)
        for name, options, largest in METHODS:
            if largest is not None and size > largest or synthetic and name[0] == " ":
                continue
            r = run_discover(x, t, y, options)
            lines.append(row(name, size, r))
            print(lines[-1], flush=True)
            if not options:
                stages.append(f"| {tag} | " + " | ".join(f"{r['timings'].get(s, 0.0):.1f}" for s in concepts.STAGES)
                              + f" | {r['seconds']:.1f} |")
                if size == len(texts):
                    top = sorted(r["result"]["concepts"], key=lambda c: -c["size"])[:15]
                    labels_shown = [f"| {c['label']} | {c['size']} | {c['coherence']:.2f} | "
                                    f"{Counter(y[c['members']]).most_common(1)[0][0] if len(c['members']) else ''} |"
                                    for c in top]
    counts = Counter(truth)
    out = [
        "# Concept discovery on Debian's package descriptions",
        "",
        f"Produced by `python bench/concepts.py --sizes {args.sizes}` (the database's Python, "
        f"/var/lib/hartonomous/pyenv; 2 shared cores). Corpus: {total:,} distinct descriptions from "
        f"`apt-cache dumpavail`; {len(texts):,} in the {len(counts)} sections with at least {MIN_SECTION} "
        f"(largest: {', '.join(f'{s} {c}' for s, c in counts.most_common(5))}). Embeddings: the packaged "
        "all-MiniLM-L6-v2 through hartonomous_ext.embeddings (the database's code path), 384-d, normalized.",
        "",
        f"Defaults (policy.py): min_cluster_size max({policy.CONCEPT_MIN_CLUSTER_SIZE}, atoms / "
        f"{policy.CONCEPT_ATOMS_PER_MIN_CLUSTER}), min_samples "
        f"{policy.CONCEPT_MIN_SAMPLES}, {policy.CONCEPT_NEIGHBOURS} neighbours, PCA to "
        f"{policy.CONCEPT_REDUCED_DIMENSIONS}, selection {policy.CONCEPT_SELECTION}, {policy.CONCEPT_REFINE_ITERATIONS} "
        f"k-means rounds, coherence >= {policy.CONCEPT_COHERENCE_THRESHOLD}, membership cosine >= "
        f"{policy.CONCEPT_MEMBERSHIP_SIMILARITY}, at most {policy.CONCEPT_MAX_PER_ATOM} concepts an atom.",
        "",
        "NMI/ARI \"all\": unassigned atoms as one more label; \"assigned\": the assigned atoms only. "
        "Labels per atom: memberships per assigned atom (multi-label). KMeans runs with n_init=1, seed 0.",
        "",
        "| method | atoms | concepts | unassigned | NMI all | NMI assigned | ARI all | ARI assigned | labels/atom | seconds |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        *lines,
        "",
        "Seconds per stage of the default (discover's timings):",
        "",
        "| atoms | " + " | ".join(concepts.STAGES) + " | total |",
        "|---|" + "---:|" * (len(concepts.STAGES) + 1),
        *stages,
    ]
    if labels_shown:
        out += ["", "The largest concepts of the whole corpus (default settings): c-TF-IDF label, members, "
                "coherence, the commonest section among its primary members:", "",
                "| label | members | coherence | commonest section |", "|---|---:|---:|---|", *labels_shown]
    Path(args.out).write_text("\n".join(out) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
