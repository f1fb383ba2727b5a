"""Reasoning on a real PostgreSQL (seed 003's Reasoning and Attention schemas): self-consistency, chain
of thought and multi-path reasoning through dbo.sp_GenerateText with SmolLM2-135M-Instruct stored in
the database, and the attention log every generation writes. Each test checks the recorded values
against what they were computed from (the recorded samples, steps and generation rows), reruns with
the same seed, the runbook's metrics query, bad arguments and tenant isolation. Token counts stay
tiny: generation is numpy on two cores."""

from __future__ import annotations

import json
import math
import uuid

import psycopg
import pytest

from conftest import publish_with_logins, query, smollm_path
from hartonomous_ext import generation, reasoning
import hartonomous_ext.model_formats as formats

QUESTION = "What is 2 + 2? Answer with one number."
TABLES = ("reasoning.SelfConsistencyResults", "reasoning.ReasoningChains", "reasoning.MultiPathReasoning",
          "attention.AttentionGenerationLog", "dbo.GenerationStreams", "dbo.InferenceRequests", "dbo.BillingUsagePeriods")


@pytest.fixture(scope="module")
def model_db(published):
    from deployer import cli

    assert cli.main(["ingest-model", "--target", published, str(smollm_path()), "--name", "SmolLM2-135M-Instruct"]) == 0
    model = query(published, "SELECT ModelId FROM dbo.Models WHERE ModelFormat = 'gguf'")[0][0]
    return published, model


def call(url, procedure, **named):
    names = ", ".join(f"{k} => %({k})s" for k in named)
    with psycopg.connect(url, autocommit=True) as conn:
        cursor = conn.execute(f"SELECT * FROM dbo.{procedure}({names})", named)
        return dict(zip([d.name for d in cursor.description], cursor.fetchone()))


def streams(url, ids):
    rows = query(url, "SELECT StreamId, GeneratedText, Seed, Temperature, GeneratedTokens FROM dbo.GenerationStreams "
                      "WHERE StreamId = ANY(%s)", (ids,))
    return {r[0]: r[1:] for r in rows}


def counts(url):
    return {t: query(url, f"SELECT count(*) FROM {t}")[0][0] for t in TABLES}


def self_consistency(url, model, **settings):
    named = {"Prompt": QUESTION, "NumSamples": 4, "Temperature": 0.9, "MaxTokens": 6, "ModelIds": str(model), "Seed": 11}
    return call(url, "sp_SelfConsistencyReasoning", **{**named, **settings})


def test_self_consistency_records_the_vote_of_its_recorded_samples(model_db):
    url, model = model_db
    problem = str(uuid.uuid4())
    result = self_consistency(url, model, ProblemId=problem)
    (row,) = query(url, "SELECT ProblemId::text, NumSamples, Temperature, Seed, ConsensusAnswer, ConsensusVotes, AgreementRatio, "
                        "DistinctAnswers, SampleData, ModelIds FROM dbo.SelfConsistencyResults WHERE ResultId = %s",
                   (result["resultid"],))
    problem_id, samples, temperature, seed, consensus, votes, agreement, distinct, data, models = row
    assert (problem_id, samples, temperature, seed, models) == (problem, 4, 0.9, 11, [model])
    assert str(result["problemkey"]) == problem
    # every sample is a generation of its own, seeded Seed + i, and its text is the stream's
    generated = streams(url, [s["stream_id"] for s in data])
    assert [s["sample"] for s in data] == [0, 1, 2, 3] and len(generated) == 4
    for s in data:
        text, stream_seed, stream_temperature, _ = generated[s["stream_id"]]
        assert (s["text"], s["seed"], stream_seed, stream_temperature) == (text, 11 + s["sample"], 11 + s["sample"], 0.9)
        assert s["answer"] == reasoning.extract_answer(text)
    # the vote is the recorded answers' vote: the agreement ratio is the winner's share of the samples
    answers = [s["answer"] for s in data if s["answer"]]
    assert answers, data
    top = max(answers.count(a) for a in answers)
    assert consensus == next(a for a in answers if answers.count(a) == top)
    assert (votes, distinct) == (top, len(set(answers)))
    assert agreement == pytest.approx(top / 4)
    assert (result["consensusanswer"], result["consensusvotes"], result["agreementratio"]) == (consensus, votes, agreement)


