"""Text generation with a Llama-architecture model (SmolLM2) from its GGUF tensors, in numpy.

The weights come from a ModelFile (a GGUF file, or the same tensors stored in the database:
hartonomous_ext.model_store); quantized blocks are dequantized to float32 once, when the model is
loaded. The forward pass is llama.cpp's for LLM_ARCH_LLAMA: RMSNorm, attention with grouped
key/value heads and rotary positions over adjacent pairs (GGUF's q/k weights are permuted for
that form), a SwiGLU feed-forward, the output projection tied to the token embedding when the
file has no output.weight. A key/value cache makes each new token one pass over the weights.

The tokenizer is built from the GGUF vocabulary and merges (byte-level BPE, digits split one by
one: SmolLM2's pre-tokenizer), with its control tokens (<|im_start|>, ...) kept whole. Prompts are
wrapped in the model's ChatML turn format when its chat template uses it.

Several models generate together (an ensemble) by averaging their log-probabilities for the next
token at every step; they must share one vocabulary.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from hartonomous_ext.model_formats import FormatError, ModelFile


@dataclass
class Llama:
    name: str
    layers: list[dict]
    embedding: np.ndarray      # (vocab, hidden)
    output: np.ndarray         # (vocab, hidden); layer projections are (in, out)
    output_norm: np.ndarray
    heads: int
    kv_heads: int
    eps: float
    rope_base: float
    context: int
    tokens: list[str]
    token_types: list[int]
    merges: list[str]
    eos: int
    bos: int | None
    chatml: bool

    @property
    def head_dim(self) -> int:
        return self.embedding.shape[1] // self.heads


def load(model: ModelFile) -> Llama:
    """A Llama from a GGUF ModelFile (its key/values and tensors), weights dequantized to float32."""
    from hartonomous_ext.model_formats.gguf_format import dequantize

    if model.format != "gguf":
        raise FormatError(f"text generation needs a GGUF model; this one is {model.format}")
    kv = {k: v["value"] for k, v in model.config.get("gguf", {}).items()}
    arch = kv.get("general.architecture")
    if arch != "llama":
        raise FormatError(f"text generation runs the llama architecture; this model is {arch!r}")
    tensors = {t.name: t for t in model.tensors}

    def weight(name: str) -> np.ndarray:
        if name not in tensors:
            raise FormatError(f"the model has no tensor {name}")
        t = tensors[name]
        return dequantize(t.read(), t.dtype, t.shape)

    def projection(name: str) -> np.ndarray:
        # kept as (in, out), contiguous: activations @ weight then reads memory in order
        return np.ascontiguousarray(weight(name).T)

    blocks = int(kv["llama.block_count"])
    layers = [{"attn_norm": weight(f"blk.{i}.attn_norm.weight"), "ffn_norm": weight(f"blk.{i}.ffn_norm.weight"),
               **{part: projection(f"blk.{i}.{part}.weight")
                  for part in ("attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down")}}
              for i in range(blocks)]
    embedding = weight("token_embd.weight")
    output = weight("output.weight") if "output.weight" in tensors else embedding
    template = str(kv.get("tokenizer.chat_template", ""))
    return Llama(name=str(kv.get("general.name", "llama")), layers=layers, embedding=embedding, output=output,
                 output_norm=weight("output_norm.weight"), heads=int(kv["llama.attention.head_count"]),
                 kv_heads=int(kv.get("llama.attention.head_count_kv", kv["llama.attention.head_count"])),
                 eps=float(kv.get("llama.attention.layer_norm_rms_epsilon", 1e-5)),
                 rope_base=float(kv.get("llama.rope.freq_base", 10000.0)),
                 context=int(kv.get("llama.context_length", 2048)), tokens=list(kv["tokenizer.ggml.tokens"]),
                 token_types=list(kv.get("tokenizer.ggml.token_type", [])),
                 merges=list(kv.get("tokenizer.ggml.merges", [])), eos=int(kv["tokenizer.ggml.eos_token_id"]),
                 bos=int(kv["tokenizer.ggml.bos_token_id"]) if "tokenizer.ggml.bos_token_id" in kv else None,
                 chatml="<|im_start|>" in template)


def tokenizer(llama: Llama):
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers

    if not llama.merges:
        raise FormatError("the model's vocabulary has no BPE merges: only byte-level BPE vocabularies are supported")
    vocab = {token: i for i, token in enumerate(llama.tokens)}
    merges = [tuple(m.split(" ", 1)) for m in llama.merges]
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, fuse_unk=False, byte_fallback=False))
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True),
                                                 pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])
    tok.decoder = decoders.ByteLevel()
    control = [llama.tokens[i] for i, kind in enumerate(llama.token_types) if kind == 3]
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in control])
    return tok


def prompt_ids(llama: Llama, tok, prompt: str) -> list[int]:
    text = f"<|im_start|>user\n{prompt}<|im_end|>\n<|im_start|>assistant\n" if llama.chatml else prompt
    return tok.encode(text, add_special_tokens=False).ids


def _rms(x: np.ndarray, weight: np.ndarray, eps: float) -> np.ndarray:
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * weight


def _rope(x: np.ndarray, positions: np.ndarray, base: float) -> np.ndarray:
    """Rotary positions over adjacent pairs (x0, x1), (x2, x3), ...: x has shape (tokens, heads, dim)."""
    dim = x.shape[-1]
    freqs = base ** (-np.arange(0, dim, 2, dtype=np.float64) / dim)
    angles = positions[:, None].astype(np.float64) * freqs[None, :]
    cos, sin = np.cos(angles)[:, None, :].astype(np.float32), np.sin(angles)[:, None, :].astype(np.float32)
    even, odd = x[..., 0::2], x[..., 1::2]
    out = np.empty_like(x)
    out[..., 0::2] = even * cos - odd * sin
    out[..., 1::2] = even * sin + odd * cos
    return out


class AttentionWatch:
    """What attention did while a generation chose its tokens, kept cheaply: for the query row that
    predicts each next token (the prompt's last position, then each generated token), per layer the
    entropy of its attention over the positions before it, as a share of the most it could be
    (log of their number: 0 all on one position, 1 spread evenly; averaged over heads and steps),
    and the attention the prompt's positions received (summed over heads and layers)."""

    def __init__(self, layers: int, prompt_length: int):
        self.entropy = np.zeros(layers)
        self.observed = np.zeros(layers)
        self.prompt = np.zeros(prompt_length)
        self.steps = 0

    def observe(self, layer: int, weights: np.ndarray) -> None:
        """weights: (heads, positions) of the last query row, each row summing to 1."""
        positions = weights.shape[-1]
        if positions > 1:
            w = weights.astype(np.float64)
            entropy = -(w * np.log(np.where(w > 0, w, 1.0))).sum(axis=-1) / math.log(positions)
            self.entropy[layer] += float(entropy.mean())
            self.observed[layer] += 1
        self.prompt += weights[:, :len(self.prompt)].sum(axis=0)

    def summary(self, tokens: list[str], prompt_ids: list[int], top: int) -> dict:
        layer_entropy = [round(float(e / c), 6) if c else None for e, c in zip(self.entropy, self.observed)]
        share = self.prompt / self.prompt.sum() if self.prompt.sum() > 0 else self.prompt
        order = sorted(range(len(share)), key=lambda p: (-share[p], p))[:top]
        return {"layer_entropy": layer_entropy,
                "top_prompt_tokens": [[p, tokens[prompt_ids[p]], round(float(share[p]), 6)] for p in order],
                "steps": self.steps}


class Session:
    """One generation: the key/value cache of every layer, fed token by token (or a prompt at once)."""

    def __init__(self, llama: Llama, watch: AttentionWatch | None = None):
        self.llama = llama
        self.keys = [np.zeros((0, llama.kv_heads, llama.head_dim), np.float32) for _ in llama.layers]
        self.values = [np.zeros((0, llama.kv_heads, llama.head_dim), np.float32) for _ in llama.layers]
        self.position = 0
        self.watch = watch

    def forward(self, ids: list[int]) -> np.ndarray:
        """Log-probabilities of the next token after `ids` (appended to what came before)."""
        m = self.llama
        if self.position + len(ids) > m.context:
            raise FormatError(f"the context of {m.context} tokens is full")
        n = len(ids)
        positions = np.arange(self.position, self.position + n)
        x = m.embedding[np.asarray(ids)]
        group = m.heads // m.kv_heads
        scale = float(1.0 / np.sqrt(m.head_dim))  # a Python float: a numpy float64 would turn the activations float64
        for i, w in enumerate(m.layers):
            h = _rms(x, w["attn_norm"], m.eps)
            q = _rope((h @ w["attn_q"]).reshape(n, m.heads, m.head_dim), positions, m.rope_base)
            k = _rope((h @ w["attn_k"]).reshape(n, m.kv_heads, m.head_dim), positions, m.rope_base)
            v = (h @ w["attn_v"]).reshape(n, m.kv_heads, m.head_dim)
            self.keys[i] = np.concatenate([self.keys[i], k])
            self.values[i] = np.concatenate([self.values[i], v])
            keys = np.repeat(self.keys[i], group, axis=1)      # (total, heads, dim)
            values = np.repeat(self.values[i], group, axis=1)
            scores = np.einsum("qhd,khd->hqk", q, keys) * scale
            total = keys.shape[0]
            causal = positions[:, None] >= np.arange(total)[None, :]
            scores = np.where(causal[None, :, :], scores, -np.inf)
            scores -= scores.max(axis=-1, keepdims=True)
            weights = np.exp(scores)
            weights /= weights.sum(axis=-1, keepdims=True)
            if self.watch is not None:
                self.watch.observe(i, weights[:, -1, :])
            attended = np.einsum("hqk,khd->qhd", weights, values).reshape(n, m.heads * m.head_dim).astype(np.float32)
            x = x + attended @ w["attn_output"]
            h = _rms(x, w["ffn_norm"], m.eps)
            gate = h @ w["ffn_gate"]
            x = x + ((gate / (1.0 + np.exp(-gate))) * (h @ w["ffn_up"])) @ w["ffn_down"]
        self.position += n
        if self.watch is not None:
            self.watch.steps += 1
        logits = (m.output @ _rms(x[-1], m.output_norm, m.eps)).astype(np.float64)
        logits -= logits.max()
        return logits - np.log(np.exp(logits).sum())


def parse_model_ids(text: str | None) -> list[int]:
    """The models to generate with, as the seeds write them ('1,2,3') or as a JSON array ('[1, 2, 3]')."""
    import json

    if text is None or not str(text).strip():
        raise FormatError("give ModelIds, the stored GGUF model(s) to generate with, e.g. '1,2,3'")
    spelled = str(text).strip()
    try:
        values = json.loads(spelled if spelled.startswith("[") else f"[{spelled}]")
    except ValueError:
        raise FormatError(f"ModelIds {spelled[:100]!r} is not a list of model ids such as '1,2,3'") from None
    if not values or not all(isinstance(v, int) and not isinstance(v, bool) and 0 < v < 2**31 for v in values):
        raise FormatError(f"ModelIds {spelled[:100]!r} is not a list of model ids such as '1,2,3'")
    return values


def check_settings(max_tokens: int, temperature: float, top_k: int) -> None:
    """The generation settings both engines accept, checked before any weight is read (the one place
    this policy lives; the SQL Server glue repeats what T-SQL can check cheaply)."""
    if max_tokens is None or not 1 <= max_tokens <= 4096:
        raise FormatError(f"max_tokens must be between 1 and 4096, not {max_tokens}")
    if temperature is None or not math.isfinite(temperature) or temperature < 0:
        raise FormatError(f"temperature must be finite and must not be negative, not {temperature}")
    if top_k is None or top_k < 0:
        raise FormatError(f"top_k must be 0 (all tokens) or more, not {top_k}")


def generate(models: list[Llama], prompt: str, max_tokens: int, temperature: float = 0.0, top_k: int = 0,
             seed: int | None = None) -> dict:
    """See _generate; BLAS runs single-threaded: for one token's small matrix-vector products its
    threads cost more than they give (measured here: 23 ms a token on one thread, 100 ms on two)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        return _generate(models, prompt, max_tokens, temperature, top_k, seed)


def _generate(models: list[Llama], prompt: str, max_tokens: int, temperature: float, top_k: int,
              seed: int | None) -> dict:
    """Generate after a prompt: greedy at temperature 0 (deterministic), else sampled from the top_k
    (0: all) most likely tokens at that temperature. Returns prompt and generated token ids, text,
    each generated token's log-probability under the model(s) (before the temperature: what the
    model believed, whatever the sampling), and what the first model's attention did (AttentionWatch)."""
    if not models:
        raise FormatError("no model to generate with")
    check_settings(max_tokens, temperature, top_k)
    first = models[0]
    if top_k > len(first.tokens):
        raise FormatError(f"top_k {top_k} is more than the {len(first.tokens)} tokens of the vocabulary")
    for other in models[1:]:
        if other.tokens != first.tokens:
            raise FormatError(f"an ensemble needs one vocabulary: {other.name} and {first.name} differ")
    tok = tokenizer(first)
    ids = prompt_ids(first, tok, prompt)
    if not ids:
        raise FormatError("the prompt is empty")
    from hartonomous_ext.policy import ATTENTION_TOP_PROMPT_TOKENS

    watch = AttentionWatch(len(first.layers), len(ids))  # the first model's attention (an ensemble's others alike)
    sessions = [Session(m, watch if i == 0 else None) for i, m in enumerate(models)]
    rng = np.random.default_rng(seed)
    generated: list[int] = []
    logprob_of: list[float] = []
    feed = ids
    started = time.perf_counter()
    first_token = None
    for _ in range(max_tokens):
        logprobs = np.mean([s.forward(feed) for s in sessions], axis=0)
        if first_token is None:
            first_token = time.perf_counter() - started
        if temperature == 0:
            token = int(np.argmax(logprobs))
        else:
            scaled = logprobs / temperature
            if top_k:
                cut = np.partition(scaled, -top_k)[-top_k]
                scaled = np.where(scaled >= cut, scaled, -np.inf)
            probs = np.exp(scaled - scaled.max())
            token = int(rng.choice(len(probs), p=probs / probs.sum()))
        if token == first.eos:
            break
        generated.append(token)
        logprob_of.append(float(logprobs[token]))
        feed = [token]
    elapsed = time.perf_counter() - started
    return {"prompt_ids": ids, "token_ids": generated, "text": tok.decode(generated, skip_special_tokens=True),
            "token_logprobs": logprob_of,
            "attention": watch.summary(first.tokens, ids, ATTENTION_TOP_PROMPT_TOKENS),
            "first_token_ms": first_token * 1000,
            "tokens_per_second": len(generated) / (elapsed - first_token) if len(generated) > 1 and elapsed > first_token
            else None}


def attention_record(result: dict) -> dict:
    """A generation's row of Attention.AttentionGenerationLog (both engines write this), from generate's result."""
    watched = result["attention"]
    observed = [e for e in watched["layer_entropy"] if e is not None]
    logprobs = result["token_logprobs"]
    return {"layer_count": len(watched["layer_entropy"]), "prompt_tokens": len(result["prompt_ids"]),
            "generated_tokens": len(result["token_ids"]), "steps": watched["steps"],
            "layer_entropy": watched["layer_entropy"],
            "mean_entropy": min(1.0, max(0.0, sum(observed) / len(observed))) if observed else None,
            "top_prompt_tokens": watched["top_prompt_tokens"],
            "mean_token_logprob": min(0.0, sum(logprobs) / len(logprobs)) if logprobs else None}
