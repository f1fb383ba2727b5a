"""GGUF (llama.cpp's format): read here (the header is small and documented; reading works on bytes
as well as files, which gguf.GGUFReader's memory map cannot), written and dequantized with the
`gguf` package llama.cpp publishes.

The key/values (architecture, hyper-parameters, the tokenizer's vocabulary and merges, the chat
template) go into the config with their GGUF value types, so an export writes them back as they
were. Tensors keep ggml's type: quantized ones (Q4_1, Q8_0, Q4_K, ...) are stored as their raw
blocks, byte for byte; `dequantize` turns one into float32 when a computation needs it.
Shapes are recorded in GGUF's order (innermost dimension first), as the file has them.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from hartonomous_ext.model_formats import FormatError, ModelFile, Source, TensorEntry

VALUE_TYPES = ["UINT8", "INT8", "UINT16", "INT16", "UINT32", "INT32", "FLOAT32", "BOOL", "STRING", "ARRAY", "UINT64",
               "INT64", "FLOAT64"]
SCALARS = {"UINT8": "<B", "INT8": "<b", "UINT16": "<H", "INT16": "<h", "UINT32": "<I", "INT32": "<i", "FLOAT32": "<f",
           "BOOL": "<?", "UINT64": "<Q", "INT64": "<q", "FLOAT64": "<d"}
MAX_COUNT = 1 << 32  # tensors, key/values, array elements or string bytes beyond this mean a damaged header
DEFAULT_ALIGNMENT = 32


class _Cursor:
    """Sequential reads through a GGUF header, fetched from the source in large pieces."""

    def __init__(self, source: Source):
        self.source, self.position, self.buffer, self.buffer_start = source, 0, b"", 0

    def take(self, length: int) -> bytes:
        end = self.position + length
        if end > self.source.size:
            raise FormatError(f"{self.source.name}: the header runs past the end of the file (byte {end} of "
                              f"{self.source.size})")
        if end > self.buffer_start + len(self.buffer):
            self.buffer_start = self.position
            self.buffer = self.source.read(self.position, max(length, 8 << 20))
        piece = self.buffer[self.position - self.buffer_start:end - self.buffer_start]
        self.position = end
        return piece

    def scalar(self, kind: str):
        layout = SCALARS[kind]
        return struct.unpack(layout, self.take(struct.calcsize(layout)))[0]

    def count(self, what: str) -> int:
        value = self.scalar("UINT64")
        if value > MAX_COUNT:
            raise FormatError(f"{self.source.name}: the header claims {value} {what}, which no GGUF file has")
        return value

    def string(self) -> str:
        return self.take(self.count("string bytes")).decode("utf-8", errors="replace")

    def value(self, kind: str):
        if kind == "STRING":
            return self.string()
        if kind == "ARRAY":
            raise FormatError(f"{self.source.name}: nested arrays are not supported")
        return self.scalar(kind)

    def value_type(self) -> str:
        code = self.scalar("UINT32")
        if code >= len(VALUE_TYPES):
            raise FormatError(f"{self.source.name}: unknown GGUF value type {code}")
        return VALUE_TYPES[code]


def read(source: Source) -> ModelFile:
    import gguf

    name = source.name
    cursor = _Cursor(source)
    if cursor.take(4) != b"GGUF":
        raise FormatError(f"{name}: not a GGUF file (no GGUF magic)")
    version = cursor.scalar("UINT32")
    if version not in (2, 3):
        raise FormatError(f"{name}: GGUF version {version} is not supported (2 and 3 are)")
    tensor_count, kv_count = cursor.count("tensors"), cursor.count("key/values")
    kv = {}
    for _ in range(kv_count):
        key = cursor.string()
        kind = cursor.value_type()
        if kind == "ARRAY":
            item_kind = cursor.value_type()
            items = cursor.count("array elements")
            kv[key] = {"type": ["ARRAY", item_kind], "value": [cursor.value(item_kind) for _ in range(items)]}
        else:
            kv[key] = {"type": [kind], "value": cursor.value(kind)}
    infos = []
    for _ in range(tensor_count):
        tensor_name = cursor.string()
        dims = [cursor.scalar("UINT64") for _ in range(cursor.scalar("UINT32"))]
        type_code, offset = cursor.scalar("UINT32"), cursor.scalar("UINT64")
        try:
            qtype = gguf.GGMLQuantizationType(type_code)
        except ValueError:
            raise FormatError(f"{name}: tensor {tensor_name} has unknown ggml type {type_code}") from None
        block, type_size = gguf.GGML_QUANT_SIZES[qtype]
        elements = 1
        for dim in dims:
            elements *= dim
        if elements % block:
            raise FormatError(f"{name}: tensor {tensor_name} has {elements} values, not whole {qtype.name} blocks of {block}")
        infos.append((tensor_name, qtype.name, dims, offset, elements // block * type_size))
    alignment = int(kv.get("general.alignment", {}).get("value", DEFAULT_ALIGNMENT))
    data_start = cursor.position + (-cursor.position % alignment)
    tensors = []
    for tensor_name, dtype, dims, offset, byte_size in infos:
        end = data_start + offset + byte_size
        if end > source.size:
            raise FormatError(f"{name}: tensor {tensor_name} ends at byte {end}, the file has {source.size}")
        tensors.append(TensorEntry(tensor_name, dtype, dims, byte_size, source.reader(data_start + offset)))
    architecture = kv.get("general.architecture", {}).get("value")
    # the key order goes along: JSON objects in the database do not keep it, and the export should
    config = {"gguf": kv, "gguf_order": list(kv), "version": version}
    return ModelFile("gguf", architecture, config, tensors, source.sha256())


def dequantize(data: bytes, dtype: str, shape: list[int]) -> np.ndarray:
    """float32 values of a GGUF tensor's bytes, in numpy's order (outermost dimension first)."""
    import gguf

    try:
        qtype = gguf.GGMLQuantizationType[dtype]
    except KeyError:
        raise FormatError(f"unknown GGUF tensor type {dtype}") from None
    raw = np.frombuffer(data, dtype=np.uint8)
    if qtype == gguf.GGMLQuantizationType.F32:
        values = raw.view("<f4")
    elif qtype == gguf.GGMLQuantizationType.F16:
        values = raw.view("<f2").astype(np.float32)
    else:
        rows = raw.reshape(int(np.prod(shape[1:])) if len(shape) > 1 else 1, -1)
        values = gguf.quants.dequantize(rows, qtype)
    return np.asarray(values, dtype=np.float32).reshape(list(reversed(shape)))


def write(model: ModelFile, path: Path) -> None:
    import gguf

    if model.format == "gguf":
        kv = model.config.get("gguf", {})
        architecture = kv.get("general.architecture", {}).get("value") or "unknown"
    else:
        kv, architecture = {}, model.architecture or "unknown"
    writer = gguf.GGUFWriter(str(path), architecture)
    order = model.config.get("gguf_order") or list(kv) if model.format == "gguf" else []
    for key in order:
        entry = kv[key]
        if key == "general.architecture":
            continue
        if key == "general.alignment":
            writer.add_custom_alignment(int(entry["value"]))
            continue
        kinds = entry["type"]
        value_type = gguf.GGUFValueType[kinds[0]]
        if value_type == gguf.GGUFValueType.ARRAY:
            writer.add_key_value(key, entry["value"], value_type, sub_type=gguf.GGUFValueType[kinds[-1]])
        else:
            writer.add_key_value(key, entry["value"], value_type)
    for tensor in model.tensors:
        try:
            qtype = gguf.GGMLQuantizationType[tensor.dtype]
        except KeyError:
            qtype = None
        data = np.frombuffer(tensor.read(), dtype=np.uint8)
        if model.format == "gguf" and qtype is not None:
            # raw blocks go in with their byte shape (numpy order, last dimension in bytes)
            outer = list(reversed(tensor.shape))[:-1]
            rows = int(np.prod(outer)) if outer else 1
            writer.add_tensor(tensor.name, data.reshape(outer + [tensor.byte_size // max(rows, 1)]), raw_dtype=qtype)
        elif tensor.dtype in ("F32", "F16"):
            array = data.view("<f4" if tensor.dtype == "F32" else "<f2").reshape(tensor.shape)
            writer.add_tensor(tensor.name, array)
        else:
            raise FormatError(f"tensor {tensor.name} is {tensor.dtype}, which this GGUF export does not write")
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()

