"""Model files in and out: the four formats of the seeds, detected by content, read as tensors.

Every reader returns a ModelFile: the format, the architecture, a JSON-able config (what the
format keeps besides tensors: GGUF key/values, a PyTorch checkpoint's non-tensor entries, the
config.json and tokenizer.json beside a safetensors file), the tensors (name, dtype, shape, byte
size, and a way to read their bytes in chunks: nothing loads a whole file into memory), and for
ONNX the graph without its weights (the skeleton export fills back in).

Every writer takes the same ModelFile shape and writes a file whose tensors are byte-identical to
the ones read. The same code runs in the client (`python -m deployer ingest-model`) and in the
database (`dbo.sp_IngestModel`), so both refuse the same bad files with the same messages.

dtype names are safetensors' (F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL, ...) and, for GGUF's
quantized types, ggml's (Q4_0, Q4_1, Q8_0, Q4_K, ...): quantized tensors are kept as their raw blocks.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Callable, Iterator

FORMATS = ("onnx", "safetensors", "pytorch", "gguf")
CHUNK_SIZE = 1 << 20

# element sizes of the plain dtypes (bytes)
ITEM_SIZES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U64": 8, "U32": 4,
              "U16": 2, "U8": 1, "BOOL": 1}
NUMPY_DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2", "I8": "i1",
                "U64": "<u8", "U32": "<u4", "U16": "<u2", "U8": "u1", "BOOL": "?"}


class FormatError(ValueError):
    """A file that is not a model this code can read: the message says what is wrong and where."""


@dataclass
class TensorEntry:
    name: str
    dtype: str
    shape: list[int]
    byte_size: int
    reader: Callable[[int, int], bytes] = field(repr=False)  # (offset, length) within the tensor -> bytes

    @property
    def element_count(self) -> int:
        count = 1
        for dim in self.shape:
            count *= dim
        return count

    def chunks(self, size: int = CHUNK_SIZE) -> Iterator[bytes]:
        for start in range(0, self.byte_size, size):
            piece = self.reader(start, min(size, self.byte_size - start))
            if len(piece) != min(size, self.byte_size - start):
                raise FormatError(f"tensor {self.name}: the file ends inside its data")
            yield piece

    def read(self) -> bytes:
        return b"".join(self.chunks())


@dataclass
class ModelFile:
    format: str
    architecture: str | None
    config: dict
    tensors: list[TensorEntry]
    source_hash: bytes
    skeleton: bytes | None = None  # ONNX: the ModelProto with its initializers' data left out

    @property
    def parameter_count(self) -> int:
        return sum(t.element_count for t in self.tensors)


class Source(ABC):
    """A model file's bytes: a file on disk (read piece by piece) or bytes already in memory (an
    atom's payload inside the database). `folder` is where side files live (None for bytes)."""

    def __init__(self, name: str, size: int, folder: Path | None):
        self.name, self.size, self.folder = name, size, folder

    @abstractmethod
    def read(self, offset: int, length: int) -> bytes:
        """`length` bytes from `offset` (fewer at the end of the data)."""

    @abstractmethod
    def stream(self) -> BinaryIO:
        """A seekable binary file object over the bytes (what zipfile reads)."""

    def reader(self, base: int) -> Callable[[int, int], bytes]:
        return lambda offset, length: self.read(base + offset, length)

    def sha256(self) -> bytes:
        digest = hashlib.sha256()
        for start in range(0, self.size, CHUNK_SIZE):
            digest.update(self.read(start, min(CHUNK_SIZE, self.size - start)))
        return digest.digest()


class FileSource(Source):
    def __init__(self, path: Path):
        path = Path(path)
        super().__init__(str(path), path.stat().st_size, path.parent)
        self.path = path

    def read(self, offset: int, length: int) -> bytes:
        with self.path.open("rb") as handle:
            handle.seek(offset)
            return handle.read(length)

    def stream(self) -> BinaryIO:
        return self.path.open("rb")


class BytesSource(Source):
    def __init__(self, data: bytes, name: str = "payload"):
        super().__init__(name, len(data), None)
        self.view = memoryview(data)

    def read(self, offset: int, length: int) -> bytes:
        return bytes(self.view[offset:offset + length])

    def stream(self) -> BinaryIO:
        return io.BytesIO(self.view)


def as_source(origin) -> Source:
    if isinstance(origin, Source):
        return origin
    if isinstance(origin, (bytes, bytearray, memoryview)):
        return BytesSource(bytes(origin))
    path = Path(origin)
    if path.is_dir():
        raise FormatError(f"{path} is a folder; give a model file (or the model.safetensors.index.json of a sharded one)")
    if not path.is_file():
        raise FormatError(f"{path}: no such file")
    return FileSource(path)


def bytes_reader(data: bytes) -> Callable[[int, int], bytes]:
    view = memoryview(data)
    return lambda offset, length: bytes(view[offset:offset + length])


def sha256_of(sources: list[Source]) -> bytes:
    if len(sources) == 1:
        return sources[0].sha256()
    digest = hashlib.sha256()
    for source in sources:
        digest.update(source.sha256())
    return digest.digest()


