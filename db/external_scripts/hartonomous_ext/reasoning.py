"""Reasoning over several generations: self-consistency, chain of thought, multi-path (seed 003's
Reasoning schema; dbo.sp_SelfConsistencyReasoning, sp_ChainOfThoughtReasoning, sp_MultiPathReasoning).

The procedures generate through dbo.sp_GenerateText (metered, recorded in dbo.GenerationStreams);
this module is their policy, one implementation for both engines:

- the arguments they accept (check_arguments) and each sample's seed (sample_seed: seed + its
  index, so a rerun with the same seed reproduces every sample, and samples differ from each other);
- the prompt of a reasoning step after the steps so far (step_prompt, policy.REASONING_STEP_PROMPT);
- an answer as the vote compares it (extract_answer: the text after "answer is"/"answer:", else the
  first line; its last number when it has one, canonical (4.0 -> 4, 1,000 -> 1000), else its words
  lower-cased without punctuation or a leading article);
- the vote (vote: the most frequent non-empty answer, ties to the one sampled first; the agreement
  ratio is its votes over all samples, an empty answer counting as a sample that agrees with none);
- a chain's coherence (coherence: the mean cosine similarity of consecutive steps' sentence
  embeddings, each clipped at 0, so in [0, 1]; None for fewer than two steps);
- a path's score (path_score: the mean log-probability of its generated tokens, what the model
  believed of its own path, from each generation's row in Attention.AttentionGenerationLog; a path
  with no token has none) and the best path (best_path).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from decimal import Decimal, InvalidOperation

from hartonomous_ext.policy import (REASONING_ANSWER_CHARS, REASONING_MAX_SAMPLES, REASONING_MAX_STEPS,
                                    REASONING_STEP_PROMPT)

MAX_SEED = 2**63 - 1 - REASONING_MAX_SAMPLES * REASONING_MAX_STEPS  # seed + index stays a BIGINT

_ANSWER = re.compile(r"\b(?:final\s+answer|answer)\s*(?:is|:|=)\s*(.+)", re.IGNORECASE | re.DOTALL)
_LIST_MARK = re.compile(r"^\s*(?:step\s*)?\d+\s*[.):]\s+", re.IGNORECASE)
_NUMBER = re.compile(r"[-+]?\d[\d,]*(?:\.\d+)?")
_ARTICLE = re.compile(r"^(?:the|a|an)\s+")


class ReasoningError(ValueError):
    """Arguments a reasoning procedure refuses, before it generates anything."""


# the counts each procedure takes, and their bounds
COUNT_LIMITS = {"NumSamples": REASONING_MAX_SAMPLES, "NumPaths": REASONING_MAX_SAMPLES,
                "MaxSteps": REASONING_MAX_STEPS, "MaxDepth": REASONING_MAX_STEPS}


def check_arguments(procedure: str, prompt: str | None, counts: dict[str, int | None], temperature: float | None,
                    max_tokens: int | None, seed: int | None) -> None:
    """What the three procedures refuse, before they generate anything, with the message both engines
    give (SQL Server's glue repeats these checks in T-SQL, in this order)."""
    if prompt is None or not str(prompt).strip():
        raise ReasoningError(f"{procedure}: the prompt is empty")
    for name, value in counts.items():
        if value is None or not 1 <= value <= COUNT_LIMITS[name]:
            raise ReasoningError(f"{procedure}: {name} must be between 1 and {COUNT_LIMITS[name]}")
    if temperature is None or not math.isfinite(temperature) or temperature < 0:
        raise ReasoningError(f"{procedure}: Temperature must be finite and must not be negative")
    if max_tokens is None or not 1 <= max_tokens <= 4096:
        raise ReasoningError(f"{procedure}: MaxTokens must be between 1 and 4096")
    if seed is not None and not 0 <= seed <= MAX_SEED:
        raise ReasoningError(f"{procedure}: Seed must be between 0 and {MAX_SEED}")


def sample_seed(seed: int | None, index: int) -> int | None:
    """The seed of sample (or step) `index`: reproducible from the call's seed, different per sample."""
    return None if seed is None else seed + index


def step_prompt(problem: str, steps: list[str]) -> str:
    """The prompt that asks for step len(steps) + 1 after the steps so far."""
    done = "\n".join(f"{i}. {text}" for i, text in enumerate(steps, 1)) or "(none)"
    return (REASONING_STEP_PROMPT.replace("{problem}", problem).replace("{steps}", done)
            .replace("{number}", str(len(steps) + 1)))


def _canonical_number(text: str) -> str | None:
    try:
        value = Decimal(text.replace(",", ""))
    except InvalidOperation:
        return None
    if not value.is_finite():
        return None
    value = value.normalize()
    return format(value, "f") if value != 0 else "0"


def extract_answer(text: str | None) -> str:
    """The answer a generated text gives, normalised so that equal answers compare equal ('' when none)."""
    text = unicodedata.normalize("NFKC", text or "").strip()
    found = _ANSWER.search(text)
    candidate = found.group(1) if found else text
    candidate = next((line for line in candidate.splitlines() if line.strip()), "")
    candidate = _LIST_MARK.sub("", candidate).strip()
    numbers = _NUMBER.findall(candidate)
    if numbers:
        number = _canonical_number(numbers[-1])
        if number is not None:
            return number
    words = "".join(c if c.isalnum() else " " for c in candidate.casefold())
    words = _ARTICLE.sub("", " ".join(words.split()))
    return words[:REASONING_ANSWER_CHARS].strip()


def vote(texts: list[str]) -> dict:
    """Self-consistency over the samples' texts: each one's answer, the consensus and its share."""
    answers = [extract_answer(t) for t in texts]
    counts = Counter(a for a in answers if a)
    if not counts:
        return {"answers": answers, "consensus": None, "votes": 0, "agreement": 0.0, "distinct": 0}
    first = {a: answers.index(a) for a in counts}
    consensus = min(counts, key=lambda a: (-counts[a], first[a]))
    return {"answers": answers, "consensus": consensus, "votes": counts[consensus],
            "agreement": counts[consensus] / len(texts), "distinct": len(counts)}


def coherence(vectors) -> tuple[float | None, list[float]]:
    """(the chain's coherence, each consecutive pair's similarity) from its steps' embeddings (rows,
    any length: they are normalised here)."""
    import numpy as np

    v = np.asarray(vectors, dtype=np.float64)
    if v.ndim != 2 or len(v) < 2:
        return None, []
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    v = v / np.where(norms > 0, norms, 1.0)
    pairs = [float(min(1.0, max(0.0, np.dot(v[i], v[i + 1])))) for i in range(len(v) - 1)]
    return float(sum(pairs) / len(pairs)), pairs


def path_score(steps: list[tuple[float | None, int]]) -> float | None:
    """The mean log-probability of every token a path generated, from each step's (mean token
    log-probability, tokens) as Attention.AttentionGenerationLog records them."""
    tokens = sum(n for mean, n in steps if mean is not None and n)
    if not tokens:
        return None
    return float(sum(mean * n for mean, n in steps if mean is not None and n) / tokens)


def best_path(scores: list[float | None]) -> int | None:
    """The index of the best-scored path (the first of equals); None when no path has a score."""
    scored = [(s, i) for i, s in enumerate(scores) if s is not None]
    return min(scored, key=lambda p: (-p[0], p[1]))[1] if scored else None


def embed_steps(texts: list[str]):
    """The steps' sentence embeddings by the packaged all-MiniLM-L6-v2 (hartonomous_ext.embeddings)."""
    from hartonomous_ext import embeddings

    return embeddings.embed([t if t.strip() else "(empty)" for t in texts])


def self_consistency_record(samples: list[dict]) -> dict:
    """The row of Reasoning.SelfConsistencyResults from the samples, in order ({"seed", "stream_id", "text"})."""
    voted = vote([s["text"] for s in samples])
    data = [{"sample": i, "seed": s["seed"], "stream_id": s["stream_id"], "text": s["text"], "answer": a}
            for i, (s, a) in enumerate(zip(samples, voted["answers"]))]
    return {"consensus": voted["consensus"], "votes": voted["votes"], "agreement": voted["agreement"],
            "distinct": voted["distinct"], "samples": data}


def chain_record(steps: list[dict], vectors=None) -> dict:
    """The row of Reasoning.ReasoningChains from the steps, in order ({"seed", "stream_id", "text"}):
    their embeddings (computed here unless given) make the coherence."""
    texts = [s["text"] for s in steps]
    if vectors is None and len(texts) >= 2:
        vectors = embed_steps(texts)
    score, pairs = coherence(vectors) if len(texts) >= 2 else (None, [])
    return {"steps": [{"step": i + 1, "seed": s["seed"], "stream_id": s["stream_id"], "text": s["text"]}
                      for i, s in enumerate(steps)],
            "total_steps": len(steps), "final_step": texts[-1] if texts else None,
            "coherence": score, "step_coherence": pairs}


def multipath_record(paths: list[list[dict]]) -> dict:
    """The row of Reasoning.MultiPathReasoning from the paths' steps ({"seed", "stream_id", "text",
    "tokens", "mean_logprob"}): each path's score and answer, the best path and how many paths agree with it."""
    tree = []
    for p, steps in enumerate(paths):
        score = path_score([(s["mean_logprob"], s["tokens"]) for s in steps])
        answer = extract_answer(steps[-1]["text"]) if steps else ""
        tree.append({"path": p, "score": score, "answer": answer,
                     "steps": [{"step": d + 1, **s} for d, s in enumerate(steps)]})
    best = best_path([t["score"] for t in tree])
    answer = tree[best]["answer"] if best is not None else None
    agreement = (sum(1 for t in tree if t["answer"] == answer) / len(tree)) if answer else None
    return {"tree": tree, "best": best, "best_score": tree[best]["score"] if best is not None else None,
            "best_answer": answer or None, "agreement": agreement}
