"""dbo.sp_IngestAtom on a real PostgreSQL: content-addressed atoms, reference counts under
concurrency, tenants, modalities, embeddings at ingest, and hostile input."""

from __future__ import annotations

import hashlib
import json
import threading

import numpy as np
import psycopg
import pytest

from conftest import query

INGEST = "CALL dbo.sp_IngestAtom(%s, %s, %s, %s, %s, %s)"


def ingest(url, content: bytes, content_type="text/plain", metadata=None, tenant=0, embed=False, model=None) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        meta = json.dumps(metadata) if metadata is not None else None
        return conn.execute(INGEST, (content, content_type, meta, tenant, embed, model)).fetchone()[0]


def test_same_content_is_one_atom_with_a_reference_count(published):
    content = b"the same words, twice"
    first = ingest(published, content, metadata={"source": "a"})
    second = ingest(published, content, metadata={"page": 2})
    assert first == second
    row = query(published, "SELECT ContentHash, ReferenceCount, ContentSize, Modality, Metadata FROM dbo.Atoms "
                           "WHERE AtomId = %s", (first,))[0]
    assert bytes(row[0]) == hashlib.sha256(content).digest()
    assert row[1:4] == (2, len(content), "text")
    assert row[4] == {"source": "a", "page": 2}
    assert query(published, "SELECT Payload FROM dbo.AtomPayloadStore WHERE AtomId = %s", (first,)) == [(content,)]


def test_concurrent_ingests_of_the_same_content_make_one_atom(published):
    content = b"ingested by eight sessions at once"
    errors, barrier = [], threading.Barrier(8)

    def worker():
        try:
            with psycopg.connect(published, autocommit=True) as conn:
                barrier.wait()
                for _ in range(5):
                    conn.execute(INGEST, (content, "text/plain", None, 0, False, None))
        except Exception as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    rows = query(published, "SELECT count(*), sum(ReferenceCount) FROM dbo.Atoms WHERE ContentHash = %s",
                 (hashlib.sha256(content).digest(),))
    assert rows == [(1, 40)]
    assert query(published, "SELECT count(*) FROM dbo.AtomPayloadStore p JOIN dbo.Atoms a USING (AtomId) "
                            "WHERE a.ContentHash = %s", (hashlib.sha256(content).digest(),)) == [(1,)]


def test_tenants_have_their_own_atoms(published):
    content = b"shared words, separate tenants"
    assert ingest(published, content, tenant=1) != ingest(published, content, tenant=2)


@pytest.mark.parametrize(("content_type", "modality"), [
    ("text/plain; charset=utf-8", "text"), ("application/json", "text"), ("image/png", "image"),
    ("audio/wav", "audio"), ("application/x-gguf", "model"), ("application/octet-stream", "binary"),
])
def test_modality_follows_the_content_type(published, content_type, modality):
    content = f"payload for {content_type}".encode()
    atom = ingest(published, content, content_type)
    assert query(published, "SELECT Modality FROM dbo.Atoms WHERE AtomId = %s", (atom,)) == [(modality,)]


def test_embedding_at_ingest(published):
    atom = ingest(published, "A cat sleeps on the warm windowsill.".encode(), embed=True)
    again = ingest(published, "A cat sleeps on the warm windowsill.".encode(), embed=True)
    assert atom == again
    rows = query(published, "SELECT Dimension, EmbeddingType, EmbeddingVector, "
                            "dbo.fn_GenerateEmbedding('A cat sleeps on the warm windowsill.') "
                            "FROM dbo.AtomEmbeddings WHERE AtomId = %s", (atom,))
    assert len(rows) == 1
    dimension, kind, stored, fresh = rows[0]
    assert (dimension, kind) == (384, "all-MiniLM-L6-v2")
    assert np.allclose(np.frombuffer(stored, "<f4"), np.frombuffer(fresh, "<f4"), atol=1e-6)


def test_a_large_payload_is_stored_exactly(published):
    content = np.random.default_rng(1).bytes(100 * 1024 * 1024)
    atom = ingest(published, content, "application/octet-stream")
    rows = query(published, "SELECT a.ContentSize, sha256(p.Payload) = a.ContentHash FROM dbo.Atoms a "
                            "JOIN dbo.AtomPayloadStore p USING (AtomId) WHERE a.AtomId = %s", (atom,))
    assert rows == [(len(content), True)]