def check_plain_size(name: str, dtype: str, shape: list[int], byte_size: int) -> None:
    if dtype not in ITEM_SIZES:
        raise FormatError(f"tensor {name}: dtype {dtype} is not supported (supported: {', '.join(ITEM_SIZES)})")
    if any((not isinstance(d, int)) or d < 0 for d in shape):
        raise FormatError(f"tensor {name}: shape {shape} is not a list of non-negative integers")
    count = 1
    for dim in shape:
        count *= dim
    if count * ITEM_SIZES[dtype] != byte_size:
        raise FormatError(f"tensor {name}: {dtype} {shape} needs {count * ITEM_SIZES[dtype]} bytes, the file gives {byte_size}")


def detect(origin) -> str:
    """The format of a model file (or a sharded safetensors index, or bytes), from its content, not its name."""
    source = as_source(origin)
    name = source.name
    if source.size == 0:
        raise FormatError(f"{name}: the file is empty")
    head = source.read(0, 64)
    if head[:4] == b"GGUF":
        return "gguf"
    if head[:4] == b"PK\x03\x04":
        try:
            with source.stream() as handle, zipfile.ZipFile(handle) as archive:
                names = archive.namelist()
        except zipfile.BadZipFile as exc:
            raise FormatError(f"{name}: a damaged zip archive ({exc})") from None
        if any(n == "data.pkl" or n.endswith("/data.pkl") for n in names):
            return "pytorch"
        raise FormatError(f"{name}: a zip archive without data.pkl, so not a PyTorch checkpoint")
    if head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        raise FormatError(f"{name}: a bare pickle (PyTorch's legacy, pre-1.6 format) is not supported; "
                          "re-save it with torch.save, which writes a zip checkpoint")
    if len(head) >= 9 and head[8:9] == b"{":
        header_length = int.from_bytes(head[:8], "little")
        if 2 <= header_length <= source.size - 8:
            return "safetensors"
        raise FormatError(f"{name}: a safetensors header of {header_length} bytes, but the file has "
                          f"{source.size - 8} after the length")
    if head.lstrip()[:1] == b"{":
        try:
            index = json.loads(source.read(0, min(source.size, 64 << 20)))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise FormatError(f"{name}: JSON that does not parse ({exc})") from None
        if isinstance(index, dict) and isinstance(index.get("weight_map"), dict):
            return "safetensors"
        raise FormatError(f"{name}: JSON without a weight_map, so not a sharded safetensors index")
    if head[:1] == b"\x08":  # ONNX ModelProto: field 1 (ir_version) as a varint comes first
        return "onnx"
    raise FormatError(f"{name}: not a model file this code knows (ONNX, safetensors, PyTorch zip, GGUF); "
                      f"it starts with {head[:8].hex(' ')}")


def read(origin) -> ModelFile:
    """Detect and read a model: a path, or the bytes of one (as an atom's payload)."""
    source = as_source(origin)
    return _module(detect(source)).read(source)


def write(model: ModelFile, path: str | Path, fmt: str | None = None) -> Path:
    """Write a model's tensors (and what its format keeps besides them) to a file of format fmt."""
    fmt = fmt or model.format
    if fmt not in FORMATS:
        raise FormatError(f"unknown format {fmt!r} (known: {', '.join(FORMATS)})")
    path = Path(path)
    _module(fmt).write(model, path)
    return path


def _module(fmt: str):
    """The reader/writer module of a format (imported when needed: onnx and gguf are big imports)."""
    import importlib

    return importlib.import_module(f"hartonomous_ext.model_formats.{fmt}_format")


def layers(model: ModelFile) -> list[dict]:
    """Tensors grouped into layers by their module path (the name without its last part), in the order
    the layers first appear: [{"index", "name", "type", "parameter_count", "tensors"}]."""
    groups: dict[str, dict] = {}
    op_types = model.config.get("_initializer_ops", {}) if model.format == "onnx" else {}
    for tensor in model.tensors:
        module = tensor.name.rsplit(".", 1)[0] if "." in tensor.name else tensor.name
        group = groups.setdefault(module, {"index": len(groups), "name": module, "type": None,
                                           "parameter_count": 0, "tensors": []})
        group["parameter_count"] += tensor.element_count
        group["tensors"].append(tensor.name)
        group["type"] = group["type"] or op_types.get(tensor.name) or layer_type(module)
    return list(groups.values())


LAYER_TYPES = (("norm", "norm"), ("layernorm", "norm"), ("ln", "norm"), ("embed", "embedding"), ("wte", "embedding"), ("wpe", "embedding"),
               ("attn", "attention"), ("attention", "attention"), ("query", "attention"), ("key", "attention"),
               ("value", "attention"), ("ffn", "feed_forward"), ("mlp", "feed_forward"), ("dense", "linear"),
               ("fc", "linear"), ("proj", "linear"), ("conv", "convolution"), ("lm_head", "linear"),
               ("output", "linear"), ("pooler", "pooling"))


def layer_type(module: str) -> str:
    parts = module.lower().replace("_", ".").split(".")
    for part in parts[::-1][:2]:  # the module's own name first, then its parent's
        for key, kind in LAYER_TYPES:
            if part.startswith(key):
                return kind
    return "tensor"
