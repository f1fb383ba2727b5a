"""The procedures' contract: the same calls give the same results on both engines.

The engine contract (test_engine_contract.py) drives the deployer's engine seams; this suite drives
the published package's public procedures the way users call them, once per engine, and asserts
the same rows and the same errors. A call is written once, as data (procedure, named arguments,
the OUTPUT parameter it answers through); `Caller` spells it in the engine's dialect: `CALL` or
`SELECT * FROM` with `name => value` on PostgreSQL, `EXEC ... @name = ?` on SQL Server. PostgreSQL
runs it against a copy of the published package; SQL Server runs it when HARTONOMOUS_MSSQL_DSN is
set (a database of its own, published for the module), and otherwise each test is reported as
skipped with that reason.
"""

from __future__ import annotations

import base64
import json
import os
import re
import uuid
from pathlib import Path

import numpy as np
import pytest

from deployer.engines import MSSQL_DSN_ENV
from deployer.package import DB_ROOT
from deployer.source.catalog import load_catalog

ENGINES = [pytest.param("postgresql", marks=pytest.mark.db), pytest.param("mssql", marks=pytest.mark.mssql)]
TENANT = 515151  # clear of the other tests' tenants
PG_KINDS = {o.name: o.kind for o in load_catalog(DB_ROOT, "postgresql").objects}


class CallError(Exception):
    """A call the engine refused; the message is the engine's."""


class Caller:
    def __init__(self, engine: str, connect):
        self.engine, self._connect = engine, connect

    def query(self, sql: str, *params) -> list[tuple]:
        """A query written with ? placeholders, in SQL both engines read alike."""
        with self._connect() as conn:
            if self.engine == "postgresql":
                return [tuple(r) for r in conn.execute(sql.replace("?", "%s"), params).fetchall()]
            cursor = conn.execute(sql, *params)
            return [tuple(r) for r in cursor.fetchall()]

    def call(self, procedure: str, output: tuple[str, str] | None = None, **arguments) -> list[tuple]:
        """The rows a public procedure returns, or its OUTPUT parameter (name, T-SQL type) as one row."""
        try:
            if self.engine == "postgresql":
                return self._call_postgresql(procedure, output, arguments)
            return self._call_mssql(procedure, output, arguments)
        except CallError:
            raise
        except Exception as exc:  # the driver's error, whichever driver
            raise CallError(str(exc)) from None

    def _call_postgresql(self, procedure, output, arguments):
        names = [f"{name} => %({name})s" for name in arguments]
        if output:
            names.append(f"{output[0]} => NULL")
        verb = "CALL" if PG_KINDS[procedure] == "procedure" else "SELECT * FROM"
        with self._connect() as conn:
            return [tuple(r) for r in conn.execute(f"{verb} {procedure}({', '.join(names)})", arguments).fetchall()]

    def _call_mssql(self, procedure, output, arguments):
        names = [f"@{name} = ?" for name in arguments]
        declare = select = ""
        if output:
            declare, select = f"DECLARE @out {output[1]}; ", " SELECT @out;"
            names.append(f"@{output[0]} = @out OUTPUT")
        batch = f"SET NOCOUNT ON; {declare}EXEC {procedure} {', '.join(names)};{select}"
        with self._connect() as conn:
            cursor = conn.execute(batch, *arguments.values())
            # every result set is read, so an error raised after the first one surfaces; the answer
            # is the OUTPUT parameter's (the last set) or the procedure's rows (the first)
            sets = [[tuple(r) for r in cursor.fetchall()] if cursor.description else None]
            while cursor.nextset():
                sets.append([tuple(r) for r in cursor.fetchall()] if cursor.description else None)
            found = [s for s in sets if s is not None]
            return (found[-1] if output else found[0]) if found else []

    def error(self, procedure: str, output=None, **arguments) -> str:
        with pytest.raises(CallError) as caught:
            self.call(procedure, output, **arguments)
        return str(caught.value)