def test_temperature_zero_agrees_fully_and_a_rerun_with_the_seed_reproduces(model_db):
    url, model = model_db
    greedy = self_consistency(url, model, Temperature=0, NumSamples=3)
    assert (greedy["agreementratio"], greedy["consensusvotes"]) == (1.0, 3) and greedy["consensusanswer"]
    first, again = self_consistency(url, model, Seed=5), self_consistency(url, model, Seed=5)
    texts = [[s["text"] for s in query(url, "SELECT SampleData FROM reasoning.SelfConsistencyResults WHERE ResultId = %s",
                                          (r["resultid"],))[0][0]] for r in (first, again)]
    assert texts[0] == texts[1] and first["resultid"] != again["resultid"]
    assert (first["consensusanswer"], first["agreementratio"]) == (again["consensusanswer"], again["agreementratio"])
    assert len(set(texts[0])) > 1  # sampled at 0.9 with a seed per sample: the samples differ


def test_chain_of_thought_records_its_steps_and_their_computed_coherence(model_db):
    url, model = model_db
    named = {"InitialPrompt": "Why does ice float on water?", "MaxSteps": 3, "Temperature": 0.7, "MaxTokens": 8,
             "ModelIds": str(model), "Seed": 3}
    result = call(url, "sp_ChainOfThoughtReasoning", **named)
    (row,) = query(url, "SELECT TotalSteps, FinalStep, CoherenceScore, StepCoherence, ChainData, MaxSteps "
                        "FROM dbo.ReasoningChains WHERE ChainId = %s", (result["chainid"],))
    total, final, coherence, pairs, data, max_steps = row
    assert max_steps == 3 and 2 <= total <= 3 and [s["step"] for s in data] == list(range(1, total + 1))
    generated = streams(url, [s["stream_id"] for s in data])
    assert [generated[s["stream_id"]][0] for s in data] == [s["text"] for s in data] and final == data[-1]["text"]
    # each step was asked after the steps before it
    for i, s in enumerate(data):
        prompt = query(url, "SELECT Prompt FROM dbo.GenerationStreams WHERE StreamId = %s", (s["stream_id"],))[0][0]
        assert prompt == reasoning.step_prompt("Why does ice float on water?", [d["text"] for d in data[:i]])
    # the coherence is the embeddings' of the recorded steps, in [0, 1]
    expected, expected_pairs = reasoning.coherence(reasoning.embed_steps([s["text"] for s in data]))
    assert 0 <= coherence <= 1 and coherence == pytest.approx(expected, abs=1e-5)
    assert pairs == pytest.approx(expected_pairs, abs=1e-5) and len(pairs) == total - 1
    assert (result["totalsteps"], result["coherencescore"]) == (total, coherence)
    again = call(url, "sp_ChainOfThoughtReasoning", **named)
    rerun = query(url, "SELECT ChainData FROM reasoning.ReasoningChains WHERE ChainId = %s", (again["chainid"],))[0][0]
    assert [(s["text"], s["seed"]) for s in rerun] == [(s["text"], s["seed"]) for s in data]
    assert again["coherencescore"] == pytest.approx(coherence)


def test_coherence_is_lower_for_unrelated_steps():
    related = ["Ice is frozen water.", "Frozen water is less dense than liquid water.", "So ice floats on water."]
    unrelated = ["Ice is frozen water.", "The stock market closed higher on Friday.", "Tomatoes need full sun."]
    high = reasoning.chain_record([{"seed": None, "stream_id": i, "text": t} for i, t in enumerate(related)])
    low = reasoning.chain_record([{"seed": None, "stream_id": i, "text": t} for i, t in enumerate(unrelated)])
    assert 0 <= low["coherence"] < high["coherence"] <= 1
    assert reasoning.chain_record([{"seed": None, "stream_id": 1, "text": "One step."}])["coherence"] is None


