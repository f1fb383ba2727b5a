"""Live SQL Server suite: publish, verify and the vector bindings on a real server.

Runs when HARTONOMOUS_MSSQL_DSN holds an ODBC connection string to a SQL Server 2019+ with
Machine Learning Services (Python) installed and a login allowed to create a database and
change server options. Otherwise every test here is reported as skipped, with the reason.
Set HARTONOMOUS_MSSQL_VERSION (2019, 2022, 2025) to the server's version; default 2022.
"""

from __future__ import annotations

import json
import os
import struct
import uuid

import pytest

from mssql_live_support import DSN, VERSION, drop_database, published_database, rows, scalar

pytestmark = [
    pytest.mark.mssql,
    pytest.mark.skipif(not DSN, reason="live SQL Server suite skipped: HARTONOMOUS_MSSQL_DSN is not set"),
]


@pytest.fixture(scope="module")
def database(tmp_path_factory):
    yield from published_database("HartonomousTest", tmp_path_factory.mktemp("logs"))


def f32(*values) -> bytes:
    return struct.pack(f"<{len(values)}f", *values)


def test_republish_changes_nothing(database, run, tmp_path):
    result = run("publish", "--target", "mssql", "--database-name", database, "--mssql-version", VERSION,
                 "--skip-filestream", "--log-dir", tmp_path)
    assert result.code == 0, result
    assert "No changes" in result.out


def test_verify_passes(database, run):
    result = run("verify", "--target", "mssql", "--database-name", database, "--mssql-version", VERSION)
    assert result.code == 0, result
    assert "external scripts enabled" in result.out and "Service Broker enabled" in result.out
    assert "compatibility level 130 or higher" in result.out


def test_vector_bindings(database):
    dot = scalar(database, "SET NOCOUNT ON; DECLARE @r FLOAT; "
                  "EXEC dbo.sp_VectorDotProduct @v1 = ?, @v2 = ?, @result = @r OUTPUT; SELECT @r;",
                  f32(1, 2, 3), f32(4, 5, 6))
    assert dot == pytest.approx(32.0)
    cosine = scalar(database, "SET NOCOUNT ON; DECLARE @r FLOAT; "
                     "EXEC dbo.sp_VectorCosineSimilarity @v1 = ?, @v2 = ?, @result = @r OUTPUT; SELECT @r;",
                     f32(1, 2, 3), f32(4, 5, 6))
    assert cosine == pytest.approx(0.9746318461970762)
    normalized = scalar(database, "SET NOCOUNT ON; DECLARE @r VARBINARY(MAX); "
                         "EXEC dbo.sp_VectorNormalize @v = ?, @result = @r OUTPUT; SELECT @r;", f32(3, 4))
    assert struct.unpack("<2f", normalized) == pytest.approx((0.6, 0.8))


def test_dimension_mismatch_is_an_error(database):
    import pyodbc

    with pytest.raises(pyodbc.Error, match="dimension mismatch"):
        scalar(database, "SET NOCOUNT ON; DECLARE @r FLOAT; "
                "EXEC dbo.sp_VectorDotProduct @v1 = ?, @v2 = ?, @result = @r OUTPUT; SELECT @r;",
                f32(1, 2, 3), f32(1, 2))


def test_plan_and_drift_report_no_differences(database, run):
    common = ["--target", "mssql", "--database-name", database, "--mssql-version", VERSION]
    plan = run("plan", *common, "--skip-filestream", "--format", "json")
    assert plan.code == 0, plan
    assert run("drift", *common).code == 0


def test_added_column_is_altered_in_place_keeping_rows(database, run, db_copy, tmp_path):
    scalar(database, "SET NOCOUNT ON; INSERT INTO dbo.IngestionJobs (JobType) VALUES (N'live-test'); SELECT 1;")
    jobs = db_copy / "tables" / "dbo.IngestionJobs.mssql.sql"
    jobs.write_text(jobs.read_text().replace(
        "        ErrorMessage   NVARCHAR(MAX)   NULL,\n",
        "        ErrorMessage   NVARCHAR(MAX)   NULL,\n        Note           NVARCHAR(100)   NULL,\n"))
    common = ["--target", "mssql", "--database-name", database, "--mssql-version", VERSION, "--skip-filestream",
              "--source", db_copy]
    plan = run("plan", *common, "--format", "json")
    assert plan.code == 1, plan
    assert '"column added"' in plan.out
    assert run("publish", *common, "--log-dir", tmp_path).code == 0
    assert scalar(database, "SELECT COUNT(*) FROM dbo.IngestionJobs WHERE JobType = N'live-test' AND Note IS NULL") == 1
    assert run("plan", *common).code == 0


