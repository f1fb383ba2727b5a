"""The provenance graph on a real PostgreSQL (README "Provenance graph"): every edge type written by
the operation that creates it (ingestion: SimilarTo; storing a model: ComponentOf; weight changes and
generation: DerivedFrom), the lineage calls answering with the expected rows, the depth limit, a
cycle that does not loop, tenants that do not reach each other, and bad arguments refused with the
database as it was."""

from __future__ import annotations

import base64
import json

import numpy as np
import psycopg
import pytest

from conftest import publish_with_logins, query, smollm_path, tiny_tensors, write_safetensors
from hartonomous_ext import policy

FOX = "The quick brown fox jumps over the lazy dog near the river bank."
FOX_AGAIN = "The quick brown fox jumped over the lazy dog near the river bank!"
TAXES = "Quarterly estimated tax payments are due in April, June, September and January."
GRAPH_TABLES = ("graph.AtomGraphNodes", "graph.AtomGraphEdges", "dbo.Atoms", "dbo.Models", "dbo.WeightSnapshots")


def ingest(conn, text: str, tenant: int = 0, embed: bool = True) -> int:
    return conn.execute("CALL dbo.sp_IngestAtom(%s, 'text/plain', TenantId => %s, GenerateEmbedding => %s)",
                        (text.encode(), tenant, embed)).fetchone()[0]


def node(conn, kind: str, column: str, value: int) -> int:
    return conn.execute(f"SELECT NodeId FROM graph.AtomGraphNodes WHERE NodeKind = %s AND {column} = %s",
                        (kind, value)).fetchone()[0]


def edges(conn, tenant: int | None = None) -> set[tuple[int, int, str]]:
    rows = conn.execute("SELECT FromNodeId, ToNodeId, EdgeType FROM graph.AtomGraphEdges "
                        "WHERE %(t)s::integer IS NULL OR TenantId = %(t)s", {"t": tenant}).fetchall()
    return set(rows)


def counts(conn) -> dict[str, int]:
    return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in GRAPH_TABLES}


def refused(conn, sql: str, params, sqlstate: str, words: str) -> None:
    before = counts(conn)
    with pytest.raises(psycopg.Error) as caught:
        conn.execute(sql, params).fetchall()
    assert caught.value.sqlstate == sqlstate, caught.value
    assert words in str(caught.value), caught.value
    assert counts(conn) == before


@pytest.fixture(scope="module")
def db(published):
    return published


def test_ingesting_near_duplicates_writes_similar_to_with_the_cosine(db):
    with psycopg.connect(db, autocommit=True) as conn:
        fox = ingest(conn, FOX)
        taxes = ingest(conn, TAXES)
        again = ingest(conn, FOX_AGAIN)
        nodes = {a: node(conn, "atom", "AtomId", a) for a in (fox, taxes, again)}
        # the later atom points to its earlier neighbour; the unrelated text is nobody's neighbour
        assert conn.execute("SELECT FromNodeId, ToNodeId, CreatedBy FROM graph.AtomGraphEdges "
                            "WHERE EdgeType = 'SimilarTo' AND TenantId = 0").fetchall() == [
            (nodes[again], nodes[fox], "ingest")]
        (similar, score), = conn.execute("SELECT * FROM dbo.sp_SimilarAtoms(%s)", (again,)).fetchall()
        assert similar == fox and policy.GRAPH_SIMILAR_THRESHOLD <= score <= 1.0
        # the same cosine the vectors give, read either way along the edge
        exact = conn.execute("SELECT dbo.fn_VectorCosineSimilarity(a.EmbeddingVector, b.EmbeddingVector) "
                             "FROM dbo.AtomEmbeddings a, dbo.AtomEmbeddings b WHERE a.AtomId = %s AND b.AtomId = %s",
                             (fox, again)).fetchone()[0]
        assert score == pytest.approx(exact, abs=1e-5)
        assert conn.execute("SELECT * FROM dbo.sp_SimilarAtoms(%s)", (fox,)).fetchall() == [(again, score)]
        assert conn.execute("SELECT * FROM dbo.sp_SimilarAtoms(%s)", (taxes,)).fetchall() == []
        # ingesting the same content again adds no node and no edge
        before = counts(conn)
        assert ingest(conn, FOX_AGAIN) == again
        assert counts(conn) == before


