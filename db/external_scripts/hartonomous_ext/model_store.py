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
from typing import Callable, Iterator

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


# reading a stored model back; `execute(sql, params)` runs one statement ($1, $2 ... placeholders)
# and returns its rows as tuples: plpy inside the database, psycopg in the client
MODEL_SQL = ("SELECT ModelFormat, Architecture, Config::text, SourceHash, FormatSkeleton FROM dbo.Models "
             "WHERE ModelId = $1 AND TenantId = $2")
TENSORS_SQL = ("SELECT t.TensorName, t.DType, t.Shape, t.ByteSize, "
               "coalesce(array_agg(c.ChunkHash ORDER BY c.ChunkIndex) FILTER (WHERE c.ChunkHash IS NOT NULL), '{}') "
               "FROM dbo.ModelTensors t LEFT JOIN dbo.ModelTensorChunks c ON c.TensorId = t.TensorId "
               "WHERE t.ModelId = $1 GROUP BY t.TensorId ORDER BY t.TensorIndex")
CHUNK_SQL = "SELECT Data FROM dbo.TensorChunks WHERE ChunkHash = $1"
# changes whenever any tensor of the model maps to other chunks: a cache key for loaded weights
VERSION_SQL = ("SELECT md5(coalesce(string_agg(encode(c.ChunkHash, 'hex'), '' ORDER BY t.TensorIndex, c.ChunkIndex), '')) "
               "FROM dbo.ModelTensors t JOIN dbo.ModelTensorChunks c ON c.TensorId = t.TensorId WHERE t.ModelId = $1")


def load(execute: Callable[[str, list], list[tuple]], model_id: int, tenant: int = 0) -> ModelFile:
    rows = execute(MODEL_SQL, [model_id, tenant])
    if not rows:
        raise FormatError(f"model {model_id} does not exist for tenant {tenant}")
    fmt, architecture, config, source_hash, skeleton = rows[0]
    tensor_rows = [{"name": r[0], "dtype": r[1], "shape": r[2], "byte_size": r[3], "chunk_hashes": r[4]}
                   for r in execute(TENSORS_SQL, [model_id])]

    def fetch(chunk_hash: bytes) -> bytes:
        found = execute(CHUNK_SQL, [chunk_hash])
        if not found:
            raise FormatError(f"model {model_id}: chunk {chunk_hash.hex()[:16]} is missing from dbo.TensorChunks")
        return found[0][0]

    model_row = {"format": fmt, "architecture": architecture, "config": config, "source_hash": source_hash,
                 "skeleton": skeleton}
    return stored_model(model_row, tensor_rows, fetch)


def version(execute: Callable[[str, list], list[tuple]], model_id: int) -> str:
    return execute(VERSION_SQL, [model_id])[0][0]


def plpy_execute(plpy) -> Callable[[str, list], list[tuple]]:
    """`execute` for PL/Python: plans prepared once per statement, rows as tuples."""
    plans: dict[str, object] = {}
    types = {MODEL_SQL: ["integer", "integer"], TENSORS_SQL: ["integer"], CHUNK_SQL: ["bytea"], VERSION_SQL: ["integer"]}

    def execute(sql: str, params: list) -> list[tuple]:
        if sql not in plans:
            plans[sql] = plpy.prepare(sql, types[sql])
        return [tuple(row.values()) for row in plpy.execute(plans[sql], params)]
    return execute


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
    a script (its input data set)."""
    tensors: dict[int, dict] = {}
    data: dict[bytes, bytes] = {}
    for index, name, dtype, shape, byte_size, _chunk, chunk_hash, chunk_data in rows:
        entry = tensors.setdefault(int(index), {"name": name, "dtype": dtype, "byte_size": int(byte_size),
                                                "shape": json.loads(shape) if isinstance(shape, str) else shape,
                                                "chunk_hashes": []})
        entry["chunk_hashes"].append(bytes(chunk_hash))
        data[bytes(chunk_hash)] = bytes(chunk_data)
    return stored_model(model_row, [tensors[i] for i in sorted(tensors)], data.__getitem__)


def cached(cache: dict, execute: Callable[[str, list], list[tuple]], model_id: int, tenant: int,
           build: Callable[[ModelFile], object]):
    """build(load(...)) for a stored model, once per session and weight version: a weight change or
    rollback maps tensors to other chunks, and the next call builds again."""
    current = version(execute, model_id)
    hit = cache.get((model_id, tenant))
    if hit is not None and hit[0] == current:
        return hit[1]
    built = build(load(execute, model_id, tenant))
    cache[(model_id, tenant)] = (current, built)
    return built