def test_embedding_matches_sentence_transformers(database):
    import json
    from pathlib import Path

    reference = json.loads((Path(__file__).parent / "fixtures" / "minilm_reference.json").read_text())
    text, expected = reference["texts"][1], reference["embeddings"][1]
    data = scalar(database, "SET NOCOUNT ON; DECLARE @e VARBINARY(MAX); "
                   "EXEC dbo.sp_GenerateEmbedding @text_value = ?, @embedding = @e OUTPUT; SELECT @e;", text)
    got = struct.unpack(f"<{len(data) // 4}f", data)
    dot = sum(a * b for a, b in zip(got, expected))
    assert len(got) == 384 and dot >= 0.9999


def test_ingest_atom_deduplicates_and_refuses_bad_text(database):
    import pyodbc

    batch = ("SET NOCOUNT ON; DECLARE @id BIGINT; EXEC dbo.sp_IngestAtom @Content = ?, @ContentType = N'text/plain', "
             "@AtomId = @id OUTPUT; SELECT @id;")
    first = scalar(database, batch, b"live atom")
    assert scalar(database, batch, b"live atom") == first
    assert scalar(database, "SELECT ReferenceCount FROM dbo.Atoms WHERE AtomId = ?", first) == 2
    with pytest.raises(pyodbc.Error, match="not valid UTF-8"):
        scalar(database, batch, b"\xff\xfe bad")


@pytest.fixture(scope="module")
def filestream_database(tmp_path_factory):
    """A database published with FILESTREAM (the default): needs SQL Server on Windows with
    FILESTREAM on (FilestreamEffectiveLevel 2 or more); skipped elsewhere."""
    import pyodbc

    from deployer import cli

    with pyodbc.connect(DSN, autocommit=True) as conn:
        separator, level = conn.execute("SELECT CONVERT(NCHAR(1), SERVERPROPERTY('PathSeparator')), "
                                        "CONVERT(INT, SERVERPROPERTY('FilestreamEffectiveLevel'))").fetchone()
    if separator == "/" or (level or 0) < 2:
        pytest.skip(f"FILESTREAM is not available on this server (path separator {separator!r}, "
                    f"FilestreamEffectiveLevel {level})")
    name = f"HartonomousFs_{uuid.uuid4().hex[:8]}"
    logs = tmp_path_factory.mktemp("logs")
    code = cli.main(["publish", "--target", "mssql", "--database-name", name, "--mssql-version", VERSION,
                     "--log-dir", str(logs)])
    assert code == 0, f"publish to SQL Server with FILESTREAM failed; see {logs}"
    yield name
    drop_database(name)


def test_a_table_change_is_planned_and_published_with_filestream_on(filestream_database, run, db_copy, tmp_path):
    """The table comparison builds a shadow database from the package; with FILESTREAM its tables
    (dbo.AtomPayloadStore) are created ON the FILESTREAM filegroup, so the shadow needs one too, and
    it is gone (with its container) afterwards."""
    import pyodbc

    store = db_copy / "tables" / "dbo.AtomPayloadStore.mssql.sql"
    text = store.read_text()
    changed = text.replace("        AtomId    BIGINT           NOT NULL,\n",
                           "        AtomId    BIGINT           NOT NULL,\n        Note      NVARCHAR(100)    NULL,\n", 1)
    assert changed != text, "dbo.AtomPayloadStore.mssql.sql no longer has the AtomId line this test changes"
    store.write_text(changed)
    common = ["--target", "mssql", "--database-name", filestream_database, "--mssql-version", VERSION,
              "--source", db_copy]
    plan = run("plan", *common, "--format", "json")
    assert plan.code == 1, plan
    assert '"column added"' in plan.out and "dbo.AtomPayloadStore" in plan.out
    assert run("publish", *common, "--log-dir", tmp_path).code == 0
    assert scalar(filestream_database, "SELECT COUNT(*) FROM sys.columns "
                   "WHERE object_id = OBJECT_ID(N'dbo.AtomPayloadStore') AND name = N'Note'") == 1
    assert run("plan", *common).code == 0
    with pyodbc.connect(DSN, autocommit=True) as conn:
        shadows = conn.execute("SELECT COUNT(*) FROM sys.databases WHERE name LIKE ? + N'[_]shadow[_]%'",
                               filestream_database).fetchone()[0]
    assert shadows == 0


