"""Concept discovery's policy (hartonomous_ext.concepts), which fn_DiscoverConcepts and
fn_BindConcepts call on both engines: clusters of known groups, c-TF-IDF labels, evolution across
runs, binding one atom, bad input. No database: generated unit vectors in a few tight groups."""

from __future__ import annotations

import numpy as np
import pytest

from hartonomous_ext import concepts

DIM = 384
WORDS = {
    "music": "audio player sound mixer music playlist",
    "fonts": "font typeface glyph truetype ttf fonts",
    "games": "puzzle arcade game shooter levels gameplay",
    "mail": "email mailbox imap smtp client mail",
}


def directions(count: int, seed: int = 1) -> np.ndarray:
    """Nearly orthogonal unit directions (random in 384-d)."""
    m = np.random.default_rng(seed).normal(size=(count, DIM))
    return m / np.linalg.norm(m, axis=1, keepdims=True)


def group(centre: np.ndarray, size: int, spread: float, rng) -> np.ndarray:
    """`size` unit vectors about `centre` (cosine to it about 1 / sqrt(1 + spread^2 * DIM / DIM))."""
    points = centre + rng.normal(scale=spread / np.sqrt(DIM), size=(size, DIM))
    return points / np.linalg.norm(points, axis=1, keepdims=True)


def dataset(sizes: dict, centres: dict, noise: int = 0, seed: int = 0):
    """Vectors, texts and true group names: tight groups plus scattered noise."""
    rng = np.random.default_rng(seed)
    vectors, texts, truth = [], [], []
    for name, size in sizes.items():
        vectors.append(group(centres[name], size, 0.5, rng))
        words = WORDS.get(name, name).split()
        texts += [f"{' '.join(rng.choice(words, 3))} utility package" for _ in range(size)]
        truth += [name] * size
    if noise:
        scattered = rng.normal(size=(noise, DIM))
        vectors.append(scattered / np.linalg.norm(scattered, axis=1, keepdims=True))
        texts += ["miscellaneous utility package"] * noise
        truth += ["noise"] * noise
    return np.vstack(vectors).astype(np.float32), texts, np.array(truth)


CENTRES = dict(zip(["music", "fonts", "games", "mail", "extra"], directions(5)))


def run(vectors, texts, previous=None, atom_ids=None, **options):
    return concepts.discover(vectors, texts, 10, 0.5, 50, previous=previous, atom_ids=atom_ids, **options)


def primary_groups(result, truth) -> list[tuple[str, int]]:
    """(the group of a concept's primary members, how many) per concept; members must be one group."""
    found = []
    for c in result["concepts"]:
        names = set(truth[c["members"]])
        assert len(names) == 1, f"concept {c['label']!r} mixes {names}"
        found.append((names.pop(), len(c["members"])))
    return sorted(found)


def test_known_groups_are_found_with_their_sizes_and_noise_left_out():
    sizes = {"music": 60, "fonts": 40, "games": 30}
    vectors, texts, truth = dataset(sizes, CENTRES, noise=20)
    stages = []
    result = run(vectors, texts, progress=lambda stage, done: stages.append((stage, done)))
    assert primary_groups(result, truth) == sorted(sizes.items())
    assert set(result["outliers"].tolist()) == set(np.flatnonzero(truth == "noise").tolist())
    assert all(0.5 <= c["coherence"] <= 1 for c in result["concepts"])
    assert [c["size"] for c in result["concepts"]] == sorted((c["size"] for c in result["concepts"]), reverse=True)
    assert [stage for stage, done in stages if done == 1.0] == list(concepts.STAGES)
    assert all(0 <= done <= 1 for _, done in stages)
    m = result["memberships"]
    assert m["primary"].sum() == len(vectors) - 20 and (m["similarity"] >= concepts.CONCEPT_MEMBERSHIP_SIMILARITY).all()


def test_an_atom_between_two_concepts_belongs_to_both():
    sizes = {"music": 40, "fonts": 40}
    vectors, texts, truth = dataset(sizes, CENTRES)
    between = CENTRES["music"] + CENTRES["fonts"]
    vectors = np.vstack([vectors, between / np.linalg.norm(between)]).astype(np.float32)
    result = run(vectors, texts + ["music font"], membership_similarity=0.5)
    m = result["memberships"]
    joined = m["concept"][m["atom"] == len(vectors) - 1]
    assert len(joined) == 2 and len(result["concepts"]) == 2