@pytest.fixture(scope="module", params=ENGINES)
def caller(request, tmp_path_factory):
    if request.param == "postgresql":
        import psycopg

        instance, template = request.getfixturevalue("pg_instance"), request.getfixturevalue("published_template")
        url = instance.create_database("m_procedure_contract", template=template)

        def connect():
            conn = psycopg.connect(url, autocommit=True)
            # JSON as text, as SQL Server gives it: the tests compare what was stored, digit for digit
            conn.adapters.register_loader("jsonb", psycopg.types.string.TextLoader)
            return conn

        yield Caller("postgresql", connect)
        return
    dsn = os.environ.get(MSSQL_DSN_ENV)
    if not dsn:
        pytest.skip(f"SQL Server half of the procedure contract skipped: {MSSQL_DSN_ENV} is not set")
    import pyodbc

    from deployer import cli

    name = f"HartonomousCalls_{uuid.uuid4().hex[:8]}"
    logs = tmp_path_factory.mktemp("logs")
    assert cli.main(["publish", "--target", "mssql", "--database-name", name, "--skip-filestream",
                     "--mssql-version", os.environ.get("HARTONOMOUS_MSSQL_VERSION", "2022"),
                     "--log-dir", str(logs)]) == 0, f"publish to SQL Server failed; see {logs}"

    def connect():
        conn = pyodbc.connect(dsn, autocommit=True)
        conn.execute(f"USE [{name}]")
        return conn

    yield Caller("mssql", connect)
    with pyodbc.connect(dsn, autocommit=True) as conn:
        conn.execute("USE master")
        conn.execute(f"ALTER DATABASE [{name}] SET SINGLE_USER WITH ROLLBACK IMMEDIATE")
        conn.execute(f"DROP DATABASE [{name}]")


def ingest(caller, content: bytes, content_type="text/plain", embed=0, **more) -> int:
    return caller.call("dbo.sp_IngestAtom", ("AtomId", "BIGINT"), Content=content, ContentType=content_type,
                       TenantId=TENANT, GenerateEmbedding=embed, **more)[0][0]


def test_the_same_content_is_the_same_atom(caller):
    first = ingest(caller, b"contract: one atom")
    assert ingest(caller, b"contract: one atom") == first
    assert caller.query("SELECT ReferenceCount FROM dbo.Atoms WHERE AtomId = ?", first) == [(2,)]


@pytest.mark.parametrize(("given", "expected"), [
    # two objects join (keys given now win); numbers keep their digits; anything else is replaced
    (['{"source": "first", "lang": "en", "n": 12345678901234567890.5}', '{"source": "second", "reviewed": true}', None],
     {"source": "second", "lang": "en", "n": "12345678901234567890.5", "reviewed": True}),
    ([None, r'{"source": "later", "note": "caf\u00e9 \"quoted\""}'], {"source": "later", "note": 'café "quoted"'}),
    (['{"a": 1}', '[1, 2]'], [1, 2]),
    (['[1, 2]', '{"a": null}'], {"a": None}),
])
def test_metadata_given_again_joins_what_the_atom_has(caller, given, expected):
    content = f"contract: metadata {given}".encode()
    atoms = {ingest(caller, content, Metadata=metadata) for metadata in given}
    (metadata,), = caller.query("SELECT Metadata FROM dbo.Atoms WHERE AtomId = ?", atoms.pop())
    assert not atoms
    read = json.loads(metadata, parse_float=str)
    assert read == json.loads(json.dumps(expected), parse_float=str)


@pytest.mark.parametrize(("given", "stored", "modality"), [
    ("Text/Plain; charset=utf-8", "text/plain; charset=utf-8", "text"),
    (" application/JSON ", "application/json", "text"),
    ("image/PNG", "image/png", "image"),
    ("audio/x-wav", "audio/x-wav", "audio"),
    ("application/x-gguf", "application/x-gguf", "model"),
    ("application/octet-stream", "application/octet-stream", "binary"),
])
def test_content_types_are_classified_alike(caller, given, stored, modality):
    atom = ingest(caller, f"contract: {given}".encode(), given)
    assert caller.query("SELECT ContentType, Modality FROM dbo.Atoms WHERE AtomId = ?", atom) == [(stored, modality)]


