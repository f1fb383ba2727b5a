"""Models in the database, on a real PostgreSQL: the four formats detected by content, ingested
into Models / ModelLayers / ModelTensors / content-addressed chunks, exported back byte for byte,
refused cleanly when the file is bad. Fixtures are made here (safetensors by hand from the spec,
ONNX with onnx.helper, GGUF with llama.cpp's gguf writer, PyTorch by torch itself: the committed
tests/fixtures/models/torch_tiny.pt, see make_torch_tiny.py) plus the two real models the issue names."""

from __future__ import annotations

import hashlib
import json
import pickle
import zipfile
from pathlib import Path

import numpy as np
import psycopg
import pytest

from conftest import minilm_dir, query, smollm_path, tiny_tensors, write_safetensors
import hartonomous_ext.model_formats as formats
import hartonomous_ext.model_store as store

from deployer.client.models import ModelClient
from deployer.engines import open_engine

FIXTURES = Path(__file__).parent / "fixtures" / "models"


def make_onnx(folder: Path, external: bool) -> Path:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(1)
    weight = numpy_helper.from_array(rng.normal(size=(4, 3)).astype(np.float32), "W")
    bias = numpy_helper.from_array(rng.normal(size=(3,)).astype(np.float32), "B")
    graph = helper.make_graph([helper.make_node("MatMul", ["x", "W"], ["h"]), helper.make_node("Add", ["h", "B"], ["y"])],
                              "tiny_mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])], [weight, bias])
    model = helper.make_model(graph)
    path = folder / ("tiny_external.onnx" if external else "tiny.onnx")
    if external:
        onnx.save_model(model, str(path), save_as_external_data=True, all_tensors_to_one_file=True,
                        location="tiny_external.weights", size_threshold=0)
    else:
        onnx.save_model(model, str(path))
    return path


def make_gguf(path: Path) -> Path:
    import gguf

    rng = np.random.default_rng(2)
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_uint32("llama.block_count", 1)
    writer.add_array("tokenizer.ggml.tokens", ["<s>", "a", "b"])
    writer.add_tensor("blk.0.attn_norm.weight", rng.normal(size=(64,)).astype(np.float32))
    quantized = gguf.quants.quantize(rng.normal(size=(4, 64)).astype(np.float32), gguf.GGMLQuantizationType.Q8_0)
    writer.add_tensor("blk.0.attn_q.weight", quantized, raw_dtype=gguf.GGMLQuantizationType.Q8_0)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


@pytest.fixture(scope="module")
def model_files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("models")
    files = {}
    files["safetensors"] = folder / "tiny.safetensors"
    write_safetensors(files["safetensors"], tiny_tensors(), {"purpose": "test"})
    shards = folder / "sharded"
    shards.mkdir()
    tensors = tiny_tensors(3)
    first, second = dict(list(tensors.items())[:2]), dict(list(tensors.items())[2:])
    write_safetensors(shards / "model-00001-of-00002.safetensors", first)
    write_safetensors(shards / "model-00002-of-00002.safetensors", second)
    (shards / "model.safetensors.index.json").write_text(json.dumps({"weight_map": {
        **{k: "model-00001-of-00002.safetensors" for k in first}, **{k: "model-00002-of-00002.safetensors" for k in second}}}))
    files["sharded"] = shards / "model.safetensors.index.json"
    files["onnx"] = make_onnx(folder, external=False)
    files["onnx-external"] = make_onnx(folder, external=True)
    files["pytorch"] = FIXTURES / "torch_tiny.pt"
    files["gguf"] = make_gguf(folder / "tiny.gguf")
    # content decides, not the name: a safetensors file called .bin
    files["misnamed"] = folder / "weights.bin"
    write_safetensors(files["misnamed"], tiny_tensors(4))
    return files


@pytest.fixture(scope="module")
def models_db(published):
    return published


@pytest.mark.parametrize(("name", "expected"), [("safetensors", "safetensors"), ("sharded", "safetensors"),
                                                ("onnx", "onnx"), ("onnx-external", "onnx"), ("pytorch", "pytorch"),
                                                ("gguf", "gguf"), ("misnamed", "safetensors")])
def test_detect_format_by_content(run, model_files, name, expected):
    result = run("detect-format", model_files[name])
    assert result.code == 0 and result.out.strip() == expected


def test_detect_format_of_the_real_models(run):
    assert run("detect-format", minilm_dir() / "model.safetensors").out.strip() == "safetensors"
    assert run("detect-format", smollm_path()).out.strip() == "gguf"


def tensors_of(model) -> dict[str, tuple]:
    return {t.name: (t.dtype, list(t.shape), hashlib.sha256(t.read()).hexdigest()) for t in model.tensors}


@pytest.mark.parametrize("name", ["safetensors", "sharded", "onnx", "onnx-external", "pytorch", "gguf"])
def test_ingest_then_export_gives_identical_tensors(run, models_db, model_files, tmp_path, name):
    source = model_files[name]
    result = run("ingest-model", "--target", models_db, source, "--name", f"tiny-{name}")
    assert result.code == 0, result
    model_id = int(result.out.split("-> model ")[1].split(":")[0])
    original = formats.read(source)
    # the rows: model, tensors with their hashes, layers whose parameter counts add up
    (fmt, params, count, total), = query(models_db, "SELECT ModelFormat, ParameterCount, TensorCount, TotalBytes "
                                                    "FROM dbo.Models WHERE ModelId = %s", (model_id,))
    assert (fmt, params, count) == (original.format, original.parameter_count, len(original.tensors))
    stored = {r[0]: (r[1], list(r[2]), bytes(r[3]).hex()) for r in query(
        models_db, "SELECT TensorName, DType, Shape, Sha256 FROM dbo.ModelTensors WHERE ModelId = %s", (model_id,))}
    assert stored == tensors_of(original)
    (layer_sum,), = query(models_db, "SELECT sum(ParameterCount) FROM dbo.ModelLayers WHERE ModelId = %s", (model_id,))
    assert layer_sum == params
    # and back out, in its own format: byte-identical tensors, a file its format's own tools load
    out = tmp_path / f"export.{name}"
    assert run("export-model", "--target", models_db, model_id, "--out", out).code == 0
    assert tensors_of(formats.read(out)) == tensors_of(original)
    if name.startswith("onnx"):
        import onnxruntime

        session = onnxruntime.InferenceSession(str(out), providers=["CPUExecutionProvider"])
        x = np.ones((1, 4), np.float32)
        w = {t.name: np.frombuffer(t.read(), "<f4").reshape(t.shape) for t in original.tensors}
        assert np.allclose(session.run(None, {"x": x})[0], x @ w["W"] + w["B"], atol=1e-6)


def test_export_converts_between_formats(run, models_db, model_files, tmp_path):
    result = run("ingest-model", "--target", models_db, model_files["misnamed"], "--name", "convert-me")
    model_id = int(result.out.split("-> model ")[1].split(":")[0])
    original = tensors_of(formats.read(model_files["misnamed"]))
    for fmt in ("pytorch", "safetensors", "onnx"):
        out = tmp_path / f"converted.{fmt}"
        assert run("export-model", "--target", models_db, model_id, "--format", fmt, "--out", out).code == 0
        assert formats.detect(out) == fmt
        assert tensors_of(formats.read(out)) == original


def test_identical_tensors_are_stored_once(run, models_db, tmp_path):
    tensors = tiny_tensors(7)
    tensors["big.weight"] = np.random.default_rng(7).normal(size=(600, 600)).astype("<f4")  # 1.44 MB: two chunks
    write_safetensors(tmp_path / "a.safetensors", tensors, {"copy": "a"})
    write_safetensors(tmp_path / "b.safetensors", tensors, {"copy": "b"})  # another file, the same tensors
    before = query(models_db, "SELECT count(*), coalesce(sum(ByteSize), 0) FROM dbo.TensorChunks")[0]
    first = run("ingest-model", "--target", models_db, tmp_path / "a.safetensors")
    middle = query(models_db, "SELECT count(*), sum(ByteSize) FROM dbo.TensorChunks")[0]
    second = run("ingest-model", "--target", models_db, tmp_path / "b.safetensors")
    after = query(models_db, "SELECT count(*), sum(ByteSize) FROM dbo.TensorChunks")[0]
    assert first.code == 0 and second.code == 0
    # 3 new small tensors + 2 chunks of the big one (position_ids, arange(5), is in every tiny model:
    # already stored); nothing new the second time
    assert middle[0] == before[0] + 5 and after == middle
    assert "(0.0 MB new chunks)" in second.out
    # ingesting the very same file again is the same model, no new rows
    again = run("ingest-model", "--target", models_db, tmp_path / "a.safetensors")
    assert again.code == 0 and "is already model" in again.out


def malicious_pickle_zip(path: Path) -> Path:
    class Exploit:
        def __reduce__(self):
            import os
            return os.system, ("touch /tmp/hartonomous-pwned",)

    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("evil/data.pkl", pickle.dumps({"weight": Exploit()}, protocol=2))
        archive.writestr("evil/version", "3\n")
    return path


def bad_files(folder: Path, model_files) -> dict[str, tuple[Path, str]]:
    good = model_files["safetensors"].read_bytes()
    cases = {}
    (folder / "truncated.safetensors").write_bytes(good[:-10])
    cases["truncated"] = (folder / "truncated.safetensors", "ends at byte")
    (folder / "wrong_magic.gguf").write_bytes(b"GGUX" + smollm_path().read_bytes()[4:4096])
    cases["wrong magic"] = (folder / "wrong_magic.gguf", "not a model file this code knows")
    header = json.dumps({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}).encode()
    (folder / "claims_more.safetensors").write_bytes((len(header) + 1000).to_bytes(8, "little") + header + b"\0" * 16)
    cases["header claims more bytes"] = (folder / "claims_more.safetensors", "the file has")
    header = json.dumps({"w": {"dtype": "C64", "shape": [2], "data_offsets": [0, 16]}}).encode()
    (folder / "complex.safetensors").write_bytes(len(header).to_bytes(8, "little") + header + b"\0" * 16)
    cases["unsupported dtype"] = (folder / "complex.safetensors", "dtype C64 is not supported")
    cases["pickle calling code"] = (malicious_pickle_zip(folder / "evil.pt"), "wants to load posix.system")
    (folder / "empty.onnx").write_bytes(b"")
    cases["empty"] = (folder / "empty.onnx", "the file is empty")
    gguf_bytes = bytearray(model_files["gguf"].read_bytes())
    (folder / "short.gguf").write_bytes(bytes(gguf_bytes[:200]))
    cases["gguf cut in its header"] = (folder / "short.gguf", "")
    return cases


def test_bad_files_fail_cleanly(run, models_db, model_files, tmp_path):
    cases = bad_files(tmp_path, model_files)
    models_before = query(models_db, "SELECT count(*) FROM dbo.Models")[0][0]
    chunks_before = query(models_db, "SELECT count(*) FROM dbo.TensorChunks")[0][0]
    for label, (path, message) in cases.items():
        result = run("ingest-model", "--target", models_db, path)
        assert result.code == 1, (label, result)
        assert message in result.out, (label, result)
        status, error = query(models_db, "SELECT Status, ErrorMessage FROM dbo.IngestionJobs WHERE Source = %s "
                                         "ORDER BY IngestionJobId DESC LIMIT 1", (str(path.resolve()),))[0]
        assert status == "Failed" and message in error, label
    assert query(models_db, "SELECT count(*) FROM dbo.Models")[0][0] == models_before
    assert query(models_db, "SELECT count(*) FROM dbo.TensorChunks")[0][0] == chunks_before
    assert not Path("/tmp/hartonomous-pwned").exists()


def test_a_failure_half_way_leaves_no_partial_model(models_db, tmp_path):
    """The chunks are sent, then the database refuses a row: everything of that model rolls back."""
    with psycopg.connect(models_db, autocommit=True) as conn:
        conn.execute("ALTER TABLE dbo.ModelTensors ADD CONSTRAINT CK_test_refuse CHECK (TensorName <> 'position_ids') NOT VALID")
    try:
        engine = open_engine(models_db)
        engine.connect(create_database=False)
        source = tmp_path / "refused.safetensors"
        write_safetensors(source, tiny_tensors(11))
        with pytest.raises(psycopg.errors.CheckViolation):
            ModelClient(engine).ingest(source, name="half-way")
        assert query(models_db, "SELECT count(*) FROM dbo.Models WHERE ModelName = 'half-way'") == [(0,)]
        assert query(models_db, "SELECT Status FROM dbo.IngestionJobs WHERE Source = %s ORDER BY IngestionJobId DESC LIMIT 1",
                     (str(source.resolve()),)) == [("Failed",)]
        engine.close()
    finally:
        with psycopg.connect(models_db, autocommit=True) as conn:
            conn.execute("ALTER TABLE dbo.ModelTensors DROP CONSTRAINT CK_test_refuse")


def test_ingest_models_takes_a_folder(run, models_db, model_files):
    folder = model_files["sharded"].parent.parent
    result = run("ingest-models", "--target", models_db, folder, "--recursive", "--extensions", ".onnx,.gguf")
    assert result.code == 0, result
    assert result.out.count("job ") == 3  # tiny.onnx, tiny_external.onnx, tiny.gguf (some already stored)


def test_the_real_models_round_trip(run, models_db, tmp_path):
    for path, name in ((minilm_dir() / "model.safetensors", "all-MiniLM-L6-v2"), (smollm_path(), "SmolLM2-135M")):
        result = run("ingest-model", "--target", models_db, path, "--name", name)
        assert result.code == 0, result
        model_id = query(models_db, "SELECT ModelId FROM dbo.Models WHERE ModelName = %s", (name,))[0][0]
        out = tmp_path / path.name
        assert run("export-model", "--target", models_db, model_id, "--out", out).code == 0
        assert out.read_bytes() == path.read_bytes()  # both formats come back as the very same file
    # the seeds' verification queries: the model row, its layers, parameters per layer
    (params, layers), = query(models_db, """
        SELECT m.ParameterCount, count(l.LayerId) FROM dbo.Models m JOIN dbo.ModelLayers l USING (ModelId)
        WHERE m.ModelName = 'SmolLM2-135M' GROUP BY m.ParameterCount""")
    assert params == 134_515_008 and layers == 30 * 9 + 2  # 9 modules a block, plus token_embd and output_norm
    assert query(models_db, """
        SELECT l.ParameterCount FROM dbo.ModelLayers l JOIN dbo.Models m USING (ModelId)
        WHERE m.ModelName = 'SmolLM2-135M' AND l.LayerName = 'blk.0.ffn_down'""") == [(576 * 1536,)]


def call_ingest_model(url, **kwargs):
    names = ", ".join(f"{k} => %({k})s" for k in kwargs)
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(f"CALL dbo.sp_IngestModel({names})", kwargs).fetchone()


def test_sp_ingest_model_reads_an_atom_in_the_database(models_db, model_files):
    payload = model_files["gguf"].read_bytes()
    with psycopg.connect(models_db, autocommit=True) as conn:
        atom = conn.execute("CALL dbo.sp_IngestAtom(%s, 'application/octet-stream', NULL, 3)", (payload,)).fetchone()[0]
    model_id, job = call_ingest_model(models_db, AtomId=atom, TenantId=3, ModelName="from-atom")
    stored = {r[0]: (r[1], list(r[2]), bytes(r[3]).hex()) for r in query(
        models_db, "SELECT TensorName, DType, Shape, Sha256 FROM dbo.ModelTensors WHERE ModelId = %s", (model_id,))}
    assert stored == tensors_of(formats.read(model_files["gguf"]))
    assert query(models_db, "SELECT Status, TotalItems, Parameters->>'model_id' FROM dbo.IngestionJobs WHERE IngestionJobId = %s",
                 (job,)) == [("Completed", 2, str(model_id))]
    assert query(models_db, "SELECT TenantId, ModelFormat, ModelName FROM dbo.Models WHERE ModelId = %s",
                 (model_id,)) == [(3, "gguf", "from-atom")]
    # the same content again: the same model
    assert call_ingest_model(models_db, AtomId=atom, TenantId=3)[0] == model_id


def test_sp_ingest_model_reads_only_the_import_folder(models_db, model_files, pg_instance):
    import shutil

    target = pg_instance.import_dir / "tiny_import.onnx"
    shutil.copy(model_files["onnx"], target)
    target.chmod(0o644)
    model_id, _ = call_ingest_model(models_db, Path="tiny_import.onnx", ModelName="imported")
    assert query(models_db, "SELECT ModelFormat, TensorCount FROM dbo.Models WHERE ModelId = %s", (model_id,)) == [("onnx", 2)]
    for hostile in ("../pgdata/PG_VERSION", "/etc/passwd", ".", "missing.onnx"):
        with pytest.raises(psycopg.Error) as caught:
            call_ingest_model(models_db, Path=hostile)
        assert "sp_IngestModel" in str(caught.value), hostile
        assert query(models_db, "SELECT Status FROM dbo.IngestionJobs WHERE Source = %s ORDER BY IngestionJobId DESC LIMIT 1",
                     (f"import:{hostile}",)) == [("Failed",)]


@pytest.mark.parametrize(("content", "tenant", "message"), [
    (b"just some words", 0, "not a model file this code knows"),
    (b"GGUF\x03\x00\x00\x00" + b"\xff" * 16, 0, "which no GGUF file has"),
    (None, 5, "does not exist for tenant 5"),
])
def test_sp_ingest_model_refuses_bad_payloads(models_db, model_files, content, tenant, message):
    with psycopg.connect(models_db, autocommit=True) as conn:
        atom = conn.execute("CALL dbo.sp_IngestAtom(%s, 'application/octet-stream', NULL, 0)",
                            (content or model_files["safetensors"].read_bytes(),)).fetchone()[0]
    models = query(models_db, "SELECT count(*) FROM dbo.Models")[0][0]
    with pytest.raises(psycopg.Error) as caught:
        call_ingest_model(models_db, AtomId=atom, TenantId=tenant)
    assert message in str(caught.value)
    assert query(models_db, "SELECT Status, ErrorMessage LIKE %s FROM dbo.IngestionJobs WHERE Source = %s "
                            "ORDER BY IngestionJobId DESC LIMIT 1", (f"%{message}%", f"atom {atom}")) == [("Failed", True)]
    assert query(models_db, "SELECT count(*) FROM dbo.Models")[0][0] == models


def test_embeddings_from_stored_weights_match_sentence_transformers(run, models_db):
    reference = json.loads((Path(__file__).parent / "fixtures" / "minilm_reference.json").read_text())
    result = run("ingest-model", "--target", models_db, minilm_dir() / "model.safetensors", "--name", "minilm-stored")
    assert result.code == 0, result
    model_id = query(models_db, "SELECT ModelId FROM dbo.Models WHERE SourceHash = %s",
                     (formats.read(minilm_dir() / "model.safetensors").source_hash,))[0][0]
    with psycopg.connect(models_db, autocommit=True) as conn:
        got = [np.frombuffer(conn.execute("SELECT dbo.fn_GenerateEmbedding(%s, %s)", (text, model_id)).fetchone()[0], "<f4")
               for text in reference["texts"]]
        packaged = np.frombuffer(conn.execute("SELECT dbo.fn_GenerateEmbedding(%s)", (reference["texts"][0],)).fetchone()[0],
                                 "<f4")
        via_procedure = conn.execute("CALL dbo.sp_GenerateEmbedding(%s, %s)", (reference["texts"][0], model_id)).fetchone()
        # the stored model drives sp_IngestAtom's embedding too
        atom = conn.execute("CALL dbo.sp_IngestAtom(%s, 'text/plain', NULL, 0, true, %s)",
                            (b"stored weights embed this", model_id)).fetchone()[0]
        with pytest.raises(psycopg.Error, match="does not exist for tenant 4"):
            conn.execute("SELECT dbo.fn_GenerateEmbedding('x', %s, 4)", (model_id,))
    expected = np.array(reference["embeddings"], dtype=np.float64)
    cosines = [float(g @ e / np.linalg.norm(g) / np.linalg.norm(e)) for g, e in zip(got, expected)]
    assert min(cosines) >= 0.9999, cosines
    assert np.allclose(got[0], packaged, atol=1e-6)
    assert np.array_equal(np.frombuffer(via_procedure[0], "<f4"), got[0])
    name = query(models_db, "SELECT ModelName FROM dbo.Models WHERE ModelId = %s", (model_id,))[0][0]
    assert query(models_db, "SELECT ModelId, EmbeddingType, Dimension FROM dbo.AtomEmbeddings WHERE AtomId = %s",
                 (atom,)) == [(model_id, name, 384)]


def test_a_model_without_a_tokenizer_cannot_embed(run, models_db, model_files):
    result = run("ingest-model", "--target", models_db, model_files["gguf"], "--name", "not-an-encoder")
    model_id = query(models_db, "SELECT ModelId FROM dbo.Models WHERE ModelFormat = 'gguf' AND TenantId = 0 ORDER BY ModelId LIMIT 1")[0][0]
    with pytest.raises(psycopg.Error, match="no config.json and tokenizer.json stored with it"):
        query(models_db, "SELECT dbo.fn_GenerateEmbedding('x', %s)", (model_id,))
    assert result.code == 0


def test_weights_are_versioned_snapshots_and_rollback(run, models_db, tmp_path):
    tensors = tiny_tensors(21)
    tensors["big.weight"] = np.random.default_rng(21).normal(size=(600, 600)).astype("<f4")  # two chunks
    write_safetensors(tmp_path / "versioned.safetensors", tensors)
    assert run("ingest-model", "--target", models_db, tmp_path / "versioned.safetensors", "--name", "versioned").code == 0
    model_id = query(models_db, "SELECT ModelId FROM dbo.Models WHERE ModelName = 'versioned'")[0][0]

    def tensor_bytes(name):
        return b"".join(bytes(r[0]) for r in query(models_db, """
            SELECT k.Data FROM dbo.ModelTensors t JOIN dbo.ModelTensorChunks c ON c.TensorId = t.TensorId
            JOIN dbo.TensorChunks k ON k.ChunkHash = c.ChunkHash
            WHERE t.ModelId = %s AND t.TensorName = %s ORDER BY c.ChunkIndex""", (model_id, name)))

    original = tensor_bytes("big.weight")
    assert original == tensors["big.weight"].tobytes()
    with psycopg.connect(models_db, autocommit=True) as conn:
        snapshot = conn.execute("CALL dbo.sp_CreateWeightSnapshot('before-tuning', %s, 'baseline')",
                                (model_id,)).fetchone()[0]
        assert query(models_db, "SELECT SnapshotName, ModelId, Description, ModelCount, ChunkCount > 0 "
                                "FROM dbo.WeightSnapshots WHERE SnapshotId = %s", (snapshot,)) == [
            ("before-tuning", model_id, "baseline", 1, True)]
        before = conn.execute("SELECT now()").fetchone()[0]
        changed = tensors["big.weight"].copy()
        changed[0, :5] += 1.0  # only the first chunk differs
        assert conn.execute("CALL dbo.sp_UpdateTensor(%s, 'big.weight', %s)",
                            (model_id, changed.tobytes())).fetchone()[0] == 1
        assert tensor_bytes("big.weight") == changed.tobytes()
        (sha,), = conn.execute("SELECT Sha256 FROM dbo.ModelTensors WHERE ModelId = %s AND TensorName = 'big.weight'",
                               (model_id,)).fetchall()
        assert bytes(sha) == hashlib.sha256(changed.tobytes()).digest()
        # a dry run reports and changes nothing; the real one puts the bytes back
        plan = conn.execute("SELECT * FROM dbo.sp_RollbackWeightsToTimestamp(%s, %s, 1)", (before, model_id)).fetchall()
        assert plan == [("versioned", "big.weight", 1)] and tensor_bytes("big.weight") == changed.tobytes()
        assert conn.execute("SELECT * FROM dbo.sp_RollbackWeightsToTimestamp(%s, %s, false)",
                            (before, model_id)).fetchall() == [("versioned", "big.weight", 1)]
        assert tensor_bytes("big.weight") == original
        # change again, then restore the named snapshot
        conn.execute("CALL dbo.sp_UpdateTensor(%s, 'big.weight', %s)", (model_id, changed.tobytes()))
        assert conn.execute("SELECT * FROM dbo.sp_RestoreWeightSnapshot('before-tuning', DryRun => 1)").fetchall() == [
            ("versioned", "big.weight", 1)]
        assert conn.execute("SELECT * FROM dbo.sp_RestoreWeightSnapshot('before-tuning')").fetchall() == [
            ("versioned", "big.weight", 1)]
        assert conn.execute("SELECT * FROM dbo.sp_RestoreWeightSnapshot('before-tuning')").fetchall() == []
        (sha,), = conn.execute("SELECT Sha256 FROM dbo.ModelTensors WHERE ModelId = %s AND TensorName = 'big.weight'",
                               (model_id,)).fetchall()
        assert bytes(sha) == hashlib.sha256(original).digest()
        history = conn.execute("SELECT count(*) FROM dbo.ModelTensorChunksHistory h JOIN dbo.ModelTensors t "
                               "ON t.TensorId = h.TensorId WHERE t.ModelId = %s", (model_id,)).fetchone()[0]
        assert history == 4  # change, rollback, change, restore: each replaced one chunk mapping
        for sql, params, message in (
                ("CALL dbo.sp_UpdateTensor(%s, 'big.weight', %s)", (model_id, b"short"), "the new data has 5"),
                ("CALL dbo.sp_UpdateTensor(%s, 'nope', %s)", (model_id, b"x"), "has no tensor nope"),
                ("CALL dbo.sp_CreateWeightSnapshot('before-tuning', %s)", (model_id,), "already has a snapshot"),
                ("CALL dbo.sp_CreateWeightSnapshot('other', %s, TenantId => 9)", (model_id,), "does not exist for tenant 9"),
                ("CALL dbo.sp_CreateWeightSnapshot('', %s)", (model_id,), "SnapshotName must be 1 to 256"),
                ("CALL dbo.sp_CreateWeightSnapshot('x', TenantId => 9)", (), "tenant 9 has no models to snapshot"),
                ("SELECT * FROM dbo.sp_RollbackWeightsToTimestamp('2000-01-01', %s, false)", (model_id,),
                 "TargetDateTime must be later"),
                ("SELECT * FROM dbo.sp_RollbackWeightsToTimestamp(NULL::timestamptz, %s)", (model_id,), "give TargetDateTime"),
                ("SELECT * FROM dbo.sp_RollbackWeightsToTimestamp(now(), %s, DryRun => 'maybe')", (model_id,),
                 "DryRun: 'maybe' is not 1/0 or true/false"),
                ("SELECT * FROM dbo.sp_RestoreWeightSnapshot('before-tuning', false, 9)", (), "does not exist for tenant 9")):
            with pytest.raises(psycopg.Error, match=message):
                conn.execute(sql, params)
    # the exported model has the restored weights
    out = tmp_path / "restored.safetensors"
    assert run("export-model", "--target", models_db, model_id, "--out", out).code == 0
    assert tensors_of(formats.read(out)) == tensors_of(formats.read(tmp_path / "versioned.safetensors"))


def test_chunk_rows_read_back_a_model_and_name_a_missing_chunk():
    """SQL Server's input data set: (TensorIndex, TensorName, DType, Shape, ByteSize, ChunkIndex,
    ChunkHash, Data); a chunk dbo.fn_TensorChunk did not find arrives as None."""
    data = np.arange(4, dtype="<f4").tobytes()
    digest = hashlib.sha256(data).digest()
    row = {"format": "safetensors", "architecture": "fixture", "config": "{}", "source_hash": b"\0" * 32,
           "skeleton": None}
    model = store.from_chunk_rows(row, [(0, "w", "F32", "[4]", 16, 0, digest, data)])
    assert [(t.name, t.shape, t.read()) for t in model.tensors] == [("w", [4], data)]
    empty = store.from_chunk_rows(row, [(0, "w", "F32", "[4]", 16, 0, digest, data),
                                        (1, "e", "F32", "[0]", 0, None, None, None)])
    assert [(t.name, t.shape, t.read()) for t in empty.tensors] == [("w", [4], data), ("e", [0], b"")]
    with pytest.raises(formats.FormatError, match=f"tensor w: chunk {digest.hex()[:16]} is missing"):
        store.from_chunk_rows(row, [(0, "w", "F32", "[4]", 16, 0, digest, None)])


def test_a_chunk_repeated_across_rounds_is_asked_about_and_sent_once(tmp_path):
    """Identical tensors far apart in a file: the chunk is sent in one round only (SQL Server's
    sp_StoreModel would hit its primary key on a second copy in #chunks)."""
    from deployer.client.models import _send_chunks

    shared = np.arange(300_000, dtype=np.float32)  # 1.2 MB: two chunks
    tensors = {f"t{i:03d}": (np.full(1000, i, dtype=np.float32) if i % 2 else shared) for i in range(140)}
    path = tmp_path / "repeated.safetensors"
    write_safetensors(path, tensors)
    rows = store.describe(formats.read(path), "repeated")

    class Recorder:
        chunk_round = 64

        def __init__(self):
            self.asked, self.sent = [], []

        def chunks_present(self, hashes):
            self.asked.extend(hashes)
            return set()

        def put_chunks(self, chunks):
            self.sent.extend(h for h, _ in chunks)

    load = Recorder()
    sent = _send_chunks(rows, load, None)
    unique = {h for t in rows.tensors for h in t.chunk_hashes}
    assert len(load.asked) == len(set(load.asked)) == len(unique)
    assert sorted(load.sent) == sorted(unique)
    first_copies: dict[bytes, int] = {}
    for *_, chunk_hash, data in store.chunks(rows):
        first_copies.setdefault(chunk_hash, len(data))
    assert sent == sum(first_copies.values())


def test_zeroed_weights_update_a_tensor_whose_chunks_are_all_the_same(run, models_db, tmp_path):
    """Two identical chunks in one update (zeroed weights): stored once, mapped twice (SQL Server's
    insert-if-absent must dedupe its own source; the T-SQL gate's insert-absent-dedupes rule)."""
    tensors = tiny_tensors(31)
    tensors["wide.weight"] = np.random.default_rng(31).normal(size=(512, 1024)).astype("<f4")  # exactly 2 MiB
    write_safetensors(tmp_path / "zeroed.safetensors", tensors)
    assert run("ingest-model", "--target", models_db, tmp_path / "zeroed.safetensors", "--name", "zeroed").code == 0
    model_id = query(models_db, "SELECT ModelId FROM dbo.Models WHERE ModelName = 'zeroed'")[0][0]
    zeros = np.zeros((512, 1024), dtype="<f4")
    with psycopg.connect(models_db, autocommit=True) as conn:
        assert conn.execute("CALL dbo.sp_UpdateTensor(%s, 'wide.weight', %s)", (model_id, zeros.tobytes())).fetchone()[0] == 2
    rows = query(models_db, "SELECT c.ChunkHash, k.Data FROM dbo.ModelTensorChunks c JOIN dbo.ModelTensors t "
                            "ON t.TensorId = c.TensorId JOIN dbo.TensorChunks k ON k.ChunkHash = c.ChunkHash "
                            "WHERE t.ModelId = %s AND t.TensorName = 'wide.weight' ORDER BY c.ChunkIndex", (model_id,))
    assert len(rows) == 2 and rows[0][0] == rows[1][0]  # one stored chunk of zeros, mapped twice
    assert b"".join(bytes(data) for _, data in rows) == zeros.tobytes()