def test_non_ascii_text_round_trips_through_ingest_and_search(database):
    """é, CJK and emoji: UTF-8 is decoded in Python (hartonomous_ext.atoms), whatever the database's
    collation; the search rows are captured with INSERT ... EXEC (no nested INSERT EXEC inside)."""
    text = "Café au lait à Paris, 東京の猫 🐱"
    atom = scalar(database, "SET NOCOUNT ON; DECLARE @id BIGINT; EXEC dbo.sp_IngestAtom @Content = ?, "
                   "@ContentType = N'text/plain; charset=utf-8', @TenantId = 4242, @GenerateEmbedding = 1, "
                   "@AtomId = @id OUTPUT; SELECT @id;", text.encode("utf-8"))
    found = rows(database, "SET NOCOUNT ON; CREATE TABLE #r (AtomId BIGINT, Score FLOAT, ContentType NVARCHAR(128), "
                  "Preview NVARCHAR(400)); INSERT INTO #r EXEC dbo.sp_SemanticSearch @query_text = ?, @top_k = 1, "
                  "@use_hybrid = 0, @TenantId = 4242; SELECT AtomId, Preview FROM #r;", text)
    assert found == [(atom, text)]


def test_the_seed_calls_run_as_written(database):
    """Seed 003's calls, spelled as the seed spells them (real numbers in place of '...')."""
    vector = scalar(database, "SET NOCOUNT ON; DECLARE @v VARBINARY(MAX); "
                     "EXEC dbo.sp_GenerateEmbedding @text_value = N'a sleepy kitten', @embedding = @v OUTPUT; SELECT @v;")
    embedding = "[" + ", ".join(repr(v) for v in struct.unpack(f"<{len(vector) // 4}f", vector)) + "]"
    atom = scalar(database, """SET NOCOUNT ON;
        DECLARE @AtomId BIGINT, @binaryData VARBINARY(MAX) = ?;
        EXEC dbo.sp_IngestAtom
            @Content = @binaryData,
            @ContentType = 'image/png',
            @Metadata = '{"source": "user_upload"}',
            @TenantId = 0,
            @GenerateEmbedding = 1,
            @ModelId = NULL,
            @AtomId = @AtomId OUTPUT;
        SELECT @AtomId;""", bytes.fromhex("89504e470d0a1a0a0000000d49484452"))
    assert scalar(database, "SELECT Modality FROM dbo.Atoms WHERE AtomId = ?", atom) == "image"
    rows = rows(database, f"""SET NOCOUNT ON;
        EXEC dbo.sp_SemanticSearch
            @query_embedding = '{embedding}',
            @query_dimension = 384,
            @top_k = 10,
            @category = 'text',
            @use_hybrid = 1;""")
    assert all(len(r) == 4 for r in rows)
    import pyodbc

    with pytest.raises(pyodbc.Error, match="but the dimension given is 768"):
        rows(database, f"EXEC dbo.sp_SemanticSearch @query_embedding = '{embedding}', @query_dimension = 768, "
                        "@top_k = 10, @category = 'text', @use_hybrid = 1;")
    with pytest.raises(pyodbc.Error, match="ModelIds do not exist|text generation needs a GGUF model"):
        rows(database, "EXEC dbo.sp_GenerateText @prompt = 'Explain quantum entanglement', @max_tokens = 256, "
                        "@temperature = 0.7, @ModelIds = '1,2,3', @top_k = 5;")
    assert rows(database, """SET NOCOUNT ON;
        EXEC dbo.sp_RollbackWeightsToTimestamp
            @TargetDateTime = '2025-11-08 10:00:00',
            @ModelId = NULL,
            @DryRun = 1;""") == []
    jobs = rows(database, """SELECT TOP 10 IngestionJobId, JobType, Status, StartTime, EndTime,
        DATEDIFF(SECOND, StartTime, COALESCE(EndTime, GETUTCDATE())) AS DurationSec, AtomsProcessed, ErrorMessage
        FROM IngestionJobs ORDER BY StartTime DESC;""")
    assert all(len(j) == 8 for j in jobs)