def test_non_ascii_text_is_text_and_its_preview_reads_back(caller):
    text = "Café au lait, 東京の猫 🐱 (contract)"
    atom = ingest(caller, text.encode("utf-8"), embed=1)
    rows = caller.call("dbo.sp_SemanticSearch", query_text=text, top_k=1, use_hybrid=0, TenantId=TENANT)
    assert [(r[0], r[3]) for r in rows] == [(atom, text)]


def test_an_image_asked_to_be_embedded_is_stored_without_one(caller):
    atom = ingest(caller, bytes.fromhex("89504e470d0a1a0a") + b"contract", "image/png", embed=1)
    assert caller.query("SELECT count(*) FROM dbo.AtomEmbeddings WHERE AtomId = ?", atom) == [(0,)]


@pytest.mark.parametrize(("arguments", "message"), [
    ({"Content": b"", "ContentType": "text/plain"}, "sp_IngestAtom: Content is empty"),
    ({"Content": b"x", "ContentType": "not a media type"},
     "sp_IngestAtom: ContentType 'not a media type' is not a media type such as text/plain"),
    ({"Content": b"\xff\xfe bad", "ContentType": "text/plain"}, "sp_IngestAtom: Content is not valid UTF-8 text"),
    ({"Content": b"nul \x00 inside", "ContentType": "text/plain"}, "sp_IngestAtom: Content is not valid UTF-8 text"),
    ({"Content": b"x", "ContentType": "text/plain; a=\x01"},
     "sp_IngestAtom: ContentType 'text/plain; a=\\x01' is not a media type such as text/plain"),
    ({"Content": b"x", "ContentType": "text/plain", "TenantId": -1}, "sp_IngestAtom: TenantId must be 0 or more"),
    ({"Content": b"\x89PNG", "ContentType": "image/png", "GenerateEmbedding": 1, "ModelId": 1},
     "sp_IngestAtom: model 1 embeds text; this atom is image"),
])
def test_bad_atoms_get_the_same_errors(caller, arguments, message):
    arguments.setdefault("TenantId", TENANT)
    assert message in caller.error("dbo.sp_IngestAtom", ("AtomId", "BIGINT"), **arguments)


def batch(*items) -> str:
    """sp_IngestAtoms's Atoms: (content bytes, content type[, metadata]) as its JSON array."""
    return json.dumps([{"content": base64.b64encode(item[0]).decode(), "contentType": item[1],
                        **({"metadata": item[2]} if len(item) > 2 else {})} for item in items])


def test_a_batch_is_what_as_many_single_calls_would_be(caller):
    known = ingest(caller, b"contract batch: already stored", embed=0)
    rows = caller.call("dbo.sp_IngestAtoms", Atoms=batch(
        (b"contract batch: first", "text/plain", {"n": 1}),
        (b"contract batch: already stored", "text/plain"),
        (b"contract batch: first", "Text/Plain", {"m": 2}),
        (bytes.fromhex("89504e470d0a1a0a") + b"batch", "image/png")), TenantId=TENANT, GenerateEmbedding=1)
    assert [r[0] for r in rows] == [1, 2, 3, 4]
    first, stored, again, image = rows
    assert stored[1] == known and again[1] == first[1] and len({first[1], known, image[1]}) == 3
    assert [bool(r[2]) for r in rows] == [True, False, False, True]  # Inserted: this call made the atom
    assert first[3] is not None and again[3] == first[3] and stored[3] is not None and image[3] is None
    ((count, metadata),) = caller.query("SELECT ReferenceCount, Metadata FROM dbo.Atoms WHERE AtomId = ?", first[1])
    assert (count, json.loads(metadata)) == (2, {"n": 1, "m": 2})
    assert caller.query("SELECT ReferenceCount FROM dbo.Atoms WHERE AtomId = ?", known) == [(2,)]
    # the batch's embeddings are the single call's, bit for bit close
    single = ingest(caller, b"contract batch: single", embed=1)
    (twin,) = caller.call("dbo.sp_IngestAtoms", Atoms=batch((b"contract batch: single ", "text/plain")),
                          TenantId=TENANT, GenerateEmbedding=1)
    vectors = [np.frombuffer(bytes(caller.query("SELECT EmbeddingVector FROM dbo.AtomEmbeddings WHERE AtomId = ?", a)[0][0]),
                             dtype="<f4") for a in (single, twin[1])]
    assert vectors[0].shape == (384,) and float(vectors[0] @ vectors[1]) > 0.99
    assert caller.call("dbo.sp_IngestAtoms", Atoms="[]", TenantId=TENANT) == []