@pytest.mark.parametrize(("args", "message"), [
    ((b"", "text/plain"), "Content is empty"),
    ((None, "text/plain"), "Content is empty"),
    ((b"\xff\xfe\xfd not utf-8", "text/plain"), "Content is not valid UTF-8 text"),
    ((b"x", "not a media type"), "is not a media type such as text/plain"),
    ((b"x", "text/plain", None, -1), "TenantId must be 0 or more"),
    ((b"\x89PNG", "image/png", None, 0, True, 1), "model 1 embeds text; this atom is image"),
    ((b"x", "text/plain", None, 0, "yes"), "GenerateEmbedding: 'yes' is not 1/0 or true/false"),
    ((b"words", "text/plain", None, 0, True, 999), "model 999 does not exist for tenant 0"),
])
def test_bad_input_is_refused_and_changes_nothing(published, args, message):
    before = query(published, "SELECT count(*), coalesce(sum(ReferenceCount), 0) FROM dbo.Atoms")
    padded = list(args) + [None, 0, False, None][len(args) - 2:]
    with pytest.raises(psycopg.Error) as caught:
        with psycopg.connect(published, autocommit=True) as conn:
            conn.execute(INGEST, padded)
    assert message in str(caught.value)
    assert query(published, "SELECT count(*), coalesce(sum(ReferenceCount), 0) FROM dbo.Atoms") == before


def test_oversized_content_is_refused(published):
    with pytest.raises(psycopg.Error, match="more than the 268435456 allowed"):
        with psycopg.connect(published, autocommit=True) as conn:
            conn.execute(INGEST, (bytes(268435457), "application/octet-stream", None, 0, False, None))


def test_the_atom_id_passed_in_is_never_the_answer(published):
    """AtomId is INOUT (OUTPUT on SQL Server, where the procedure resets it first): a caller that
    reuses its variable gets the new content's id, not the one it passed in."""
    with psycopg.connect(published, autocommit=True) as conn:
        first = conn.execute("CALL dbo.sp_IngestAtom(%s, 'text/plain', AtomId => NULL)",
                             (b"the first of two reused-variable atoms",)).fetchone()[0]
        second = conn.execute("CALL dbo.sp_IngestAtom(%s, 'text/plain', AtomId => %s)",
                              (b"the second of two reused-variable atoms", first)).fetchone()[0]
    assert second != first
    assert query(published, "SELECT convert_from(Payload, 'UTF8') FROM dbo.AtomPayloadStore WHERE AtomId = %s", (second,)) == [
        ("the second of two reused-variable atoms",)]


# sp_IngestAtoms's Python (hartonomous_ext.atoms.prepare_batch): what both engines' batches run ------

def test_prepare_batch_embeds_each_distinct_text_once_and_names_problems():
    from hartonomous_ext import atoms

    texts_seen = []

    def embed(texts):
        texts_seen.append(list(texts))
        return np.eye(len(texts), 4, dtype=np.float32)

    prepared = atoms.prepare_batch([b"one", b"two", b"one", b"\x89PNG"], ["text/plain", "TEXT/plain", "text/plain", "image/png"],
                                   [True, True, True, True], embed, False)
    assert texts_seen == [["one", "two"]]
    assert [p[:3] for p in prepared] == [("text/plain", "text", None)] * 3 + [("image/png", "image", None)]
    assert prepared[0][3] == prepared[2][3] != prepared[1][3] and prepared[3][3] is None
    # a problem anywhere: nothing is embedded, each bad item says why
    prepared = atoms.prepare_batch([b"fine", b"\xff", b"\x89PNG"], ["text/plain", "text/plain", "image/png"],
                                   [True, True, True], embed, True)
    assert [p[2] for p in prepared] == [None, "Content is not valid UTF-8 text (byte 0)",
                                        "the model embeds text; this atom is image"]
    assert len(texts_seen) == 1