def test_the_runbooks_reasoning_queries_run_verbatim(database):
    """Seed 001's "Reasoning Framework Success" query and its quick health check item 5, exactly as the
    runbook prints them: dbo.ReasoningChains, dbo.MultiPathReasoning and dbo.SelfConsistencyResults are
    the views over the Reasoning tables; the three frameworks' rows come back (their averages NULL on a
    database no run has written yet)."""
    metrics = rows(database, """
SELECT
    'Chain of Thought' AS Framework,
    AVG(CoherenceScore) AS AvgScore
FROM dbo.ReasoningChains
WHERE CreatedAt >= DATEADD(HOUR, -24, GETUTCDATE())
UNION ALL
SELECT
    'Tree of Thought',
    AVG(CAST(NumPaths AS FLOAT))
FROM dbo.MultiPathReasoning
WHERE CreatedAt >= DATEADD(HOUR, -24, GETUTCDATE())
UNION ALL
SELECT
    'Reflexion',
    AVG(AgreementRatio)
FROM dbo.SelfConsistencyResults
WHERE CreatedAt >= DATEADD(HOUR, -24, GETUTCDATE());""")
    assert [m[0] for m in metrics] == ["Chain of Thought", "Tree of Thought", "Reflexion"]
    assert all(m[1] is None or 0 <= m[1] <= 1 or m[0] == "Tree of Thought" for m in metrics)
    assert rows(database, """
SELECT
    'Reasoning Frameworks' AS Component,
    CASE WHEN COUNT(*) >= 0 THEN 'Healthy' ELSE 'N/A' END AS Status
FROM dbo.ReasoningChains
WHERE CreatedAt >= DATEADD(HOUR, -1, GETUTCDATE());""") == [("Reasoning Frameworks", "Healthy")]


def test_the_tsqlt_classes_pass(database):
    """scripts/mssql-tests.sh against this database, with the user's own tSQLt.class.sql
    (HARTONOMOUS_TSQLT_CLASS) and sqlcmd; skipped, with the reason, when either is missing."""
    import shutil
    import subprocess
    from pathlib import Path

    tsqlt = os.environ.get("HARTONOMOUS_TSQLT_CLASS")
    if not tsqlt or not shutil.which("sqlcmd"):
        pytest.skip("tSQLt run skipped: set HARTONOMOUS_TSQLT_CLASS to your tSQLt.class.sql and put sqlcmd on PATH")
    from deployer.engines.mssql.engine import parse_connection_string

    pairs = [(k, v) for k, v in parse_connection_string(DSN) if k.upper() not in ("DATABASE", "INITIAL CATALOG")]
    dsn = ";".join(f"{k}={v}" for k, v in pairs) + f";DATABASE={database}"
    script = Path(__file__).parent.parent / "scripts" / "mssql-tests.sh"
    result = subprocess.run(["bash", str(script), tsqlt], env={**os.environ, "HARTONOMOUS_MSSQL_DSN": dsn},
                            capture_output=True, text=True, timeout=3600)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]


def test_a_model_round_trips_through_the_stored_model_reader(database, run, tmp_path):
    """ingest-model writes through dbo.sp_StoreModel; export-model reads through dbo.fn_StoredModel,
    fn_StoredModelTensors and fn_TensorChunk (the reader sp_GenerateEmbedding and sp_GenerateText use)."""
    import hartonomous_ext.model_formats as formats
    from conftest import tiny_tensors, write_safetensors

    source = tmp_path / "tiny.safetensors"
    write_safetensors(source, tiny_tensors(7))
    target = ("--target", "mssql", "--database-name", database, "--mssql-version", VERSION)
    result = run("ingest-model", *target, source, "--name", "live-round-trip")
    assert result.code == 0, result
    model_id = int(result.out.split("-> model ")[1].split(":")[0])
    (hashes,), = rows(database, "SELECT ChunkHashes FROM dbo.fn_StoredModelTensors(?) WHERE TensorName = ?",
                       model_id, "encoder.layer.0.dense.weight")
    assert len(json.loads(hashes)) == 1
    out = tmp_path / "export.safetensors"
    assert run("export-model", *target, model_id, "--out", out).code == 0
    exported = {t.name: t.read() for t in formats.read(out).tensors}
    assert exported == {t.name: t.read() for t in formats.read(source).tensors}
    assert rows(database, "SELECT * FROM dbo.fn_StoredModel(?, ?)", model_id, 424242) == []


def test_stored_weights_embed_as_the_packaged_model_does(database, run):
    """sp_GenerateEmbedding @ModelId reads the stored MiniLM through the one reader (#weights from
    dbo.fn_StoredModelTensors and fn_TensorChunk) and embeds as the packaged model does."""
    import numpy as np
    from conftest import minilm_dir

    target = ("--target", "mssql", "--database-name", database, "--mssql-version", VERSION)
    result = run("ingest-model", *target, minilm_dir() / "model.safetensors", "--name", "minilm-live")
    assert result.code == 0, result
    model_id = int(result.out.split("-> model ")[1].split(":")[0])
    batch = ("SET NOCOUNT ON; DECLARE @e VARBINARY(MAX); "
             "EXEC dbo.sp_GenerateEmbedding @text_value = ?, @ModelId = ?, @embedding = @e OUTPUT; SELECT @e;")
    stored = np.frombuffer(scalar(database, batch, "stored weights, same vector", model_id), "<f4")
    packaged = np.frombuffer(scalar(database, batch, "stored weights, same vector", None), "<f4")
    assert stored.shape == (384,) and np.allclose(stored, packaged, atol=1e-5)