@pytest.mark.parametrize(("atoms", "message"), [
    ('{"content": "aGk="}', "sp_IngestAtoms: Atoms must be a JSON array of objects"),
    ('[{"content": "aGk=", "contentType": "text/plain"}, 7]', "sp_IngestAtoms: item 2: is not a JSON object"),
    ('[{"content": "not base64!", "contentType": "text/plain"}]', 'sp_IngestAtoms: item 1: "content" is not base64'),
    ('[{"content": "aGk="}]', 'sp_IngestAtoms: item 1: has no "contentType" string'),
    (batch((b"fine", "text/plain"), (b"", "text/plain")), "sp_IngestAtoms: item 2: Content is empty"),
    (batch((b"fine", "text/plain"), (b"\xff\xfe bad", "text/plain")), "sp_IngestAtoms: item 2: Content is not valid UTF-8 text"),
    (batch((b"x", "not a media type")), "sp_IngestAtoms: item 1: ContentType 'not a media type' is not a media type"),
    ('not json at all', "sp_IngestAtoms: Atoms must be a JSON array of objects"),
    ('[{"content": "aGk=", "content": "//4=", "contentType": "text/plain"}]',
     'sp_IngestAtoms: item 1: names a key more than once'),
    ('[{"content": "aGk=", "contentType": "text/plain", "metadata": "a string"}]',
     'sp_IngestAtoms: item 1: "metadata" must be a JSON object or array'),
    (batch((b"x'); DROP TABLE dbo.Atoms; --", "text/plain'); DROP TABLE dbo.Atoms; --")),
     "sp_IngestAtoms: item 1: ContentType \"text/plain'); DROP TABLE dbo.Atoms; --\" is not a media type"),
])
def test_a_bad_batch_is_refused_whole_naming_its_item(caller, atoms, message):
    before = caller.query("SELECT count(*), coalesce(sum(ReferenceCount), 0) FROM dbo.Atoms")
    assert message in caller.error("dbo.sp_IngestAtoms", Atoms=atoms, TenantId=TENANT, GenerateEmbedding=1)
    assert caller.query("SELECT count(*), coalesce(sum(ReferenceCount), 0) FROM dbo.Atoms") == before


def test_a_batch_for_a_model_that_is_missing_or_cannot_embed_is_refused_clearly(caller):
    atoms = batch((b"contract batch: for a model", "text/plain"))
    assert "sp_IngestAtoms: model 987654 does not exist for tenant 515151" in caller.error(
        "dbo.sp_IngestAtoms", Atoms=atoms, TenantId=TENANT, GenerateEmbedding=1, ModelId=987654)
    # a stored model that is no sentence encoder (a tiny PyTorch checkpoint, no config.json): the
    # whole batch is refused with the model's reason, on SQL Server too (not a script traceback)
    checkpoint = (Path(__file__).parent / "fixtures" / "models" / "torch_tiny.pt").read_bytes()
    owner = TENANT + 1  # a tenant of its own: the weight-procedure test expects TENANT to have no models
    atom = caller.call("dbo.sp_IngestAtom", ("AtomId", "BIGINT"), Content=checkpoint, ContentType="application/x-pytorch",
                       TenantId=owner)[0][0]
    model = caller.call("dbo.sp_IngestModel", ("ModelId", "INT"), AtomId=atom, ModelName="contract-tiny",
                        TenantId=owner)[0][0]
    before = caller.query("SELECT count(*) FROM dbo.Atoms")
    message = caller.error("dbo.sp_IngestAtoms", Atoms=atoms, TenantId=owner, GenerateEmbedding=1, ModelId=model)
    assert "sp_IngestAtoms: this model has no config.json and tokenizer.json stored with it: it cannot embed text" in message
    assert "Traceback" not in message and caller.query("SELECT count(*) FROM dbo.Atoms") == before


