"""How a model is laid out in the database's tables, shared by every writer and reader of them.

Writers (the client's bulk loader, `python -m deployer ingest-model`, and the in-database
dbo.sp_IngestModel) turn a ModelFile into the same rows: one dbo.Models row, dbo.ModelLayers rows,
dbo.ModelTensors rows, and each tensor cut into chunks of at most 1 MiB, content-addressed by
SHA-256 (dbo.TensorChunks) and listed in order (dbo.ModelTensorChunks). Readers (export, inference
from stored weights) rebuild a ModelFile whose tensors read their bytes back from those chunks.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Callable, Iterator, Protocol

from hartonomous_ext.model_formats import (CHUNK_SIZE, FormatError, ModelFile, TensorEntry, layers)

MAX_NAME = 256


@dataclass
class TensorRow:
    index: int
    name: str
    dtype: str
    shape: list[int]
    element_count: int
    byte_size: int
    layer_index: int
    entry: TensorEntry = field(repr=False)
    sha256: bytes | None = None
    chunk_hashes: list[bytes] = field(default_factory=list)


@dataclass
class ModelRows:
    model: dict
    layers: list[dict]
    tensors: list[TensorRow]


def describe(model: ModelFile, name: str) -> ModelRows:
    """The rows a model becomes (tensor hashes are filled in while its chunks stream)."""
    if not name or len(name) > MAX_NAME:
        raise FormatError(f"a model name must have 1 to {MAX_NAME} characters, got {len(name or '')}")
    groups = layers(model)
    layer_of = {tensor: group["index"] for group in groups for tensor in group["tensors"]}
    tensors = [TensorRow(i, t.name, t.dtype, list(t.shape), t.element_count, t.byte_size, layer_of[t.name], t)
               for i, t in enumerate(model.tensors)]
    config = {k: v for k, v in model.config.items()}
    row = {"name": name, "format": model.format, "architecture": model.architecture,
           "parameter_count": model.parameter_count, "config": json.dumps(config, ensure_ascii=False),
           "source_hash": model.source_hash, "tensor_count": len(tensors),
           "total_bytes": sum(t.byte_size for t in tensors), "skeleton": model.skeleton}
    layer_rows = [{"index": g["index"], "name": g["name"], "type": g["type"], "parameter_count": g["parameter_count"]}
                  for g in groups]
    return ModelRows(row, layer_rows, tensors)


def chunks(rows: ModelRows, progress: Callable[[int], None] | None = None) -> Iterator[tuple[TensorRow, int, bytes, bytes]]:
    """(tensor, chunk index, SHA-256, bytes) for every chunk of every tensor, in order; each tensor's
    sha256 and chunk_hashes are complete once its last chunk has been yielded."""
    for tensor in rows.tensors:
        digest = hashlib.sha256()
        tensor.chunk_hashes = []
        for index, data in enumerate(tensor.entry.chunks(CHUNK_SIZE)):
            digest.update(data)
            chunk_hash = hashlib.sha256(data).digest()
            tensor.chunk_hashes.append(chunk_hash)
            yield tensor, index, chunk_hash, data
            if progress:
                progress(len(data))
        tensor.sha256 = digest.digest()


def stored_model(model_row: dict, tensor_rows: list[dict], fetch_chunk: Callable[[bytes], bytes]) -> ModelFile:
    """A ModelFile over stored rows: model_row has format, architecture, config (JSON text or dict),
    source_hash, skeleton; each tensor row has name, dtype, shape, byte_size and chunk_hashes (in
    order). Tensor bytes are fetched chunk by chunk when read."""
    config = model_row["config"]
    if isinstance(config, str):
        config = json.loads(config)
    tensors = [TensorEntry(t["name"], t["dtype"], [int(d) for d in t["shape"]], int(t["byte_size"]),
                           _chunk_reader(t["name"], list(t["chunk_hashes"]), int(t["byte_size"]), fetch_chunk))
               for t in tensor_rows]
    skeleton = model_row.get("skeleton")
    return ModelFile(model_row["format"], model_row.get("architecture"), config or {}, tensors,
                     bytes(model_row.get("source_hash") or b""), bytes(skeleton) if skeleton is not None else None)


def _chunk_reader(name: str, hashes: list[bytes], byte_size: int, fetch_chunk: Callable[[bytes], bytes]):
    if byte_size and len(hashes) != (byte_size + CHUNK_SIZE - 1) // CHUNK_SIZE:
        raise FormatError(f"tensor {name}: {len(hashes)} chunks stored for {byte_size} bytes")

    def read(offset: int, length: int) -> bytes:
        out = []
        while length > 0:
            index, start = divmod(offset, CHUNK_SIZE)
            data = bytes(fetch_chunk(bytes(hashes[index])))
            piece = data[start:start + length]
            if not piece:
                raise FormatError(f"tensor {name}: chunk {index} is shorter than its place needs")
            out.append(piece)
            offset += len(piece)
            length -= len(piece)
        return b"".join(out)
    return read


class StoredModels(Protocol):
    """How an engine reads its stored models back: the rows, not the SQL (each engine has one reader,
    dbo.fn_StoredModel, dbo.fn_StoredModelTensors and dbo.fn_TensorChunk, in its own dialect)."""

    def model(self, model_id: int, tenant: int) -> tuple | None:
        """(format, architecture, config JSON text, source hash, skeleton), or None."""

    def tensors(self, model_id: int) -> list[tuple]:
        """(name, dtype, shape, byte size, chunk hashes in order) of each tensor, in order."""

    def chunk(self, chunk_hash: bytes) -> bytes | None:
        """A chunk's bytes, or None."""