def test_a_batch_links_its_atoms_to_each_other_and_to_stored_ones(db):
    texts = ["A red bicycle with a broken chain leans against the old garden fence.",
             "A red bicycle with a broken chain is leaning against the old garden fence.",
             "Stock markets closed higher on Friday after the central bank's announcement."]
    batch = json.dumps([{"content": base64.b64encode(t.encode()).decode(), "contentType": "text/plain"} for t in texts])
    with psycopg.connect(db, autocommit=True) as conn:
        ids = [r[0] for r in conn.execute("SELECT AtomId FROM dbo.sp_IngestAtoms(%s, 0, true) ORDER BY Ordinal",
                                          (batch,)).fetchall()]
        assert [r[0] for r in conn.execute("SELECT * FROM dbo.sp_SimilarAtoms(%s)", (ids[0],)).fetchall()] == [ids[1]]
        assert conn.execute("SELECT * FROM dbo.sp_SimilarAtoms(%s)", (ids[2],)).fetchall() == []
        # every atom of the batch is a node, whether it found a neighbour or not
        assert conn.execute("SELECT count(*) FROM graph.AtomGraphNodes WHERE NodeKind = 'atom' AND AtomId = ANY(%s)",
                            (ids,)).fetchone()[0] == 3


def batch_of(texts: list[str]) -> str:
    return json.dumps([{"content": base64.b64encode(t.encode()).decode(), "contentType": "text/plain"} for t in texts])


BICYCLES = [f"A {colour} bicycle with a broken chain leans against the {place} fence."
            for colour in ("red", "blue", "green", "black") for place in ("old garden", "wooden")]
FERRIES = [f"The {time} ferry to the island leaves from the {side} harbour pier." for time in ("morning", "evening")
           for side in ("north", "south", "east")]


def test_a_batch_writes_the_similar_to_edges_one_search_per_atom_finds(db):
    # stored first: the batch's atoms find them and each other; eight near-identical bicycles each
    # have more neighbours above the threshold than an atom keeps
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("SELECT * FROM dbo.sp_IngestAtoms(%s, 7, true)", (batch_of(BICYCLES[:3] + FERRIES[:2]),)).fetchall()
        rows = conn.execute("SELECT AtomId, AtomEmbeddingId FROM dbo.sp_IngestAtoms(%s, 7, true) ORDER BY Ordinal",
                            (batch_of(BICYCLES[3:] + FERRIES[2:] + [TAXES]),)).fetchall()
        wanted = policy.GRAPH_SIMILAR_MAX_NEIGHBOURS
        expected = {}
        for atom, embedding in rows:
            # what the atom's own search gives: its nearest other atoms above the threshold, nearest first
            found = conn.execute(
                "SELECT e.AtomId, s.Score FROM dbo.AtomEmbeddings q, "
                "LATERAL dbo.fn_VectorIndexSearch(7, q.EmbeddingType, q.EmbeddingVector, %s) s "
                "JOIN dbo.AtomEmbeddings e ON e.AtomEmbeddingId = s.AtomEmbeddingId "
                "WHERE q.AtomEmbeddingId = %s AND e.AtomId <> q.AtomId AND s.Score >= %s ORDER BY s.Score DESC, e.AtomId",
                (wanted + 1, embedding, policy.GRAPH_SIMILAR_THRESHOLD)).fetchall()
            expected[atom] = [(other, min(1.0, score)) for other, score in found[:wanted]]
        written = {atom: conn.execute(
            "SELECT t.AtomId, g.Weight FROM graph.AtomGraphEdges g JOIN graph.AtomGraphNodes f ON f.NodeId = g.FromNodeId "
            "JOIN graph.AtomGraphNodes t ON t.NodeId = g.ToNodeId WHERE f.AtomId = %s AND g.EdgeType = 'SimilarTo' "
            "ORDER BY g.Weight DESC, t.AtomId", (atom,)).fetchall() for atom, _ in rows}
        assert written == expected
        # the case the test is for: capped neighbours, stored ones and the batch's own, and none
        assert sum(len(v) == wanted for v in expected.values()) >= 4
        assert expected[rows[-1][0]] == []
        stored = {a for a, in conn.execute("SELECT AtomId FROM dbo.Atoms WHERE TenantId = 7").fetchall()} - {a for a, _ in rows}
        assert any(other in stored for v in expected.values() for other, _ in v)
        assert any(other in expected for v in expected.values() for other, _ in v)