@pytest.fixture(scope="module")
def kitten(caller):
    """Two texts of the contract tenant and the query vector for 'a sleepy kitten'."""
    ingest(caller, b"Kittens sleep in the afternoon sun.", embed=1)
    ingest(caller, b"Quarterly revenue grew by four percent.", embed=1)
    return bytes(caller.call("dbo.sp_GenerateEmbedding", ("embedding", "VARBINARY(MAX)"),
                             text_value="a sleepy kitten")[0][0])


def test_a_query_as_text_json_or_bytes_finds_the_same(caller, kitten):
    embedding = json.dumps(np.frombuffer(kitten, "<f4").tolist())
    spelled = [{"query_text": "a sleepy kitten"}, {"query_vector": kitten},
               {"query_embedding": embedding, "query_dimension": 384}]
    results = [caller.call("dbo.sp_SemanticSearch", top_k=2, use_hybrid=0, TenantId=TENANT, **query)
               for query in spelled]
    assert [r[0][3] for r in results] == ["Kittens sleep in the afternoon sun."] * 3
    assert all(np.allclose([row[1] for row in r], [row[1] for row in results[0]], atol=1e-6) for r in results)


@pytest.mark.parametrize(("arguments", "message"), [
    ({}, "give exactly one of query_embedding, query_vector and query_text"),
    ({"query_text": " \t"}, "sp_SemanticSearch: query_text is empty"),
    ({"query_text": "cats", "top_k": 0}, "top_k must be between 1 and 1000"),
    ({"query_text": "cats", "prefilter": "random"}, "prefilter must be 'index', 'buckets' or 'spatial', not random"),
    ({"query_text": "cats", "probes": 0}, "probes and candidate_count must be at least 1"),
    ({"query_text": "cats", "candidate_count": 200001}, "candidate_count must be at most 200000"),
    ({"query_embedding": "[0.1, 0.2, 0.3]"}, "sp_SemanticSearch: no embedding type of tenant 515151 has 3 dimensions"),
    ({"query_embedding": "[0.1, 0.2, 0.3]", "query_dimension": 768},
     "sp_SemanticSearch: query_embedding has 3 values, but the dimension given is 768"),
    ({"query_embedding": "[0.123, 0.456, ...]"}, "sp_SemanticSearch: query_embedding is not a JSON array of numbers"),
    ({"query_vector": bytes(8 * 4), "query_dimension": 9}, "the query has 8 dimensions, not the 9 of query_dimension"),
])
def test_bad_searches_get_the_same_errors(caller, arguments, message):
    assert message in caller.error("dbo.sp_SemanticSearch", TenantId=TENANT, **arguments)


@pytest.mark.parametrize("flag", [1, 0, True, False])
def test_yes_no_arguments_take_1_0_and_true_false(caller, kitten, flag):
    rows = caller.call("dbo.sp_SemanticSearch", query_text="kitten", top_k=1, use_hybrid=flag, TenantId=TENANT)
    mode = caller.query("SELECT Parameters FROM dbo.InferenceRequests WHERE TenantId = ? AND TaskType = 'semantic-search' "
                        "ORDER BY RequestId DESC", TENANT)[0][0]
    mode = json.loads(mode) if isinstance(mode, str) else mode
    assert len(rows) == 1 and mode["use_hybrid"] in (bool(flag), int(bool(flag)))


@pytest.mark.parametrize(("model_ids", "message"), [
    (None, "give ModelIds"),
    ("1,x", "sp_GenerateText: ModelIds '1,x' is not a list of model ids such as '1,2,3'"),
    ("[1.5]", "is not a list of model ids such as '1,2,3'"),
])
def test_bad_generation_requests_get_the_same_errors(caller, model_ids, message):
    assert message in caller.error("dbo.sp_GenerateText", prompt="hi", ModelIds=model_ids, TenantId=TENANT)