def test_ctfidf_labels_name_each_groups_distinctive_words():
    sizes = {"music": 50, "fonts": 50, "mail": 50}
    vectors, texts, truth = dataset(sizes, CENTRES)
    result = run(vectors, texts)
    for c in result["concepts"]:
        name = truth[c["members"][0]]
        words = [w for w, _ in c["keywords"]]
        assert set(c["label"].split()) <= set(WORDS[name].split()), (name, c["label"])
        weight = dict(c["keywords"])
        # in every group's texts, so not distinctive: below each of the label's words
        assert max(weight.get("utility", 0), weight.get("package", 0)) < min(weight[w] for w in c["label"].split())
    direct = concepts.ctfidf_labels(["red apple", "red cherry", "green apple", "green lime"], [0, 0, 1, 1], top=1)
    assert direct == {0: [("red", pytest.approx(direct[0][0][1]))], 1: [("green", pytest.approx(direct[1][0][1]))]}


def previous_of(result) -> dict:
    return {"ids": [f"c{j}" for j in range(len(result["concepts"]))],
            "centroids": np.vstack([c["centroid"] for c in result["concepts"]]),
            "members": [c["members"] for c in result["concepts"]]}


def by_group(result, truth) -> dict:
    return {truth[c["members"][0]]: j for j, c in enumerate(result["concepts"])}


def test_evolution_born_merged_split_gone_and_kept_identities():
    rng = np.random.default_rng(3)
    d = directions(6, seed=7)
    # run 1: A, B, C, D, E (far apart)
    first = {"A": 60, "B": 40, "C": 40, "D": 60, "E": 30}
    parts = [group(d[0], 60, 0.4, rng), group(d[1], 40, 0.4, rng), group(d[2], 40, 0.4, rng),
             group(d[3], 60, 0.4, rng), group(d[4], 30, 0.4, rng)]
    v1 = np.vstack(parts).astype(np.float32)
    truth1 = np.array(sum(([n] * s for n, s in [("A", 60), ("B", 40), ("C", 40), ("D", 60), ("E", 30)]), []))
    ids1 = np.arange(v1.shape[0]) + 1000
    r1 = concepts.discover(v1, None, 10, 0.5, 50, atom_ids=ids1)
    g1 = {truth1[np.searchsorted(ids1, c["members"][0])]: j for j, c in enumerate(r1["concepts"])}
    assert sorted(g1) == sorted(first) and len(r1["concepts"]) == 5, "run 1 must see D's halves as one concept"
    previous = previous_of(r1)
    # run 2: A unchanged and grown by new atoms; B and C moved together (merged); D's halves apart
    # (split: its first 30 atoms stay, the other 30 move away); E's atoms deleted; F new
    middle = d[1] + d[2]
    middle /= np.linalg.norm(middle)
    far = d[3] * 0.2 + d[5] * 0.98  # D2: cosine 0.2 to D1
    moved = [v1[:60], group(d[0], 40, 0.4, rng), group(middle, 80, 0.4, rng), group(d[3], 30, 0.3, rng),
             group(far / np.linalg.norm(far), 30, 0.3, rng), group(directions(1, seed=99)[0], 25, 0.4, rng)]
    v2 = np.vstack(moved).astype(np.float32)
    ids2 = np.concatenate([ids1[:60], np.arange(40) + 5000, ids1[60:140], ids1[140:200], np.arange(25) + 6000])
    truth2 = np.array(["A"] * 100 + ["BC"] * 80 + ["D1"] * 30 + ["D2"] * 30 + ["F"] * 25)
    r2 = concepts.discover(v2, None, 10, 0.5, 50, previous=previous, atom_ids=ids2)
    g2 = {truth2[list(ids2).index(c["members"][0])]: j
          for j, c in enumerate(r2["concepts"])}
    assert sorted(g2) == ["A", "BC", "D1", "D2", "F"] and len(r2["concepts"]) == 5
    events = {e["concept"]: e for e in r2["events"] if e["concept"] is not None}
    continues = [c["continues"] for c in r2["concepts"]]
    name = previous["ids"]
    assert events[g2["A"]]["event"] == "grown" and continues[g2["A"]] == name[g1["A"]]
    assert events[g2["BC"]]["event"] == "merged"
    assert set(events[g2["BC"]]["previous"]) == {name[g1["B"]], name[g1["C"]]}
    assert continues[g2["BC"]] in {name[g1["B"]], name[g1["C"]]}
    assert events[g2["D1"]]["event"] == events[g2["D2"]]["event"] == "split"
    assert {continues[g2["D1"]], continues[g2["D2"]]} == {name[g1["D"]], None}  # one piece keeps the identity
    assert events[g2["F"]]["event"] == "born" and continues[g2["F"]] is None
    assert [e["previous"] for e in r2["events"] if e["event"] == "gone"] == [[name[g1["E"]]]]
    kept = [c for c in continues if c is not None]
    assert len(kept) == len(set(kept)), "an old identity is continued at most once"