def test_the_vector_index_finds_new_embeddings_drops_deleted_ones_and_keeps_types_apart(database):
    """sp_BuildVectorIndex and sp_SemanticSearch's default path, as tests/test_vector_search.py runs
    them on PostgreSQL: the same results contract."""
    import numpy as np
    import pyodbc

    rng = np.random.default_rng(11)
    small, large = rng.normal(size=(400, 384)).astype("<f4"), rng.normal(size=(60, 768)).astype("<f4")
    tenant = 777
    with pyodbc.connect(DSN, autocommit=True) as conn:
        conn.execute(f"USE [{database}]")
        cursor = conn.cursor()
        cursor.fast_executemany = True

        def load(vectors, embedding_type):
            ids = []
            for vector in vectors:
                atom = cursor.execute(
                    "SET NOCOUNT ON; INSERT INTO dbo.Atoms (TenantId, ContentHash, ContentType, Modality, ContentSize) "
                    "OUTPUT inserted.AtomId VALUES (?, ?, 'application/octet-stream', 'binary', 1);",
                    tenant, os.urandom(32)).fetchone()[0]
                ids.append(cursor.execute(
                    "SET NOCOUNT ON; INSERT INTO dbo.AtomEmbeddings (AtomId, EmbeddingType, Dimension, EmbeddingVector) "
                    "OUTPUT inserted.AtomEmbeddingId VALUES (?, ?, ?, ?);", atom, embedding_type, len(vector),
                    vector.tobytes()).fetchone()[0])
            return ids

        def search(vector, **options):
            named = "".join(f", @{name} = ?" for name in options)
            rows = cursor.execute(f"SET NOCOUNT ON; EXEC dbo.sp_SemanticSearch @query_vector = ?, @TenantId = {tenant}"
                                  f"{named};", vector.tobytes(), *options.values()).fetchall()
            return [r[0] for r in rows]

        def atom_of(embedding_id):
            return cursor.execute("SELECT AtomId FROM dbo.AtomEmbeddings WHERE AtomEmbeddingId = ?", embedding_id).fetchone()[0]

        small_ids, large_ids = load(small, "all-MiniLM-L6-v2"), load(large, "test-768")
        assert search(large[4])[0] == atom_of(large_ids[4])  # the raw delta, before any build
        cursor.execute(f"EXEC dbo.sp_BuildVectorIndex @TenantId = {tenant}, @Mode = 'graph';")
        kinds = cursor.execute("SELECT EmbeddingType, Kind, VectorCount FROM dbo.VectorIndexSegments "
                               f"WHERE TenantId = {tenant} AND IsActive = 1 ORDER BY EmbeddingType").fetchall()
        assert [tuple(k) for k in kinds] == [("all-MiniLM-L6-v2", "hnsw", 400), ("test-768", "hnsw", 60)]
        assert search(small[9])[0] == atom_of(small_ids[9])
        new_id = load(small[:1] * 1.0001, "all-MiniLM-L6-v2")[0]
        assert atom_of(new_id) in search(small[0])[:2]
        gone = atom_of(small_ids[9])
        cursor.execute("DELETE FROM dbo.Atoms WHERE AtomId = ?", gone)
        assert gone not in search(small[9]) and gone not in search(small[9], use_hybrid=0)
        with pytest.raises(pyodbc.Error, match="no embedding type of tenant 777 has 500 dimensions"):
            search(rng.normal(size=500).astype("<f4"))
        with pytest.raises(pyodbc.Error, match="embedding type test-768 has 768 dimensions; the query has 384"):
            search(small[0], EmbeddingType="test-768")