def test_prepare_batch_json_is_what_sql_server_parses():
    import base64

    from hartonomous_ext import atoms, embeddings, spatial

    batch = json.dumps([{"content": base64.b64encode(b"a cat on a mat").decode(), "contentType": "text/plain"},
                        {"content": base64.b64encode(b"a cat on a mat").decode(), "contentType": "text/plain"},
                        {"content": base64.b64encode(b"not wanted").decode(), "contentType": "text/plain"}])
    rng = np.random.default_rng(5)
    mean = np.zeros(384, dtype="<f4").tobytes()
    axes = rng.standard_normal((3, 384)).astype("<f4").tobytes()
    rows = json.loads(atoms.prepare_batch_json(batch, "110", embeddings.embed, False, (mean, axes, 0.5, None), True))
    assert [r["ordinal"] for r in rows] == [1, 2, 3] and rows[2]["embedding"] is None and "x" not in rows[2]
    vector = np.frombuffer(base64.b64decode(rows[0]["embedding"]), dtype="<f4")
    assert vector.shape == (384,) and np.allclose(vector, embeddings.embed(["a cat on a mat"])[0], atol=1e-6)
    assert json.loads(rows[0]["embeddingJson"]) == pytest.approx(vector.tolist(), abs=1e-6)
    assert rows[0]["vectorBucket"] is None and {"x", "y", "z", "bucketX", "bucketY", "bucketZ"} <= rows[0].keys()
    assert rows[0]["x"] == pytest.approx(spatial.project([vector.tobytes()], mean, axes, 0.5)[0][0])
    # no 2025: no JSON copy; landmarks of another dimension: no point
    rows = json.loads(atoms.prepare_batch_json(batch, "100", embeddings.embed, False, (mean[:8], axes[:24], 0.5, None)))
    assert "embeddingJson" not in rows[0] and "x" not in rows[0]
    # a problem of the whole batch is an answer, not an exception (SQL Server would print a traceback)
    wide = lambda texts: np.zeros((len(texts), 2000), dtype=np.float32)  # noqa: E731
    assert json.loads(atoms.prepare_batch_json(batch, "100", wide, True)) == {
        "problem": "the model gives embeddings of 2000 dimensions; the store keeps at most 1998"}


def test_embeddings_in_length_order_are_the_same_as_one_by_one():
    from hartonomous_ext import embeddings

    texts = ["short", "a somewhat longer sentence about tables and indexes", "mid length text here", "x"]
    batched = embeddings.embed(texts, batch_size=2)
    single = np.stack([embeddings.embed([t])[0] for t in texts])
    assert np.allclose(batched, single, atol=1e-5)


def test_concurrent_batches_over_the_same_contents_count_every_copy(published):
    import base64

    contents = [f"concurrent batch item {i}".encode() for i in range(40)]
    orders = [contents, contents[::-1], contents[10:] + contents[:10]]
    errors = []

    def run(order):
        payload = json.dumps([{"content": base64.b64encode(c).decode(), "contentType": "text/plain"} for c in order])
        try:
            with psycopg.connect(published, autocommit=True) as conn:
                conn.execute("SELECT * FROM dbo.sp_IngestAtoms(%s, 77)", (payload,)).fetchall()
        except Exception as exc:  # a deadlock or a unique violation would land here
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(order,)) for order in orders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert query(published, "SELECT count(*), min(ReferenceCount), max(ReferenceCount) FROM dbo.Atoms WHERE TenantId = 77") == [
        (40, 3, 3)]
    assert query(published, "SELECT count(*) FROM dbo.AtomPayloadStore p JOIN dbo.Atoms a USING (AtomId) "
                            "WHERE a.TenantId = 77") == [(40,)]


def test_a_batch_that_fills_the_raw_delta_merges_it_into_a_segment(published):
    """sp_IngestAtoms, like sp_IngestAtom, turns DELTA_MERGE_ROWS unindexed embeddings into a flat
    segment of the vector index, and what it merged is still found."""
    import base64

    from hartonomous_ext.policy import DELTA_MERGE_ROWS

    texts = [f"note {i}: {word} about item {i * 7919 % 1000}" for i, word in
             zip(range(DELTA_MERGE_ROWS), ["tables", "indexes", "queries", "vectors"] * DELTA_MERGE_ROWS)]
    with psycopg.connect(published, autocommit=True) as conn:
        for start in range(0, len(texts), 500):
            payload = json.dumps([{"content": base64.b64encode(t.encode()).decode(), "contentType": "text/plain"}
                                  for t in texts[start:start + 500]])
            conn.execute("SELECT * FROM dbo.sp_IngestAtoms(%s, 88, true)", (payload,)).fetchall()
        segments = conn.execute("SELECT Kind, VectorCount FROM dbo.VectorIndexSegments WHERE TenantId = 88 AND IsActive").fetchall()
        unindexed = conn.execute("SELECT count(*) FROM dbo.AtomEmbeddings e JOIN dbo.Atoms a USING (AtomId) "
                                 "WHERE a.TenantId = 88 AND NOT e.Indexed").fetchone()[0]
        top = conn.execute("SELECT Preview FROM dbo.sp_SemanticSearch(query_text => %s, top_k => 1, TenantId => 88)",
                           (texts[1234],)).fetchone()[0]
    assert segments == [("flat", DELTA_MERGE_ROWS)] and unindexed == 0
    assert top == texts[1234]