def test_an_unchanged_run_keeps_every_identity_as_stable():
    sizes = {"music": 50, "fonts": 40, "games": 30}
    vectors, texts, truth = dataset(sizes, CENTRES)
    first = run(vectors, texts)
    second = run(vectors, texts, previous=previous_of(first))
    assert [c["continues"] for c in second["concepts"]] == [f"c{j}" for j in range(3)]
    assert {e["event"] for e in second["events"]} == {"stable"}


def test_bind_picks_the_nearest_concepts_and_respects_threshold_and_max():
    centroids = directions(4, seed=5).astype(np.float32)
    near_1 = centroids[1] * 0.9 + centroids[2] * 0.4
    hits = concepts.bind(near_1, centroids, 0.3, 3)
    assert [c for c, _ in hits] == [1, 2] and hits[0][1] > hits[1][1] >= 0.3
    assert [c for c, _ in concepts.bind(near_1, centroids, 0.3, 1)] == [1]
    assert concepts.bind(near_1, centroids, 0.95, 3) == []
    as_bytes = concepts.bind(near_1.astype("<f4").tobytes(), centroids.astype("<f4").tobytes(), 0.3, 3)
    assert [c for c, _ in as_bytes] == [1, 2]
    assert concepts.bind(near_1, np.zeros((0, DIM), np.float32), 0.3, 3) == []


def test_bind_agrees_with_discovery_for_an_atom_already_clustered():
    vectors, texts, truth = dataset({"music": 40, "fonts": 40}, CENTRES)
    result = run(vectors, texts)
    centroids = np.vstack([c["centroid"] for c in result["concepts"]])
    m = result["memberships"]
    for atom in (0, 45):
        expected = sorted(m["concept"][m["atom"] == atom].tolist())
        assert sorted(c for c, _ in concepts.bind(vectors[atom], centroids, concepts.CONCEPT_MEMBERSHIP_SIMILARITY,
                                                  concepts.CONCEPT_MAX_PER_ATOM)) == expected


def test_bind_batch_binds_each_vector_as_bind_does_in_one_pass():
    centroids = directions(4, seed=5).astype(np.float32)
    rng = np.random.default_rng(7)
    near = np.vstack([group(centroids[i % 4], 1, 0.8, rng) for i in range(12)] + [directions(3, seed=9)]).astype(np.float32)
    batch = concepts.bind_batch(near, centroids, 0.3, 2)
    one_by_one = [concepts.bind(v, centroids, 0.3, 2) for v in near]
    assert [[c for c, _ in b] for b in batch] == [[c for c, _ in b] for b in one_by_one]
    assert np.allclose([s for b in batch for _, s in b], [s for b in one_by_one for _, s in b], atol=1e-6)
    # the first twelve join their own group's concept first; the scattered three join none
    assert [b[0][0] for b in batch[:12]] == [i % 4 for i in range(12)] and batch[12:] == [[], [], []]
    assert all(len(b) <= 2 and [s for _, s in b] == sorted((s for _, s in b), reverse=True) for b in batch)
    # the engines' forms: a list of float32-byte vectors, the centroids as one value
    as_bytes = concepts.bind_batch([v.astype("<f4").tobytes() for v in near], centroids.astype("<f4").tobytes(), 0.3, 2)
    assert [[c for c, _ in b] for b in as_bytes] == [[c for c, _ in b] for b in batch]
    assert concepts.bind_batch([], centroids, 0.3, 2) == []
    assert concepts.bind_batch(near[:2], np.zeros((0, DIM), np.float32), 0.3, 2) == [[], []]