def test_a_search_of_many_queries_answers_each_as_a_search_of_it_alone(db):
    with psycopg.connect(db, autocommit=True) as conn:
        texts = [f"Search many: note {i} about {topic}." for i in range(30)
                 for topic in ("ferries", "bicycles", "taxes")][:60]
        conn.execute("SELECT * FROM dbo.sp_IngestAtoms(%s, 8, true)", (batch_of(texts[:40]),)).fetchall()
        # the first forty become a flat segment, the rest stay in the raw delta; one is deleted
        conn.execute("SELECT * FROM dbo.fn_BuildVectorSegment(8, 'all-MiniLM-L6-v2', 'merge', false)").fetchall()
        conn.execute("SELECT * FROM dbo.sp_IngestAtoms(%s, 8, true)", (batch_of(texts[40:]),)).fetchall()
        gone = conn.execute("DELETE FROM dbo.AtomEmbeddings WHERE AtomEmbeddingId = (SELECT max(e.AtomEmbeddingId) "
                            "FROM dbo.AtomEmbeddings e JOIN dbo.Atoms a USING (AtomId) WHERE a.TenantId = 8 AND e.Indexed) "
                            "RETURNING AtomEmbeddingId").fetchone()[0]
        vectors = [v for v, in conn.execute(
            "SELECT e.EmbeddingVector FROM dbo.AtomEmbeddings e JOIN dbo.Atoms a USING (AtomId) WHERE a.TenantId = 8 "
            "ORDER BY e.AtomEmbeddingId DESC LIMIT 25 OFFSET 10").fetchall()]
        many = conn.execute("SELECT * FROM dbo.fn_VectorIndexSearchMany(8, NULL, %s, 7) ORDER BY QueryOrdinal, Score DESC, "
                            "AtomEmbeddingId", (vectors,)).fetchall()
        alone = [(n, *row) for n, v in enumerate(vectors, start=1) for row in conn.execute(
            "SELECT * FROM dbo.fn_VectorIndexSearch(8, NULL, %s, 7) ORDER BY Score DESC, AtomEmbeddingId", (v,)).fetchall()]
        assert many == alone
        assert [n for n, *_ in many] == [n for n in range(1, 26) for _ in range(7)], many
        assert {mode for *_, mode in many} == {"exact: 40 indexed + 20 delta"}
        assert gone not in {row[1] for row in many}
        with pytest.raises(psycopg.Error) as caught:
            conn.execute("SELECT * FROM dbo.fn_VectorIndexSearchMany(8, NULL, %s, 7)", ([vectors[0], bytes(8)],)).fetchall()
        assert caught.value.sqlstate == "22023" and "fn_VectorIndexSearchMany: query 2: the query is a zero vector" in str(
            caught.value)