def test_multi_path_scores_paths_by_their_tokens_log_probabilities(model_db):
    url, model = model_db
    result = call(url, "sp_MultiPathReasoning", BasePrompt="Name a colour of the sky.", NumPaths=3, MaxDepth=2,
                  Temperature=0.9, MaxTokens=4, ModelIds=str(model), Seed=21)
    (row,) = query(url, "SELECT NumPaths, MaxDepth, BestPathIndex, BestScore, BestAnswer, PathAgreement, ReasoningTree "
                        "FROM dbo.MultiPathReasoning WHERE ReasoningId = %s", (result["reasoningid"],))
    paths, depth, best, best_score, best_answer, agreement, tree = row
    assert (paths, depth, len(tree)) == (3, 2, 3)
    scores = []
    for p, path in enumerate(tree):
        assert [s["seed"] for s in path["steps"]] == [21 + p * 2 + d for d in range(len(path["steps"]))]
        # a path's score: the mean log-probability of all its tokens, from each generation's attention log row
        logged = [query(url, "SELECT MeanTokenLogProb, GeneratedTokens FROM attention.AttentionGenerationLog "
                             "WHERE StreamId = %s", (s["stream_id"],))[0] for s in path["steps"]]
        tokens = sum(n for _, n in logged)
        expected = sum(m * n for m, n in logged) / tokens
        assert path["score"] == pytest.approx(expected) and expected < 0
        scores.append(path["score"])
    assert best == max(range(3), key=lambda i: (scores[i], -i)) and best_score == pytest.approx(scores[best])
    assert best_answer == (tree[best]["answer"] or None)
    assert agreement == pytest.approx(sum(t["answer"] == tree[best]["answer"] for t in tree) / 3)
    assert (result["bestpathindex"], result["bestanswer"]) == (best, best_answer)


def test_every_generation_logs_what_its_attention_did(model_db):
    url, model = model_db
    prompt = "Name a fruit."
    with psycopg.connect(url, autocommit=True) as conn:
        stream, _, count, request = conn.execute("SELECT * FROM dbo.sp_GenerateText(%s, max_tokens => 5, ModelIds => %s)",
                                                 (prompt, str(model))).fetchone()
    (row,) = query(url, "SELECT RequestId, ModelId, LayerCount, PromptTokens, GeneratedTokens, Steps, LayerEntropy, "
                        "MeanEntropy, TopPromptTokens, MeanTokenLogProb FROM attention.AttentionGenerationLog "
                        "WHERE StreamId = %s", (stream,))
    # the same forward pass outside the database watches the same attention
    outside = generation.attention_record(
        generation.generate([generation.load(formats.read(smollm_path()))], prompt, 5))
    assert row[:6] == (request, model, outside["layer_count"], outside["prompt_tokens"], count, outside["steps"])
    assert row[6] == pytest.approx(outside["layer_entropy"], abs=1e-5) and all(0 <= e <= 1 for e in row[6])
    assert row[7] == pytest.approx(outside["mean_entropy"], abs=1e-5)
    assert [t[:2] for t in row[8]] == [t[:2] for t in outside["top_prompt_tokens"]] and len(row[8]) == 5
    assert row[9] == pytest.approx(outside["mean_token_logprob"], abs=1e-6) and row[9] < 0


def test_the_runbook_reasoning_metrics_read_the_runs(model_db):
    """001 "Reasoning Framework Success" in PostgreSQL's date dialect: the averages of what the runs recorded."""
    url, model = model_db
    self_consistency(url, model, NumSamples=2, MaxTokens=4)
    metrics = dict(query(url, """
SELECT
    'Chain of Thought' AS Framework,
    AVG(CoherenceScore) AS AvgScore
FROM dbo.ReasoningChains
WHERE CreatedAt >= now() - interval '24 hours'
UNION ALL
SELECT
    'Tree of Thought',
    AVG(CAST(NumPaths AS FLOAT))
FROM dbo.MultiPathReasoning
WHERE CreatedAt >= now() - interval '24 hours'
UNION ALL
SELECT
    'Reflexion',
    AVG(AgreementRatio)
FROM dbo.SelfConsistencyResults
WHERE CreatedAt >= now() - interval '24 hours';"""))
    agreement = query(url, "SELECT avg(AgreementRatio) FROM reasoning.SelfConsistencyResults")[0][0]
    assert metrics["Reflexion"] == pytest.approx(agreement) and 0 <= agreement <= 1
    assert set(metrics) == {"Chain of Thought", "Tree of Thought", "Reflexion"}


