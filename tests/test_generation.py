"""Text generation from stored weights, on a real PostgreSQL: SmolLM2-135M-Instruct (Q4_1 GGUF)
ingested, then dbo.sp_GenerateText runs it in the database. Greedy output must equal the reference
(tests/fixtures/smollm2_reference.json: transformers' own GGUF loader and forward pass, greedy; see
make_smollm2_reference.py) and the same numpy forward pass run outside the database on the file."""

from __future__ import annotations

import json
import re
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


def test_generated_tokens_are_charged_and_a_quota_refuses_before_generating(smollm_db):
    """Metering (dbo.sp_ChargeUsage): the tokens generated, in the call's transaction; a call whose
    max_tokens would not fit in what is left of the month's quota is refused before any weight is read."""
    url, model, _ = smollm_db
    tokens_used = ("SELECT coalesce(sum(Units), 0), count(*) FROM dbo.BillingUsageLedger_InMemory "
                   "WHERE TenantId = 0 AND Operation = 'generated_token' AND Source = 'sp_GenerateText'")
    before, items = query(url, tokens_used)[0]
    _, _, count, _ = generate(url, prompt="Name a fruit.", max_tokens=6, ModelIds=str(model))
    assert query(url, tokens_used)[0] == (before + count, items + 1)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("INSERT INTO dbo.BillingRatePlans (PlanName) VALUES ('tokens')")
        conn.execute("INSERT INTO dbo.BillingRates (RatePlanId, Operation, UnitRate, MonthlyQuotaUnits) "
                     "SELECT RatePlanId, 'generated_token', 0.01, %s FROM dbo.BillingRatePlans WHERE PlanName = 'tokens'",
                     (before + count + 5,))
        conn.execute("INSERT INTO dbo.BillingAccounts (TenantId, RatePlanId) "
                     "SELECT 0, RatePlanId FROM dbo.BillingRatePlans WHERE PlanName = 'tokens'")
    try:
        requests = query(url, "SELECT count(*) FROM dbo.InferenceRequests")[0][0]
        with pytest.raises(psycopg.Error) as caught:
            generate(url, prompt="Name a fruit.", max_tokens=6, ModelIds=str(model))
        assert caught.value.sqlstate == "53400"
        assert str(caught.value).startswith("sp_GenerateText: tenant 0 has 5 of its monthly quota of "
                                            f"{before + count + 5} generated_token units left; this call needs 6")
        assert query(url, "SELECT count(*) FROM dbo.InferenceRequests")[0][0] == requests
        _, _, fitted, _ = generate(url, prompt="Name a fruit.", max_tokens=5, ModelIds=str(model))
        assert query(url, tokens_used)[0] == (before + count + fitted, items + 2)
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("DELETE FROM dbo.BillingAccounts WHERE TenantId = 0")


def test_a_tenant_runs_only_the_models_its_policy_allows(smollm_db):
    """dbo.TenantSecurityPolicy.AllowedModelIds: a stored model missing from it is refused (42501)
    by every procedure that runs one, before any work; the packaged all-MiniLM-L6-v2 always runs."""
    url, model, minilm = smollm_db
    refused = "tenant 0 may not use model {} (dbo.TenantSecurityPolicy)"
    calls = {
        "sp_GenerateText": ("SELECT * FROM dbo.sp_GenerateText('Name a fruit.', 4, ModelIds => %s)", str(model), model),
        "sp_GenerateEmbedding": ("CALL dbo.sp_GenerateEmbedding('a pear', %s)", minilm, minilm),
        "sp_IngestAtom": ("CALL dbo.sp_IngestAtom('a plum', 'text/plain', GenerateEmbedding => 1, ModelId => %s)",
                          minilm, minilm),
        "sp_IngestAtoms": ("SELECT * FROM dbo.sp_IngestAtoms('[{\"content\": \"YSBmaWc=\", \"contentType\": \"text/plain\"}]', "
                           "GenerateEmbedding => true, ModelId => %s)", minilm, minilm),
    }
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("INSERT INTO dbo.TenantSecurityPolicy (TenantId, AllowedModelIds) VALUES (0, '[]')")
        try:
            atoms = conn.execute("SELECT count(*) FROM dbo.Atoms").fetchone()[0]
            for caller, (statement, argument, denied) in calls.items():
                with pytest.raises(psycopg.Error) as caught:
                    conn.execute(statement, (argument,))
                assert caught.value.sqlstate == "42501", caller
                assert str(caught.value).startswith(f"{caller}: " + refused.format(denied)), caller
            assert conn.execute("SELECT count(*) FROM dbo.Atoms").fetchone()[0] == atoms
            # the packaged model needs no permission
            assert conn.execute("CALL dbo.sp_GenerateEmbedding('a pear')").fetchone()[0] is not None
            # allowing the embedding model lets its calls through, the generator stays refused
            conn.execute("UPDATE dbo.TenantSecurityPolicy SET AllowedModelIds = %s::jsonb WHERE TenantId = 0",
                         (f"[{minilm}]",))
            assert conn.execute(calls["sp_GenerateEmbedding"][0], (minilm,)).fetchone()[0] is not None
            with pytest.raises(psycopg.Error, match=re.escape(refused.format(model))):
                conn.execute(calls["sp_GenerateText"][0], (str(model),))
            with pytest.raises(psycopg.errors.CheckViolation):
                conn.execute("UPDATE dbo.TenantSecurityPolicy SET AllowedModelIds = '{\"a\": 1}' WHERE TenantId = 0")
        finally:
            conn.execute("DELETE FROM dbo.TenantSecurityPolicy WHERE TenantId = 0")