@pytest.mark.skipif(VERSION != "2025", reason=f"SQL Server 2025's native exact path: HARTONOMOUS_MSSQL_VERSION is {VERSION}")
def test_sql_server_2025_searches_exactly_in_the_engine_with_the_same_results(database):
    """On 2025 sp_IngestAtoms keeps a VECTOR(384) copy and the exact path is VECTOR_DISTANCE: the
    same atoms, in the same order, with the same scores as cosine over the stored float32 bytes."""
    import base64

    import numpy as np
    import pyodbc

    tenant = 2025
    texts = ["A cat sleeps on the warm windowsill.", "The central bank raised interest rates.",
             "A B-tree index speeds up range lookups.", "Kittens love to play with string.",
             "Interest rates rose again this quarter."]
    atoms = json.dumps([{"content": base64.b64encode(t.encode()).decode(), "contentType": "text/plain"} for t in texts])
    with pyodbc.connect(DSN, autocommit=True) as conn:
        conn.execute(f"USE [{database}]")
        cursor = conn.cursor()
        cursor.execute("EXEC dbo.sp_IngestAtoms @Atoms = ?, @TenantId = ?, @GenerateEmbedding = 1;", atoms, tenant).fetchall()
        assert cursor.execute("SELECT COUNT(*) FROM dbo.AtomEmbeddings e JOIN dbo.Atoms a ON a.AtomId = e.AtomId "
                              "WHERE a.TenantId = ? AND e.EmbeddingNative IS NOT NULL", tenant).fetchone()[0] == 5
        rows = cursor.execute("SET NOCOUNT ON; EXEC dbo.sp_SemanticSearch @query_text = N'sleepy kitten', @top_k = 5, "
                              "@use_hybrid = 0, @TenantId = ?;", tenant).fetchall()
        mode = cursor.execute("SELECT TOP (1) JSON_VALUE(Parameters, '$.mode') FROM dbo.InferenceRequests "
                              "WHERE TenantId = ? ORDER BY RequestId DESC", tenant).fetchone()[0]
        stored = cursor.execute("SELECT a.AtomId, e.EmbeddingVector FROM dbo.AtomEmbeddings e JOIN dbo.Atoms a "
                                "ON a.AtomId = e.AtomId WHERE a.TenantId = ?", tenant).fetchall()
        query = cursor.execute("DECLARE @q VARBINARY(MAX); EXEC dbo.sp_GenerateEmbedding @text_value = N'sleepy kitten', "
                               "@embedding = @q OUTPUT; SELECT @q;").fetchone()[0]
    assert mode == "exact (VECTOR_DISTANCE)"
    with pytest.raises(pyodbc.Error, match="50210|zero vector"):
        rows(database, "EXEC dbo.sp_SemanticSearch @query_embedding = ?, @use_hybrid = 0, @TenantId = ?;",
              json.dumps([0.0] * 384), tenant)
    q = np.frombuffer(query, "<f4")
    expected = sorted(((float(np.frombuffer(v, "<f4") @ q), a) for a, v in stored), reverse=True)
    assert [r[0] for r in rows] == [a for _, a in expected]
    assert [r[1] for r in rows] == pytest.approx([s for s, _ in expected], abs=1e-5)


def test_concurrent_batches_of_one_tenant_take_turns_and_count_every_copy(database):
    """Three sp_IngestAtoms batches over the same 400 contents in different orders at once: no
    deadlock (their key-range locks would otherwise meet in no common order), every copy counted."""
    import base64
    import threading

    import pyodbc

    tenant, contents = 3131, [f"live concurrent batch item {i}".encode() for i in range(400)]
    orders, errors = [contents, contents[::-1], contents[100:] + contents[:100]], []

    def run(order):
        atoms = json.dumps([{"content": base64.b64encode(c).decode(), "contentType": "text/plain"} for c in order])
        try:
            with pyodbc.connect(DSN, autocommit=True) as conn:
                conn.execute(f"USE [{database}]")
                conn.execute("EXEC dbo.sp_IngestAtoms @Atoms = ?, @TenantId = ?;", atoms, tenant).fetchall()
        except pyodbc.Error as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(order,)) for order in orders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert rows(database, "SELECT COUNT(*), MIN(ReferenceCount), MAX(ReferenceCount) FROM dbo.Atoms WHERE TenantId = ?",
                 tenant) == [(400, 3, 3)]