BAD = [
    ("sp_SelfConsistencyReasoning", {"Prompt": QUESTION, "NumSamples": 0}, "NumSamples must be between 1 and 32"),
    ("sp_SelfConsistencyReasoning", {"Prompt": QUESTION, "NumSamples": 100000}, "NumSamples must be between 1 and 32"),
    ("sp_SelfConsistencyReasoning", {"Prompt": None}, "the prompt is empty"),
    ("sp_SelfConsistencyReasoning", {"Prompt": "  "}, "the prompt is empty"),
    ("sp_SelfConsistencyReasoning", {"Prompt": QUESTION, "Temperature": -0.5}, "Temperature must be finite and must not be negative"),
    ("sp_SelfConsistencyReasoning", {"Prompt": QUESTION, "Temperature": math.nan}, "Temperature must be finite"),
    ("sp_SelfConsistencyReasoning", {"Prompt": QUESTION, "MaxTokens": 0}, "MaxTokens must be between 1 and 4096"),
    ("sp_SelfConsistencyReasoning", {"Prompt": QUESTION, "Seed": -1}, "Seed must be between 0 and"),
    ("sp_SelfConsistencyReasoning", {"Prompt": QUESTION, "ModelIds": "999999"}, "1 of the ModelIds do not exist for tenant 0"),
    ("sp_SelfConsistencyReasoning", {"Prompt": QUESTION, "ModelIds": "one"}, "is not a list of model ids"),
    ("sp_ChainOfThoughtReasoning", {"InitialPrompt": "Why?", "MaxSteps": 17}, "MaxSteps must be between 1 and 16"),
    ("sp_ChainOfThoughtReasoning", {"InitialPrompt": None}, "the prompt is empty"),
    ("sp_MultiPathReasoning", {"BasePrompt": "Why?", "MaxDepth": 0}, "MaxDepth must be between 1 and 16"),
    ("sp_MultiPathReasoning", {"BasePrompt": "Why?", "NumPaths": -3}, "NumPaths must be between 1 and 32"),
]


@pytest.mark.parametrize("procedure, named, message", BAD, ids=[f"{p}-{m[:24]}" for p, _, m in BAD])
def test_bad_arguments_are_refused_and_write_nothing(model_db, procedure, named, message):
    url, model = model_db
    named = {"ModelIds": str(model), "MaxTokens": 4, **named}
    before = counts(url)
    with pytest.raises(psycopg.Error) as caught:
        call(url, procedure, **named)
    assert str(caught.value).startswith(f"{procedure}: ") and message in str(caught.value)
    assert caught.value.sqlstate == "22023"
    assert counts(url) == before


def test_a_run_that_fails_midway_leaves_nothing(model_db):
    """A quota too small for the run's tokens refuses it before it generates; its samples are never charged."""
    url, model = model_db
    before = counts(url)
    with psycopg.connect(url, autocommit=True) as conn:
        plan = conn.execute("INSERT INTO dbo.BillingRatePlans (PlanName, Currency) VALUES ('reasoning-tight', 'EUR') "
                            "RETURNING RatePlanId").fetchone()[0]
        conn.execute("INSERT INTO dbo.BillingRates (RatePlanId, Operation, UnitRate, MonthlyQuotaUnits) "
                     "VALUES (%s, 'generated_token', 0.001, 10)", (plan,))
        conn.execute("INSERT INTO dbo.BillingAccounts (TenantId, RatePlanId) VALUES (0, %s)", (plan,))
        try:
            with pytest.raises(psycopg.Error) as caught:
                self_consistency(url, model, NumSamples=3, MaxTokens=4)
        finally:
            conn.execute("DELETE FROM dbo.BillingAccounts WHERE TenantId = 0 AND RatePlanId = %s", (plan,))
    assert "sp_SelfConsistencyReasoning" in str(caught.value) and caught.value.sqlstate == "53400"
    assert "needs 12" in str(caught.value)
    assert counts(url) == before


LOGINS = {"alice": ("app", [1]), "bob": ("app", [2]), "rita": ("reader", [1]), "rob": ("reader", [2])}