def test_another_tenants_near_duplicate_is_not_linked_and_its_calls_see_nothing(db):
    with psycopg.connect(db, autocommit=True) as conn:
        theirs = ingest(conn, FOX, tenant=2)
        ours = conn.execute("SELECT AtomId FROM dbo.Atoms WHERE TenantId = 0 AND ContentHash = sha256(%s)",
                            (FOX.encode(),)).fetchone()[0]
        assert conn.execute("SELECT * FROM dbo.sp_SimilarAtoms(%s, TenantId => 2)", (theirs,)).fetchall() == []
        assert edges(conn, 2) == set()
        assert conn.execute("SELECT TenantId FROM graph.AtomGraphNodes WHERE AtomId = %s", (theirs,)).fetchall() == [(2,)]
        for call in ("sp_SimilarAtoms(%s, TenantId => 2)", "sp_AtomLineage(%s, TenantId => 2)",
                     "sp_AtomConceptMemberships(%s, TenantId => 2)"):
            refused(conn, f"SELECT * FROM dbo.{call}", (ours,), "22023", f"atom {ours} does not exist for tenant 2")


def test_storing_a_model_makes_its_tensors_component_of_it(db, tmp_path, run_cli):
    write_safetensors(tmp_path / "graph.safetensors", tiny_tensors(31))
    model = run_cli(tmp_path / "graph.safetensors", "graph-tiny")
    with psycopg.connect(db, autocommit=True) as conn:
        model_node = node(conn, "model", "ModelId", model)
        tensors = conn.execute("SELECT n.NodeId FROM dbo.ModelTensors t JOIN graph.AtomGraphNodes n "
                               "ON n.NodeKind = 'tensor' AND n.TensorId = t.TensorId WHERE t.ModelId = %s "
                               "ORDER BY n.NodeId", (model,)).fetchall()
        assert len(tensors) == len(tiny_tensors(31))
        assert conn.execute("SELECT FromNodeId, CreatedBy FROM graph.AtomGraphEdges WHERE ToNodeId = %s "
                            "AND EdgeType = 'ComponentOf' ORDER BY FromNodeId", (model_node,)).fetchall() == [
            (t, "sp_StoreModel") for (t,) in tensors]
        # a tensor's own lineage is not an atom's: the model has nothing derived from it yet
        assert conn.execute("SELECT * FROM dbo.sp_ModelDerivations(%s)", (model,)).fetchall() == []
        before = counts(conn)
    assert run_cli(tmp_path / "graph.safetensors", "graph-tiny") == model  # the same file: the same model, no new rows
    with psycopg.connect(db, autocommit=True) as conn:
        assert counts(conn) == before