def test_billing_meters_the_work_and_a_quota_refuses_before_it(database):
    """As on PostgreSQL (tests/test_billing.py): new bytes and embeddings of an ingest, one search a
    call, the line items in the memory-optimized ledger matching the month's counters, the third
    search of a quota of two refused with no request recorded."""
    import pyodbc

    tenant = 5151
    rows(database, """
        SET NOCOUNT ON;
        INSERT INTO dbo.BillingRatePlans (PlanName) VALUES (N'live-trial');
        DECLARE @Plan INT = SCOPE_IDENTITY();
        INSERT INTO dbo.BillingRates (RatePlanId, Operation, UnitRate, MonthlyQuotaUnits)
        VALUES (@Plan, 'search', 0.5, 2), (@Plan, 'ingested_byte', 0.001, NULL);
        INSERT INTO dbo.BillingAccounts (TenantId, RatePlanId) VALUES (?, @Plan);""", tenant)
    content = "live billing apples".encode()
    rows(database, "DECLARE @Id BIGINT; EXEC dbo.sp_IngestAtom @Content = ?, @ContentType = N'text/plain', "
                    "@TenantId = ?, @GenerateEmbedding = 1, @AtomId = @Id OUTPUT;", content, tenant)
    search = "EXEC dbo.sp_SemanticSearch @query_text = N'apples', @top_k = 1, @TenantId = ?;"
    assert len(rows(database, search, tenant)) == 1
    assert len(rows(database, search, tenant)) == 1
    with pytest.raises(pyodbc.Error, match="tenant 5151 has 0 of its monthly quota of 2 search units left"):
        rows(database, search, tenant)
    counters = rows(database, "SELECT Operation, Units, Calls, Cost FROM dbo.BillingUsagePeriods WHERE TenantId = ? "
                               "ORDER BY Operation", tenant)
    assert [(op, units, calls) for op, units, calls, _ in counters] == [
        ("embedding", 3, 3), ("ingested_byte", len(content), 1), ("search", 2, 2)]
    assert rows(database, "SELECT Operation, SUM(Units), COUNT(*) FROM dbo.BillingUsageLedger_InMemory "
                           "WHERE TenantId = ? GROUP BY Operation ORDER BY Operation", tenant) == [
        (op, units, calls) for op, units, calls, _ in counters]
    assert scalar(database, "SELECT COUNT(*) FROM dbo.InferenceRequests WHERE TenantId = ? "
                             "AND TaskType = N'semantic-search'", tenant) == 2


def test_a_charge_outside_a_transaction_is_refused_and_the_seeds_ledger_insert_runs(database):
    import pyodbc

    with pytest.raises(pyodbc.Error, match="inside the transaction of the work it charges"):
        rows(database, "EXEC dbo.sp_ChargeUsage @TenantId = 1, @Operation = 'search', @Units = 1, @Source = N'live';")
    rows(database, """
        INSERT INTO dbo.BillingUsageLedger_InMemory (
            TenantId, PrincipalId, Operation, Units, BaseRate, TotalCost
        )
        VALUES (
            6161, N'billing-correction', 'search', 1, 0.5, 0.5
        );""")
    assert scalar(database, "SELECT COUNT(*) FROM dbo.BillingUsageLedger_InMemory WHERE TenantId = 6161") == 1
    # (a date long past: charges of the other tests just before a month's end stay out of it)
    assert rows(database, "EXEC dbo.sp_ArchiveBillingUsage @Before = '2000-01-01';") == [(0,)]


@pytest.mark.parametrize("isolation", ["REPEATABLE READ", "SERIALIZABLE"])
@pytest.mark.parametrize("in_transaction", [False, True], ids=["own", "callers"])
def test_a_metered_call_works_whatever_the_sessions_isolation_level(database, isolation, in_transaction):
    """The charge reaches the memory-optimized ledger WITH (SNAPSHOT), in a READ COMMITTED transaction
    of the procedure's own or in the caller's: a session at another level gets its rows, not 41333."""
    call = "EXEC dbo.sp_SemanticSearch @query_text = N'apples', @top_k = 1, @TenantId = 7171;"
    if in_transaction:
        call = f"BEGIN TRANSACTION; {call} COMMIT TRANSACTION;"
    rows = rows(database, f"SET TRANSACTION ISOLATION LEVEL {isolation}; {call}")
    assert rows == []  # tenant 7171 has nothing stored: no rows, and no error
    assert scalar(database, "SELECT COUNT(*) FROM dbo.BillingUsageLedger_InMemory WHERE TenantId = 7171 "
                             "AND Operation = 'search'") >= 1


# per SQL Server type: what a hostile or careless caller sends (tests/test_hostile_input.py's twin)
MSSQL_HOSTILE = {
    "nvarchar": [None, "", "x" * 1_000_000, "'); DROP TABLE dbo.Atoms; --", "é漢😀", "NaN", "-1"],
    "varchar": [None, "", "x" * 100_000, "'); DROP TABLE dbo.Atoms; --"],
    "varbinary": [None, b"", b"abc", b"\x00" * 1_000_001],
    "int": [None, -1, 0, 2_147_483_647, -2_147_483_648, "abc"],
    "bigint": [None, -1, 9_223_372_036_854_775_807, "abc"],
    "float": [None, -1.0, 1e308, "abc"],
    "bit": [None, 2, "yes"],
    "datetime2": [None, "not a date", "9999-12-31T23:59:59"],
}