@pytest.fixture(scope="module")
def tenancy(pg_instance, tmp_path_factory):
    from deployer import cli

    setup = publish_with_logins(pg_instance, tmp_path_factory.mktemp("logs"), "reasoning", LOGINS)
    assert cli.main(["ingest-model", "--target", setup["url"], str(smollm_path()), "--tenant", "1"]) == 0
    setup["model"] = query(setup["url"], "SELECT ModelId FROM dbo.Models WHERE TenantId = 1")[0][0]
    return setup


def test_a_tenant_reasons_with_its_own_models_and_reads_only_its_own_runs(tenancy, open_login):
    url, model = tenancy["url"], tenancy["model"]
    alice, bob, rita, rob = (open_login(url, tenancy["logins"][n]) for n in ("alice", "bob", "rita", "rob"))
    (run,) = alice.rows("SELECT ResultId, AgreementRatio FROM dbo.sp_SelfConsistencyReasoning(Prompt => %s, "
                        "NumSamples => 2, Temperature => 0, MaxTokens => 3, ModelIds => %s)", QUESTION, str(model))
    assert run[1] == 1.0
    # the application role reads no table; the reader of tenant 1 sees the run, through the runbook's name too
    assert alice.error("SELECT * FROM dbo.SelfConsistencyResults").sqlstate == "42501"
    assert rita.rows("SELECT ResultId, TenantId FROM dbo.SelfConsistencyResults") == [(run[0], 1)]
    assert rita.rows("SELECT ResultId FROM reasoning.SelfConsistencyResults") == [(run[0],)]
    assert {r[0] for r in rita.rows("SELECT TenantId FROM attention.AttentionGenerationLog")} == {1}
    assert rob.rows("SELECT ResultId FROM dbo.SelfConsistencyResults") == []
    assert rob.rows("SELECT count(*) FROM attention.AttentionGenerationLog") == [(0,)]
    # tenant 2 neither uses tenant 1's model nor works in tenant 1
    assert "1 of the ModelIds do not exist for tenant 2" in str(
        bob.error("SELECT * FROM dbo.sp_SelfConsistencyReasoning(Prompt => 'Hi', ModelIds => %s)", str(model)))
    assert "sp_ChainOfThoughtReasoning: tenant 1 is not this session's tenant" in str(
        bob.error("SELECT * FROM dbo.sp_ChainOfThoughtReasoning(InitialPrompt => 'Hi', ModelIds => %s, TenantId => 1)",
                  str(model)))
    with psycopg.connect(url) as admin:
        assert admin.execute("SELECT TenantId, count(*) FROM reasoning.SelfConsistencyResults GROUP BY TenantId").fetchall() == [(1, 1)]


@pytest.mark.parametrize(("text", "answer"), [
    ("The answer is 4.", "4"), ("2 + 2 = 4", "4"), ("Answer: Paris!", "paris"), ("**4**", "4"),
    ("The final answer is 1,000.0 apples", "1000"), ("1. The capital is Paris", "capital is paris"),
    ("Four.\nBecause two and two make four.", "four"), ("", ""), ("   \n", ""), ("4.50", "4.5"), ("-0.0", "0"),
])
def test_answers_are_normalised_so_that_equal_answers_vote_together(text, answer):
    assert reasoning.extract_answer(text) == answer


def test_the_vote_counts_every_sample_and_breaks_ties_by_the_first_sampled():
    voted = reasoning.vote(["5", "The answer is 4", "4.0", "five", "5", ""])
    assert (voted["consensus"], voted["votes"], voted["distinct"]) == ("5", 2, 3)  # 5 and 4 tie: 5 came first
    assert voted["agreement"] == pytest.approx(2 / 6)  # the empty sample counts, agreeing with none
    assert reasoning.vote(["", " "]) == {"answers": ["", ""], "consensus": None, "votes": 0, "agreement": 0.0,
                                         "distinct": 0}
    assert reasoning.best_path([-1.5, None, -0.5, -0.5]) == 2 and reasoning.best_path([None]) is None
    assert reasoning.path_score([(-1.0, 2), (-4.0, 1), (None, 0)]) == pytest.approx(-2.0)