def test_weight_changes_are_versions_derived_from_what_they_changed(db, tmp_path, run_cli):
    tensors = tiny_tensors(32)
    write_safetensors(tmp_path / "versions.safetensors", tensors)
    model = run_cli(tmp_path / "versions.safetensors", "graph-versions")
    weight = tensors["encoder.layer.0.dense.weight"]
    with psycopg.connect(db, autocommit=True) as conn:
        def update(delta):
            assert conn.execute("CALL dbo.sp_UpdateTensor(%s, 'encoder.layer.0.dense.weight', %s)",
                                (model, (weight + delta).tobytes())).fetchone()[0] == 1

        model_node = node(conn, "model", "ModelId", model)
        update(1.0)                                                      # version 1
        after_first = conn.execute("SELECT clock_timestamp()").fetchone()[0]
        snapshot = conn.execute("CALL dbo.sp_CreateWeightSnapshot('graph-tuned', %s)", (model,)).fetchone()[0]
        update(2.0)                                                      # version 2
        assert conn.execute("SELECT count(*) FROM dbo.sp_RollbackWeightsToTimestamp(%s, %s, true)",
                            (after_first, model)).fetchone()[0] == 1    # a dry run: no version
        assert conn.execute("SELECT count(*) FROM dbo.sp_RollbackWeightsToTimestamp(%s, %s, false)",
                            (after_first, model)).fetchone()[0] == 1    # version 3: back to version 1's weights
        update(3.0)                                                      # version 4
        assert len(conn.execute("SELECT * FROM dbo.sp_RestoreWeightSnapshot('graph-tuned')").fetchall()) == 1  # 5
        assert conn.execute("SELECT * FROM dbo.sp_RestoreWeightSnapshot('graph-tuned')").fetchall() == []  # no change
        versions = dict(conn.execute("SELECT VersionNumber, NodeId FROM graph.AtomGraphNodes "
                                     "WHERE NodeKind = 'model-version' AND ModelId = %s", (model,)).fetchall())
        assert sorted(versions) == [1, 2, 3, 4, 5]
        assert [r[0] for r in conn.execute("SELECT Operation FROM graph.AtomGraphNodes WHERE NodeKind = 'model-version' "
                                           "AND ModelId = %s ORDER BY VersionNumber", (model,)).fetchall()] == [
            "sp_UpdateTensor", "sp_UpdateTensor", "sp_RollbackWeightsToTimestamp", "sp_UpdateTensor",
            "sp_RestoreWeightSnapshot"]
        snap = node(conn, "snapshot", "SnapshotId", snapshot)
        v = versions
        assert {e for e in edges(conn) if e[0] in set(v.values()) | {snap}} == {
            (v[1], model_node, "DerivedFrom"), (snap, v[1], "DerivedFrom"), (v[2], v[1], "DerivedFrom"),
            (v[3], v[2], "DerivedFrom"), (v[3], v[1], "DerivedFrom"),  # the rollback: from before and from its target
            (v[4], v[3], "DerivedFrom"), (v[5], v[4], "DerivedFrom"), (v[5], snap, "DerivedFrom")}
        # what was derived from the model: each node once, at its smallest depth, reached first through ViaNodeId
        assert conn.execute("SELECT * FROM dbo.sp_ModelDerivations(%s)", (model,)).fetchall() == [
            (1, v[1], "model-version", model, 1, "DerivedFrom", model_node),
            (2, snap, "snapshot", snapshot, None, "DerivedFrom", v[1]),
            (2, v[2], "model-version", model, 2, "DerivedFrom", v[1]),
            (2, v[3], "model-version", model, 3, "DerivedFrom", v[1]),
            (3, v[4], "model-version", model, 4, "DerivedFrom", v[3]),
            (3, v[5], "model-version", model, 5, "DerivedFrom", snap)]
        assert conn.execute("SELECT NodeId FROM dbo.sp_ModelDerivations(%s, MaxDepth => 1)", (model,)).fetchall() == [
            (v[1],)]


def test_a_cycle_in_the_edges_ends_the_walk_and_depth_limits_it(db):
    with psycopg.connect(db, autocommit=True) as conn:
        atoms = [ingest(conn, f"Cycle test atom number {i}: {'xyz' * i}", embed=False) for i in range(4)]
        n = [node(conn, "atom", "AtomId", a) for a in atoms]
        # a chain 0 -> 1 -> 2 -> 3 and back from 3 to 0 (written by hand: no operation makes one, the walk must not care)
        for a, b in ((0, 1), (1, 2), (2, 3), (3, 0)):
            conn.execute("INSERT INTO graph.AtomGraphEdges (TenantId, FromNodeId, ToNodeId, EdgeType, CreatedBy) "
                         "VALUES (0, %s, %s, 'DerivedFrom', 'test')", (n[a], n[b]))
        expected = [(1, n[1], "atom", atoms[1], None, "DerivedFrom", n[0]),
                    (2, n[2], "atom", atoms[2], None, "DerivedFrom", n[1]),
                    (3, n[3], "atom", atoms[3], None, "DerivedFrom", n[2])]
        assert conn.execute("SELECT * FROM dbo.sp_AtomLineage(%s, %s)",
                            (atoms[0], policy.GRAPH_MAX_DEPTH)).fetchall() == expected
        assert conn.execute("SELECT * FROM dbo.sp_AtomLineage(%s, 2)", (atoms[0],)).fetchall() == expected[:2]
        assert conn.execute("SELECT * FROM dbo.sp_AtomLineage(%s, 1)", (atoms[0],)).fetchall() == expected[:1]
        # SimilarTo is not lineage
        conn.execute("INSERT INTO graph.AtomGraphEdges (TenantId, FromNodeId, ToNodeId, EdgeType, Weight, CreatedBy) "
                     "VALUES (0, %s, %s, 'SimilarTo', 0.9, 'test')", (n[3], n[1]))
        assert conn.execute("SELECT NodeId FROM dbo.sp_AtomLineage(%s)", (atoms[3],)).fetchall() == [
            (n[0],), (n[1],), (n[2],)]