OUTPUT_TYPES = {"nvarchar": "NVARCHAR(MAX)", "varchar": "VARCHAR(MAX)", "varbinary": "VARBINARY(MAX)"}
# conversion failures of a parameter value (8114, 245, 241, 8115): the server refuses, no procedure runs
SERVER_CONVERSION_ERRORS = (8114, 245, 241, 8115)


def test_every_procedure_the_application_role_may_execute_refuses_hostile_input_cleanly(database):
    """The twin of tests/test_hostile_input.py: every procedure the application role holds EXECUTE on
    (sys.database_permissions), each input parameter in turn set to each value above, called as an
    application user of tenant 1, the rest at a valid baseline. A call succeeds, or fails with a clear
    error: no Python traceback, no external script error (39004); and after a failed call every
    table's checksum is as before it (MssqlEngine.table_checksums)."""
    import pyodbc

    from deployer.engines.mssql.engine import MssqlEngine
    from test_hostile_input import BASELINE, TRACEBACK_MARKS

    user = f"hostile_app_{uuid.uuid4().hex[:6]}"
    rows(database, f"CREATE USER [{user}] WITHOUT LOGIN; ALTER ROLE [{database}_app] ADD MEMBER [{user}]; "
                    "INSERT INTO dbo.TenantPrincipals (PrincipalName, TenantId) VALUES (?, 1);", user)
    procedures = rows(database, """
        SELECT OBJECT_SCHEMA_NAME(p.major_id) + N'.' + OBJECT_NAME(p.major_id), a.name, TYPE_NAME(a.user_type_id),
               a.is_output
        FROM sys.database_permissions AS p
        INNER JOIN sys.parameters AS a ON a.object_id = p.major_id
        WHERE p.class = 1 AND p.permission_name = N'EXECUTE' AND p.state = N'G'
          AND p.grantee_principal_id = DATABASE_PRINCIPAL_ID(?) AND OBJECTPROPERTY(p.major_id, 'IsProcedure') = 1
        ORDER BY 1, a.parameter_id;""", f"{database}_app")
    parameters: dict[str, list[tuple[str, str, bool]]] = {}
    for name, parameter, type_name, is_output in procedures:
        parameters.setdefault(name, []).append((parameter.lstrip("@"), type_name, bool(is_output)))
    engine = MssqlEngine(DSN, database=database)
    engine.connect()
    calls, refused, converted, problems = 0, 0, 0, []
    try:
        before = engine.table_checksums()
        for name, params in parameters.items():
            if name == "dbo.sp_SetSessionTenant":
                continue  # a session's tenant is set once per session: the tenancy tests call it
            inputs = [(p, t) for p, t, out in params if not out]
            outputs = [(p, t) for p, t, out in params if out]
            for parameter, type_name in inputs:
                for value in MSSQL_HOSTILE.get(type_name, [None]):
                    arguments = {p: BASELINE.get(p.lower()) for p, _ in inputs}
                    arguments[parameter] = value
                    declare = "".join(f"DECLARE @out_{p} {OUTPUT_TYPES.get(t, t.upper())}; " for p, t in outputs)
                    named = [f"@{p} = ?" for p in arguments] + [f"@{p} = @out_{p} OUTPUT" for p, _ in outputs]
                    batch = f"EXECUTE AS USER = N'{user}'; {declare}EXEC {name} {', '.join(named)}; REVERT;"
                    label = f"{name}(@{parameter} = {str(value)[:40]!r})"
                    calls += 1
                    try:
                        rows(database, batch, *arguments.values())
                    except pyodbc.Error as exc:
                        message = str(exc)
                        if "39004" in message or any(mark in message for mark in TRACEBACK_MARKS):
                            problems.append(f"{label}: {message[:200]}")
                        elif any(f"({number})" in message for number in SERVER_CONVERSION_ERRORS):
                            converted += 1  # the server refused the value before the procedure ran
                        else:
                            refused += 1
                        after = engine.table_checksums()
                        if after != before:
                            problems.append(f"{label}: failed but changed "
                                            f"{sorted(t for t in after if after[t] != before.get(t))}")
                    before = engine.table_checksums()
    finally:
        engine.close()
    print(f"\nhostile input on SQL Server as the application role: {calls} calls, {refused} refused cleanly by "
          f"the procedures, {converted} refused by the server's parameter conversion")
    assert problems == [], "\n".join(problems)
