"""Text generation from stored weights, on a real PostgreSQL: SmolLM2-135M-Instruct (Q4_1 GGUF)
ingested, then dbo.sp_GenerateText runs it in the database. Greedy output must equal the reference
(tests/fixtures/smollm2_reference.json: transformers' own GGUF loader and forward pass, greedy; see
make_smollm2_reference.py) and the same numpy forward pass run outside the database on the file."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

from conftest import query
import hartonomous_ext.model_formats as formats
from conftest import minilm_dir, smollm_path

REFERENCE = json.loads((Path(__file__).parent / "fixtures" / "smollm2_reference.json").read_text())


@pytest.fixture(scope="module")
def smollm_db(published):
    from deployer import cli

    url = published
    assert cli.main(["ingest-model", "--target", url, str(smollm_path()), "--name", "SmolLM2-135M-Instruct"]) == 0
    assert cli.main(["ingest-model", "--target", url, str(minilm_dir() / "model.safetensors")]) == 0
    ids = dict(query(url, "SELECT ModelFormat, ModelId FROM dbo.Models"))
    return url, ids["gguf"], ids["safetensors"]


def generate(url, **kwargs):
    names = ", ".join(f"{k} => %({k})s" for k in kwargs)
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(f"SELECT * FROM dbo.sp_GenerateText({names})", kwargs).fetchone()


def stream(url, stream_id):
    return query(url, "SELECT PromptTokens, GeneratedTokens, GeneratedText, ModelIds, OutputAtomId, RequestId "
                      "FROM dbo.GenerationStreams WHERE StreamId = %s", (stream_id,))[0]


@pytest.mark.parametrize("case", REFERENCE["cases"][:2], ids=lambda c: c["prompt"][:20])
def test_greedy_generation_equals_the_reference(smollm_db, case):
    url, model, _ = smollm_db
    stream_id, text, count, request = generate(url, prompt=case["prompt"], max_tokens=24, ModelIds=f"{model}")
    prompt_ids, token_ids, stored_text, models, atom, request_id = stream(url, stream_id)
    assert prompt_ids == case["prompt_ids"]
    assert token_ids == case["token_ids"] and count == len(case["token_ids"])
    assert text == stored_text == case["text"]
    # the request, and the lineage: which model, and the atom the text became
    assert (models, request_id) == ([model], request)
    assert query(url, "SELECT TaskType, ModelId, ResultCount, Parameters->'model_ids' FROM dbo.InferenceRequests "
                      "WHERE RequestId = %s", (request,)) == [("text-generation", model, count, [model])]
    assert bytes(query(url, "SELECT Payload FROM dbo.AtomPayloadStore WHERE AtomId = %s", (atom,))[0][0]).decode() == text


def test_greedy_is_deterministic_and_equals_the_pass_outside_the_database(smollm_db):
    from hartonomous_ext import generation

    url, model, _ = smollm_db
    prompt = REFERENCE["cases"][2]["prompt"]
    first = generate(url, prompt=prompt, max_tokens=12, ModelIds=f"{model}")
    second = generate(url, prompt=prompt, max_tokens=12, ModelIds=f"{model}")
    assert first[1] == second[1] and stream(url, first[0])[1] == stream(url, second[0])[1]
    outside = generation.generate([generation.load(formats.read(smollm_path()))], prompt, 12)
    assert stream(url, first[0])[1] == outside["token_ids"] == REFERENCE["cases"][2]["token_ids"][:12]


def test_sampling_follows_the_seed_and_an_ensemble_averages(smollm_db):
    url, model, _ = smollm_db
    settings = {"prompt": "Tell me a story about a robot.", "max_tokens": 10, "temperature": 0.9, "top_k": 40}
    one = generate(url, **settings, ModelIds=f"{model}", seed=7)
    again = generate(url, **settings, ModelIds=f"{model}", seed=7)
    assert stream(url, one[0])[1] == stream(url, again[0])[1] and one[2] > 0
    # an ensemble of a model with itself averages identical log-probabilities: the same greedy tokens
    alone = generate(url, prompt="Name a fruit.", max_tokens=6, ModelIds=f"{model}")
    together = generate(url, prompt="Name a fruit.", max_tokens=6, ModelIds=f"[{model}, {model}]")
    assert stream(url, together[0])[1] == stream(url, alone[0])[1]
    assert stream(url, together[0])[3] == [model, model]


def test_generate_text_as_the_seeds_call_it(smollm_db):
    """003: EXEC dbo.sp_GenerateText @prompt = 'Explain quantum entanglement', @max_tokens = 256,
    @temperature = 0.7, @ModelIds = '1,2,3', @top_k = 5; with this store's model id three times over
    (an ensemble of one model) and 16 tokens, to keep the test short."""
    url, model, _ = smollm_db
    with psycopg.connect(url, autocommit=True) as conn:
        stream_id, text, count, _ = conn.execute(
            "SELECT * FROM dbo.sp_GenerateText(prompt => 'Explain quantum entanglement', max_tokens => 16, "
            "temperature => 0.7, ModelIds => %s, top_k => 5)", (f"{model},{model},{model}",)).fetchone()
    assert 1 <= count <= 16 and text.strip()
    assert stream(url, stream_id)[3] == [model, model, model]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"prompt": "   "}, "the prompt is empty"),
    ({"prompt": "hi", "ModelIds": None}, "give ModelIds"),
    ({"prompt": "hi", "ModelIds": "1,x"}, "ModelIds '1,x' is not a list of model ids such as '1,2,3'"),
    ({"prompt": "hi", "ModelIds": "[1.5]"}, "is not a list of model ids"),
    ({"prompt": "hi", "max_tokens": 0}, "max_tokens must be between 1 and 4096"),
    ({"prompt": "hi", "temperature": -1}, "must not be negative"),
    ({"prompt": "hi", "temperature": float("nan")}, "temperature must be finite"),
    ({"prompt": "hi", "temperature": float("inf")}, "temperature must be finite"),
    ({"prompt": "hi", "top_k": -2}, "top_k must be 0 (all tokens) or more"),
    ({"prompt": "hi", "temperature": 0.7, "top_k": 100000}, "top_k 100000 is more than the 49152 tokens"),
    ({"prompt": "hi", "TenantId": 5}, "does not exist for tenant 5"),
    ({"prompt": "hi", "embedding_model": True}, "text generation needs a GGUF model"),
])
def test_bad_requests_get_clear_errors(smollm_db, kwargs, message):
    url, model, minilm = smollm_db
    kwargs = dict(kwargs)
    kwargs.setdefault("ModelIds", str(minilm) if kwargs.pop("embedding_model", False) else str(model))
    requests = query(url, "SELECT count(*) FROM dbo.InferenceRequests")[0][0]
    with pytest.raises(psycopg.Error) as caught:
        generate(url, **kwargs)
    assert message in str(caught.value)
    assert query(url, "SELECT count(*) FROM dbo.InferenceRequests")[0][0] == requests