def test_generated_text_derives_from_its_prompt_and_its_model(db):
    from deployer import cli

    assert cli.main(["ingest-model", "--target", db, str(smollm_path()), "--name", "graph-smollm"]) == 0
    model = query(db, "SELECT ModelId FROM dbo.Models WHERE ModelName = 'graph-smollm'")[0][0]
    prompt = "Name a colour of the sky:"
    with psycopg.connect(db, autocommit=True) as conn:
        stream, text, count, _ = conn.execute("SELECT * FROM dbo.sp_GenerateText(%s, max_tokens => 2, ModelIds => %s)",
                                              (prompt, str(model))).fetchone()
        assert count >= 1 and text
        output = conn.execute("SELECT OutputAtomId FROM dbo.GenerationStreams WHERE StreamId = %s", (stream,)).fetchone()[0]
        prompt_atom = conn.execute("SELECT AtomId FROM dbo.Atoms WHERE TenantId = 0 AND ContentHash = sha256(%s)",
                                   (prompt.encode(),)).fetchone()[0]
        assert bytes(conn.execute("SELECT Payload FROM dbo.AtomPayloadStore WHERE AtomId = %s",
                                  (prompt_atom,)).fetchone()[0]).decode() == prompt
        out_node, prompt_node = node(conn, "atom", "AtomId", output), node(conn, "atom", "AtomId", prompt_atom)
        model_node = node(conn, "model", "ModelId", model)
        assert conn.execute("SELECT * FROM dbo.sp_AtomLineage(%s)", (output,)).fetchall() == sorted([
            (1, prompt_node, "atom", prompt_atom, None, "DerivedFrom", out_node),
            (1, model_node, "model", model, None, "DerivedFrom", out_node)])
        assert conn.execute("SELECT Depth, NodeKind, EntityId FROM dbo.sp_ModelDerivations(%s)", (model,)).fetchall() == [
            (1, "atom", output)]
        # the same prompt again is the same prompt atom: one node, and the edges are not doubled
        before = conn.execute("SELECT count(*) FROM graph.AtomGraphNodes WHERE AtomId = %s", (prompt_atom,)).fetchone()[0]
        conn.execute("SELECT * FROM dbo.sp_GenerateText(%s, max_tokens => 2, ModelIds => %s)", (prompt, str(model)))
        assert conn.execute("SELECT count(*) FROM graph.AtomGraphNodes WHERE AtomId = %s",
                            (prompt_atom,)).fetchone()[0] == before == 1
        # a weight change since: the next text derives from the model's new version, which derives from the model
        tensor = conn.execute("SELECT TensorName, ByteSize FROM dbo.ModelTensors WHERE ModelId = %s "
                              "AND TensorName = 'output_norm.weight'", (model,)).fetchone()
        conn.execute("CALL dbo.sp_UpdateTensor(%s, %s, %s)",
                     (model, tensor[0], np.full(tensor[1] // 4, 1.0, dtype="<f4").tobytes()))
        stream2, *_ = conn.execute("SELECT * FROM dbo.sp_GenerateText('The sky at noon is', max_tokens => 1, "
                                   "ModelIds => %s)", (str(model),)).fetchone()
        output2 = conn.execute("SELECT OutputAtomId FROM dbo.GenerationStreams WHERE StreamId = %s", (stream2,)).fetchone()[0]
        version = conn.execute("SELECT NodeId FROM graph.AtomGraphNodes WHERE NodeKind = 'model-version' "
                               "AND ModelId = %s", (model,)).fetchone()[0]
        lineage = conn.execute("SELECT Depth, NodeId, EdgeType FROM dbo.sp_AtomLineage(%s)", (output2,)).fetchall()
        assert (1, version, "DerivedFrom") in lineage and (2, model_node, "DerivedFrom") in lineage


def test_bad_arguments_are_refused_and_change_nothing(db):
    with psycopg.connect(db, autocommit=True) as conn:
        atom = ingest(conn, "An atom the refusals are asked about.", embed=False)
        model = conn.execute("SELECT min(ModelId) FROM dbo.Models WHERE TenantId = 0").fetchone()[0]
        for depth in (0, -1, policy.GRAPH_MAX_DEPTH + 1, 2 ** 31 - 1):
            refused(conn, "SELECT * FROM dbo.sp_AtomLineage(%s, %s)", (atom, depth), "22023", "MaxDepth must be between 1")
            refused(conn, "SELECT * FROM dbo.sp_ModelDerivations(%s, %s)", (model, depth), "22023", "MaxDepth must be")
        for bad in (None, -5, 2 ** 62):
            for call in ("sp_AtomLineage", "sp_SimilarAtoms", "sp_AtomConceptMemberships"):
                refused(conn, f"SELECT * FROM dbo.{call}(%s::bigint)", (bad,), "22023", "does not exist for tenant 0")
        refused(conn, "SELECT * FROM dbo.sp_ModelDerivations(%s::integer)", (None,), "22023", "model NULL does not exist")
        refused(conn, "SELECT * FROM dbo.sp_ModelDerivations(%s, TenantId => 2)", (model,), "22023",
                f"model {model} does not exist for tenant 2")
        # the writers (the owner's, called by the operations) refuse what no operation passes
        refused(conn, "CALL dbo.sp_GraphRecordAtoms('not json', 0)", (), "22023", "not a JSON array")
        refused(conn, "CALL dbo.sp_GraphRecordAtoms(%s, 2)", (json.dumps([atom]),), "22023",
                f"atom {atom} does not exist for tenant 2")
        refused(conn, "CALL dbo.sp_GraphRecordAtoms('[1]', NULL)", (), "22023", "TenantId is required")
        refused(conn, "CALL dbo.sp_GraphRecordModel(%s, 'delete', TenantId => 0)", (model,), "22023",
                "Operation must be store")
        refused(conn, "CALL dbo.sp_GraphRecordModel(%s, 'update', TenantId => 2)", (model,), "22023",
                f"model {model} does not exist for tenant 2")
        refused(conn, "CALL dbo.sp_GraphRecordModel(%s, 'rollback', TenantId => 0)", (model,), "22023",
                "a rollback needs SourceTime")
        refused(conn, "CALL dbo.sp_GraphRecordModel(NULL, 'snapshot', 999999, NULL, 0)", (), "22023",
                "snapshot 999999 does not exist")
        refused(conn, "CALL dbo.sp_GraphRecordGeneration(%s, 'p', '[1', 0)", (atom,), "22023", "not a JSON array")
        refused(conn, "CALL dbo.sp_GraphRecordGeneration(%s, 'p', '[999999]', 0)", (atom,), "22023",
                "model 999999 does not exist for tenant 0")
        # an edge type the seeds do not have, and an edge to itself, are refused by the table
        n = node(conn, "atom", "AtomId", atom)
        refused(conn, "INSERT INTO graph.AtomGraphEdges (TenantId, FromNodeId, ToNodeId, EdgeType, CreatedBy) "
                      "VALUES (0, %s, %s, 'Likes', 'test')", (n, n), "23514", "")


def test_concept_memberships_are_read_from_provenance(db):
    with psycopg.connect(db, autocommit=True) as conn:
        atom = conn.execute("SELECT AtomId FROM dbo.Atoms WHERE TenantId = 0 AND ContentHash = sha256(%s)",
                            (FOX.encode(),)).fetchone()[0]
        # two concepts of the atom's tenant written as discovery writes them, and one retired
        ids = []
        for label, retired in (("fox dog river", False), ("animals jumping", False), ("old concept", True)):
            ids.append(conn.execute(
                "INSERT INTO provenance.Concepts (TenantId, EmbeddingType, Label, Dimension, Centroid, Size, PrimarySize, "
                "Coherence, DiscoveryRunId, RetiredAt) VALUES (0, 'all-MiniLM-L6-v2', %s, 1, '\\x0000803f', 1, 1, 0.9, 0, "
                "CASE WHEN %s THEN now() END) RETURNING ConceptId", (label, retired)).fetchone()[0])
        for concept, similarity, primary in ((ids[0], 0.71, True), (ids[1], 0.42, False), (ids[2], 0.9, False)):
            conn.execute("INSERT INTO provenance.AtomConcepts (AtomId, ConceptId, Similarity, IsPrimary, BoundBy) "
                         "VALUES (%s, %s, %s, %s, 'discovery')", (atom, concept, similarity, primary))
        assert conn.execute("SELECT * FROM dbo.sp_AtomConceptMemberships(%s)", (atom,)).fetchall() == [
            (ids[0], "fox dog river", "all-MiniLM-L6-v2", 0.71, True),
            (ids[1], "animals jumping", "all-MiniLM-L6-v2", 0.42, False)]
        # the graph holds no copy of them
        assert conn.execute("SELECT count(*) FROM graph.AtomGraphNodes WHERE NodeKind NOT IN "
                            "('atom', 'model', 'tensor', 'snapshot', 'model-version')").fetchone()[0] == 0


@pytest.fixture
def run_cli(db):
    from deployer import cli

    def ingest_model(path, name):
        assert cli.main(["ingest-model", "--target", db, str(path), "--name", name]) == 0
        return query(db, "SELECT ModelId FROM dbo.Models WHERE ModelName = %s", (name,))[0][0]
    return ingest_model


def _two_tenants(conn):
    for tenant, texts in ((1, (FOX, FOX_AGAIN)), (2, (FOX, FOX_AGAIN, TAXES))):
        for text in texts:
            conn.execute("CALL dbo.sp_IngestAtom(%s, 'text/plain', TenantId => %s, GenerateEmbedding => 1)",
                         (text.encode(), tenant))


def test_logins_reach_their_tenants_graph_only(pg_instance, tmp_path_factory, open_login):
    tenancy = publish_with_logins(pg_instance, tmp_path_factory.mktemp("logs"), "graph",
                                  {"alice": ("app", [1]), "rita": ("reader", [1])}, _two_tenants)
    alice, rita = (open_login(tenancy["url"], tenancy["logins"][n]) for n in ("alice", "rita"))
    mine = [r[0] for r in query(tenancy["url"], "SELECT AtomId FROM dbo.Atoms WHERE TenantId = 1 ORDER BY AtomId")]
    theirs = query(tenancy["url"], "SELECT min(AtomId) FROM dbo.Atoms WHERE TenantId = 2")[0][0]
    # the application login: its lineage calls answer for its tenant, refuse another's atom and tenant
    assert [r[0] for r in alice.rows("SELECT SimilarAtomId FROM dbo.sp_SimilarAtoms(%s)", mine[1])] == [mine[0]]
    assert f"atom {theirs} does not exist for tenant 1" in str(alice.error("SELECT * FROM dbo.sp_AtomLineage(%s)", theirs))
    assert "tenant 2 is not this session's tenant" in str(
        alice.error("SELECT * FROM dbo.sp_SimilarAtoms(%s, TenantId => 2)", theirs))
    assert alice.error("SELECT * FROM graph.AtomGraphEdges").sqlstate == "42501"  # no table privilege
    # the reader: its tenant's nodes and edges only (row-level security), and no writes
    assert {r[0] for r in rita.rows("SELECT DISTINCT TenantId FROM graph.AtomGraphNodes")} == {1}
    assert rita.rows("SELECT count(*), min(TenantId) FROM graph.AtomGraphEdges") == [(1, 1)]
    assert rita.error("DELETE FROM graph.AtomGraphEdges").sqlstate == "42501"