@pytest.mark.parametrize(("procedure", "arguments", "message"), [
    ("dbo.sp_SelfConsistencyReasoning", {"Prompt": None}, "sp_SelfConsistencyReasoning: the prompt is empty"),
    ("dbo.sp_SelfConsistencyReasoning", {"Prompt": "hi", "NumSamples": 0},
     "sp_SelfConsistencyReasoning: NumSamples must be between 1 and 32"),
    ("dbo.sp_SelfConsistencyReasoning", {"Prompt": "hi", "Temperature": -1.0},
     "sp_SelfConsistencyReasoning: Temperature must be finite and must not be negative"),
    ("dbo.sp_SelfConsistencyReasoning", {"Prompt": "hi", "ModelIds": "1,x"},
     "sp_SelfConsistencyReasoning: ModelIds '1,x' is not a list of model ids such as '1,2,3'"),
    ("dbo.sp_SelfConsistencyReasoning", {"Prompt": "hi", "ModelIds": "424242"},
     "sp_SelfConsistencyReasoning: 1 of the ModelIds do not exist for tenant 515151"),
    ("dbo.sp_ChainOfThoughtReasoning", {"InitialPrompt": "hi", "MaxSteps": 17},
     "sp_ChainOfThoughtReasoning: MaxSteps must be between 1 and 16"),
    ("dbo.sp_ChainOfThoughtReasoning", {"InitialPrompt": "hi", "MaxTokens": 0},
     "sp_ChainOfThoughtReasoning: MaxTokens must be between 1 and 4096"),
    ("dbo.sp_MultiPathReasoning", {"BasePrompt": "hi", "MaxDepth": 0}, "sp_MultiPathReasoning: MaxDepth must be between 1 and 16"),
    ("dbo.sp_MultiPathReasoning", {"BasePrompt": "hi", "Seed": -1}, "sp_MultiPathReasoning: Seed must be between 0 and"),
    ("dbo.sp_MultiPathReasoning", {"BasePrompt": "hi"}, "sp_MultiPathReasoning: give ModelIds"),
])
def test_bad_reasoning_requests_get_the_same_errors(caller, procedure, arguments, message):
    assert message in caller.error(procedure, **arguments, TenantId=TENANT)


def test_the_weight_procedures_speak_for_a_tenant_without_models(caller):
    assert "tenant 515151 has no models to snapshot" in caller.error(
        "dbo.sp_CreateWeightSnapshot", ("SnapshotId", "INT"), SnapshotName="BeforeExperiment", ModelId=None,
        Description="Baseline weights before RL training", TenantId=TENANT)
    assert caller.call("dbo.sp_RollbackWeightsToTimestamp", TargetDateTime="2025-11-08 10:00:00", ModelId=None, DryRun=1,
                       TenantId=TENANT) == []
    assert re.search(r"snapshot '?BeforeExperiment'? does not exist for tenant 515151",
                     caller.error("dbo.sp_RestoreWeightSnapshot", SnapshotName="BeforeExperiment", DryRun=0,
                                  TenantId=TENANT))


def test_the_lineage_calls_answer_and_refuse_alike(caller):
    # the provenance graph (README "Provenance graph"): an atom ingested twice near-identically is
    # similar to the first; an atom of no lineage comes from nowhere; bad arguments, the same words
    first = ingest(caller, b"A small grey kitten sleeps on the warm windowsill in the sun.", embed=1)
    second = ingest(caller, b"A small grey kitten is sleeping on the warm windowsill in the sun.", embed=1)
    (similar, score), = caller.call("dbo.sp_SimilarAtoms", AtomId=second, TenantId=TENANT)
    assert similar == first and 0.8 <= score <= 1.0
    assert caller.call("dbo.sp_AtomLineage", AtomId=first, MaxDepth=3, TenantId=TENANT) == []
    assert caller.call("dbo.sp_AtomConceptMemberships", AtomId=first, TenantId=TENANT) == []
    for depth in (0, 33):
        assert "MaxDepth must be between 1 and 32" in caller.error("dbo.sp_AtomLineage", AtomId=first, MaxDepth=depth,
                                                                   TenantId=TENANT)
    for procedure in ("dbo.sp_AtomLineage", "dbo.sp_SimilarAtoms", "dbo.sp_AtomConceptMemberships"):
        assert "atom -1 does not exist for tenant 515151" in caller.error(procedure, AtomId=-1, TenantId=TENANT)
    assert "model -1 does not exist for tenant 515151" in caller.error("dbo.sp_ModelDerivations", ModelId=-1,
                                                                       TenantId=TENANT)