def test_bind_batch_agrees_with_discovery_for_every_atom_clustered():
    vectors, texts, truth = dataset({"music": 40, "fonts": 40}, CENTRES, noise=5)
    result = run(vectors, texts)
    centroids = np.vstack([c["centroid"] for c in result["concepts"]])
    m = result["memberships"]
    batch = concepts.bind_batch(vectors, centroids, concepts.CONCEPT_MEMBERSHIP_SIMILARITY, concepts.CONCEPT_MAX_PER_ATOM)
    assert [sorted(c for c, _ in b) for b in batch] == [sorted(m["concept"][m["atom"] == a].tolist())
                                                      for a in range(len(vectors))]


def test_bind_batch_refuses_bad_input_clearly():
    centroids = directions(3).astype(np.float32)
    with pytest.raises(ValueError, match="different dimensions"):
        concepts.bind_batch([np.ones(DIM), np.ones(DIM - 1)], centroids, 0.3, 3)
    with pytest.raises(ValueError, match="vectors: row 1 contains NaN"):
        concepts.bind_batch(np.vstack([np.ones(DIM), np.full(DIM, np.nan)]), centroids, 0.3, 3)
    with pytest.raises(ValueError, match="centroids: 384 dimensions, expected 383"):
        concepts.bind_batch(np.ones((2, DIM - 1)), centroids, 0.3, 3)
    with pytest.raises(ValueError, match="max_concepts"):
        concepts.bind_batch(np.ones((2, DIM)), centroids, 0.3, 0)
    with pytest.raises(ValueError, match="threshold"):
        concepts.bind_batch(np.ones((2, DIM)), centroids, -1.5, 3)
    with pytest.raises(ValueError, match="whole number"):
        concepts.bind_batch([np.ones(DIM, "<f4").tobytes()], b"\0" * 12, 0.3, 3)


@pytest.mark.parametrize("vectors, texts, message", [
    (np.zeros((0, DIM), np.float32), [], "empty"),
    ([], [], "empty"),
    (np.full((20, DIM), np.nan, np.float32), ["x"] * 20, "NaN"),
    (np.vstack([np.ones((19, DIM)), np.zeros((1, DIM))]), ["x"] * 20, "all zeros"),
    ([np.ones(DIM), np.ones(DIM - 1)], ["x", "y"], "different dimensions"),
    (np.ones((20, DIM), np.float32), ["x"] * 19, "20 vectors but 19 texts"),
])
def test_discover_refuses_bad_input_clearly(vectors, texts, message):
    with pytest.raises(ValueError, match=message):
        concepts.discover(vectors, texts, 10, 0.5, 50)


def test_discover_refuses_bad_settings_and_previous():
    vectors, texts, _ = dataset({"music": 30}, CENTRES)
    with pytest.raises(ValueError, match="min_cluster_size"):
        concepts.discover(vectors, texts, 1, 0.5, 50)
    with pytest.raises(ValueError, match="coherence_threshold"):
        concepts.discover(vectors, texts, 10, 1.5, 50)
    with pytest.raises(ValueError, match="max_concepts"):
        concepts.discover(vectors, texts, 10, 0.5, 0)
    with pytest.raises(ValueError, match="previous centroids: 383 dimensions, expected 384"):
        concepts.discover(vectors, texts, 10, 0.5, 50,
                          previous={"ids": [1], "centroids": np.ones((1, DIM - 1)), "members": [[999]]})


def test_bind_refuses_bad_input_clearly():
    centroids = directions(3).astype(np.float32)
    with pytest.raises(ValueError, match="centroids: 384 dimensions, expected 383"):
        concepts.bind(np.ones(DIM - 1), centroids, 0.3, 3)
    with pytest.raises(ValueError, match="NaN"):
        concepts.bind(np.full(DIM, np.nan), centroids, 0.3, 3)
    with pytest.raises(ValueError, match="max_concepts"):
        concepts.bind(np.ones(DIM), centroids, 0.3, 0)
    with pytest.raises(ValueError, match="threshold"):
        concepts.bind(np.ones(DIM), centroids, 2.0, 3)
    with pytest.raises(ValueError, match="whole number"):
        concepts.bind(np.ones(DIM, "<f4").tobytes(), b"\0" * 12, 0.3, 3)


def test_small_sets_give_no_concepts_rather_than_failing():
    vectors, texts, _ = dataset({"music": 8}, CENTRES)
    result = concepts.discover(vectors, texts, 10, 0.5, 50)
    assert result["concepts"] == [] and len(result["outliers"]) == 8
