"""safetensors: an 8-byte little-endian header length, a JSON header (dtype, shape, data_offsets per
tensor, optional __metadata__ of strings), then the raw little-endian tensor data.

A sharded model is read through its index (model.safetensors.index.json: weight_map, tensor name ->
shard file). The JSON files a Hugging Face folder keeps beside the weights (config.json,
tokenizer.json, tokenizer_config.json, ...) go into the config, so the model is whole in the database.
"""

from __future__ import annotations

import json
from pathlib import Path

from hartonomous_ext.model_formats import (FileSource, FormatError, ModelFile, Source, TensorEntry, check_plain_size,
                                           sha256_of)

MAX_HEADER = 100 << 20
SIDE_FILES = ("config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
              "sentence_bert_config.json", "modules.json", "generation_config.json")


def _shard(source: Source) -> tuple[dict, list[TensorEntry]]:
    name, size = source.name, source.size
    if size < 8:
        raise FormatError(f"{name}: too short to be a safetensors file")
    length = int.from_bytes(source.read(0, 8), "little")
    if length > size - 8:
        raise FormatError(f"{name}: the header claims {length} bytes, the file has {size - 8} after the length")
    if length > MAX_HEADER:
        raise FormatError(f"{name}: a {length}-byte header is more than the {MAX_HEADER} allowed")
    try:
        header = json.loads(source.read(8, length))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FormatError(f"{name}: the header is not valid JSON ({exc})") from None
    if not isinstance(header, dict):
        raise FormatError(f"{name}: the header is not a JSON object")
    base = 8 + length
    metadata = header.pop("__metadata__", None) or {}
    tensors = []
    for tensor_name, entry in header.items():
        try:
            dtype, shape, (start, end) = entry["dtype"], list(entry["shape"]), entry["data_offsets"]
        except (KeyError, TypeError, ValueError):
            raise FormatError(f"{name}: tensor {tensor_name} lacks dtype, shape or data_offsets") from None
        if not (isinstance(start, int) and isinstance(end, int) and 0 <= start <= end):
            raise FormatError(f"{name}: tensor {tensor_name} has data_offsets {[start, end]}")
        if base + end > size:
            raise FormatError(f"{name}: tensor {tensor_name} ends at byte {base + end}, the file has {size}")
        check_plain_size(tensor_name, dtype, shape, end - start)
        tensors.append(TensorEntry(tensor_name, dtype, shape, end - start, source.reader(base + start)))
    tensors.sort(key=lambda t: header[t.name]["data_offsets"][0])
    return metadata, tensors


def read(source: Source) -> ModelFile:
    head = source.read(0, 9)
    # a safetensors file has '{' after its 8-byte length; an index is JSON from its first byte
    is_index = head[:1] == b"{" and not (head[8:9] == b"{" and int.from_bytes(head[:8], "little") <= source.size - 8)
    if is_index:
        if source.folder is None:
            raise FormatError(f"{source.name}: a sharded index needs its shard files; ingest it from a folder")
        index = json.loads(source.read(0, source.size))
        files = []
        for shard in sorted(set(index["weight_map"].values())):
            path = (source.folder / shard).resolve()
            if source.folder.resolve() not in path.parents or not path.is_file():
                raise FormatError(f"{source.name}: shard {shard} named by the index is missing (or outside its folder)")
            files.append(FileSource(path))
    else:
        files = [source]
    metadata, tensors, seen = {}, [], set()
    for file in files:
        shard_metadata, shard_tensors = _shard(file)
        metadata.update(shard_metadata)
        for tensor in shard_tensors:
            if tensor.name in seen:
                raise FormatError(f"{source.name}: tensor {tensor.name} appears in two shards")
            seen.add(tensor.name)
            tensors.append(tensor)
    if is_index:
        missing = set(index["weight_map"]) - seen
        if missing:
            raise FormatError(f"{source.name}: the index names {len(missing)} tensors no shard holds, "
                              f"e.g. {sorted(missing)[0]}")
    config: dict = {"metadata": metadata, "shards": [Path(f.name).name for f in files] if is_index else None}
    for side_name in SIDE_FILES if source.folder is not None else ():
        side = source.folder / side_name
        if side.is_file() and side.stat().st_size < 50 << 20:
            try:
                config[side_name] = json.loads(side.read_text())
            except (UnicodeDecodeError, json.JSONDecodeError):
                continue  # a damaged side file is left out; the weights do not depend on it
    architecture = None
    model_config = config.get("config.json") or {}
    if isinstance(model_config.get("architectures"), list) and model_config["architectures"]:
        architecture = str(model_config["architectures"][0])
    elif model_config.get("model_type"):
        architecture = str(model_config["model_type"])
    return ModelFile("safetensors", architecture, config, tensors, sha256_of(files))


def write(model: ModelFile, path: Path) -> None:
    from hartonomous_ext.model_formats import ITEM_SIZES

    header, offset = {}, 0
    metadata = model.config.get("metadata") if model.format == "safetensors" else None
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for tensor in model.tensors:
        if tensor.dtype not in ITEM_SIZES:
            raise FormatError(f"tensor {tensor.name} is {tensor.dtype}, which safetensors cannot hold; "
                              "export this model as gguf")
        header[tensor.name] = {"dtype": tensor.dtype, "shape": tensor.shape,
                               "data_offsets": [offset, offset + tensor.byte_size]}
        offset += tensor.byte_size
    encoded = json.dumps(header, separators=(",", ":")).encode()
    encoded += b" " * (-len(encoded) % 8)  # the format aligns the data to 8 bytes
    with path.open("wb") as out:
        out.write(len(encoded).to_bytes(8, "little"))
        out.write(encoded)
        for tensor in model.tensors:
            for piece in tensor.chunks():
                out.write(piece)