def load(reader: StoredModels, model_id: int, tenant: int = 0) -> ModelFile:
    row = reader.model(model_id, tenant)
    if row is None:
        raise FormatError(f"model {model_id} does not exist for tenant {tenant}")
    fmt, architecture, config, source_hash, skeleton = row
    tensor_rows = [{"name": r[0], "dtype": r[1], "shape": r[2], "byte_size": r[3], "chunk_hashes": r[4]}
                   for r in reader.tensors(model_id)]

    def fetch(chunk_hash: bytes) -> bytes:
        found = reader.chunk(chunk_hash)
        if found is None:
            raise FormatError(f"model {model_id}: chunk {chunk_hash.hex()[:16]} is missing from dbo.TensorChunks")
        return found

    model_row = {"format": fmt, "architecture": architecture, "config": config, "source_hash": source_hash,
                 "skeleton": skeleton}
    return stored_model(model_row, tensor_rows, fetch)


def version(reader: StoredModels, model_id: int) -> str:
    """Changes whenever any tensor of the model maps to other chunks: a cache key for loaded weights."""
    digest = hashlib.sha256()
    for tensor in reader.tensors(model_id):
        for chunk_hash in tensor[4]:
            digest.update(bytes(chunk_hash))
    return digest.hexdigest()


def manifest(rows: ModelRows) -> str:
    """Everything but the chunk bytes as JSON text (binary values in hex), for engines whose
    procedures take a script's results as a data set plus output parameters (SQL Server's
    sp_execute_external_script). Call after chunks() has run: it carries the tensors' hashes."""
    model = dict(rows.model)
    model["source_hash"] = model["source_hash"].hex()
    model["skeleton"] = model["skeleton"].hex() if model["skeleton"] is not None else None
    return json.dumps({
        "model": model,
        "layers": rows.layers,
        "tensors": [{"index": t.index, "name": t.name, "dtype": t.dtype, "shape": json.dumps(t.shape),
                     "element_count": t.element_count, "byte_size": t.byte_size, "layer_index": t.layer_index,
                     "sha256": t.sha256.hex(), "chunks": [h.hex() for h in t.chunk_hashes]} for t in rows.tensors],
    }, ensure_ascii=False)


def from_chunk_rows(model_row: dict, rows) -> ModelFile:
    """A ModelFile from rows of (TensorIndex, TensorName, DType, Shape (JSON text or list), ByteSize,
    ChunkIndex, ChunkHash, Data), ordered by tensor and chunk: how SQL Server hands a stored model to
    a script (its input data set). A tensor without chunks has one row with a NULL ChunkHash."""
    tensors: dict[int, dict] = {}
    data: dict[bytes, bytes] = {}
    for index, name, dtype, shape, byte_size, _chunk, chunk_hash, chunk_data in rows:
        entry = tensors.setdefault(int(index), {"name": name, "dtype": dtype, "byte_size": int(byte_size),
                                                "shape": json.loads(shape) if isinstance(shape, str) else shape,
                                                "chunk_hashes": []})
        if chunk_hash is None:  # a tensor without chunks (0 bytes): one row, no chunk
            continue
        if chunk_data is None:
            raise FormatError(f"tensor {name}: chunk {bytes(chunk_hash).hex()[:16]} is missing from dbo.TensorChunks")
        entry["chunk_hashes"].append(bytes(chunk_hash))
        data[bytes(chunk_hash)] = bytes(chunk_data)
    return stored_model(model_row, [tensors[i] for i in sorted(tensors)], data.__getitem__)


def cached(cache: dict, reader: StoredModels, model_id: int, tenant: int, build: Callable[[ModelFile], object]):
    """build(load(...)) for a stored model, once per session and weight version: a weight change or
    rollback maps tensors to other chunks, and the next call builds again."""
    current = version(reader, model_id)
    hit = cache.get((model_id, tenant))
    if hit is not None and hit[0] == current:
        return hit[1]
    built = build(load(reader, model_id, tenant))
    cache[(model_id, tenant)] = (current, built)
    return built
