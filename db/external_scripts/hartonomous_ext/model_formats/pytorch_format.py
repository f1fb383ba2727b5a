"""PyTorch checkpoints (torch.save's zip format: <name>/data.pkl, <name>/data/<key>, <name>/version),
read and written without torch and without running pickled code.

data.pkl is read by a restricted unpickler: the only callables it may name are the ones a state
dict needs (collections.OrderedDict, torch._utils._rebuild_tensor_v2 / _rebuild_parameter, the
torch.*Storage types), each replaced by a harmless stand-in. Anything else (os.system, eval,
builtins.exec, ...) is refused with the name it tried to load. Tensors are read from their storage
files; a tensor that is a strided view is copied out in row-major order. Non-tensor entries of the
checkpoint (numbers, strings, lists) go into the config. Nested dicts flatten to dotted names.

The writer emits the same layout with a pickle written opcode by opcode (protocol 2), which
torch.load(weights_only=True) accepts.
"""

from __future__ import annotations

import io
import pickle
import struct
import zipfile
from collections import OrderedDict
from pathlib import Path

import numpy as np

from hartonomous_ext.model_formats import (ITEM_SIZES, FormatError, ModelFile, Source, TensorEntry,
                                           bytes_reader, check_plain_size)

STORAGE_DTYPES = {"FloatStorage": "F32", "DoubleStorage": "F64", "HalfStorage": "F16", "BFloat16Storage": "BF16",
                  "LongStorage": "I64", "IntStorage": "I32", "ShortStorage": "I16", "CharStorage": "I8",
                  "ByteStorage": "U8", "BoolStorage": "BOOL"}
DTYPE_STORAGES = {dtype: name for name, dtype in STORAGE_DTYPES.items()}
UNSIGNED = {1: "u1", 2: "<u2", 4: "<u4", 8: "<u8"}


class _Storage:
    def __init__(self, dtype: str, key: str, numel: int):
        self.dtype, self.key, self.numel = dtype, key, numel


class _TensorRef:
    def __init__(self, storage: _Storage, offset: int, size: tuple, stride: tuple):
        self.storage, self.offset, self.size, self.stride = storage, offset, tuple(size), tuple(stride)


def _rebuild_tensor(storage, storage_offset, size, stride, *_ignored):
    if not isinstance(storage, _Storage):
        raise FormatError("data.pkl rebuilds a tensor from something that is not a storage")
    return _TensorRef(storage, int(storage_offset), size, stride)


def _rebuild_parameter(data, *_ignored):
    return data


class _StorageType:
    def __init__(self, name: str):
        self.dtype = STORAGE_DTYPES[name]


ALLOWED = {
    ("collections", "OrderedDict"): OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    **{("torch", name): _StorageType(name) for name in STORAGE_DTYPES},
}


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        allowed = ALLOWED.get((module, name))
        if allowed is None:
            raise FormatError(f"data.pkl wants to load {module}.{name}; a checkpoint may only hold tensors, numbers, "
                              "strings and containers, so it is refused (nothing was run)")
        return allowed

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage" and isinstance(pid[1], _StorageType)):
            raise FormatError(f"data.pkl refers to an unknown persistent object {pid!r:.80}")
        return _Storage(pid[1].dtype, str(pid[2]), int(pid[4]))


def _flatten(value, prefix: str, tensors: dict, extra: dict) -> None:
    if isinstance(value, _TensorRef):
        tensors[prefix] = value
    elif isinstance(value, dict):
        for key, item in value.items():
            _flatten(item, f"{prefix}.{key}" if prefix else str(key), tensors, extra)
    elif isinstance(value, (int, float, str, bool)) or value is None:
        extra[prefix] = value
    elif isinstance(value, (list, tuple)) and all(isinstance(v, (int, float, str, bool)) for v in value):
        extra[prefix] = list(value)
    else:
        raise FormatError(f"checkpoint entry {prefix or '(root)'} is a {type(value).__name__}, which is not supported")


def read(source: Source) -> ModelFile:
    path = source.name
    stream = source.stream()
    try:
        archive = zipfile.ZipFile(stream)
    except zipfile.BadZipFile as exc:
        stream.close()
        raise FormatError(f"{path}: a damaged zip archive ({exc})") from None
    with stream, archive:
        names = archive.namelist()
        pickles = [n for n in names if n == "data.pkl" or n.endswith("/data.pkl")]
        if len(pickles) != 1:
            raise FormatError(f"{path}: expected one data.pkl in the archive, found {len(pickles)}")
        prefix = pickles[0][:-len("data.pkl")]
        try:
            root = _RestrictedUnpickler(io.BytesIO(archive.read(pickles[0]))).load()
        except FormatError as exc:
            raise FormatError(f"{path}: {exc}") from None
        except (pickle.UnpicklingError, EOFError, TypeError, ValueError, AttributeError, IndexError) as exc:
            raise FormatError(f"{path}: data.pkl does not unpickle ({type(exc).__name__}: {exc})") from None
        refs: dict[str, _TensorRef] = {}
        extra: dict = {}
        _flatten(root, "", refs, extra)
        tensors = []
        for name, ref in refs.items():
            member = f"{prefix}data/{ref.storage.key}"
            try:
                stored = archive.getinfo(member).file_size
            except KeyError:
                raise FormatError(f"{path}: tensor {name} needs storage {member}, which the archive lacks") from None
            tensors.append(_tensor(source, name, ref, member, stored))
    return ModelFile("pytorch", None, {"entries": extra, "archive_prefix": prefix.rstrip("/")}, tensors,
                     source.sha256())


def _member_reader(source: Source, member: str, base: int):
    """Bytes of a zip member from an offset on, without reading the member whole. torch.save stores
    members uncompressed: their bytes are read straight from the archive (seeking inside a
    ZipExtFile re-reads from the member's start, which makes a large tensor quadratic)."""
    with source.stream() as handle, zipfile.ZipFile(handle) as archive:
        info = archive.getinfo(member)
    if info.compress_type == zipfile.ZIP_STORED:
        header = source.read(info.header_offset, 30)
        if header[:4] != b"PK\x03\x04":
            raise FormatError(f"{source.name}: the zip entry {member} has no local header")
        start = info.header_offset + 30 + int.from_bytes(header[26:28], "little") + int.from_bytes(header[28:30], "little")
        return source.reader(start + base)

    def read(offset: int, length: int) -> bytes:
        with source.stream() as stream, zipfile.ZipFile(stream) as archive, archive.open(member) as handle:
            handle.seek(base + offset)
            return handle.read(length)
    return read


def _tensor(source: Source, name: str, ref: _TensorRef, member: str, stored: int) -> TensorEntry:
    path = source.name
    dtype = ref.storage.dtype
    item = ITEM_SIZES[dtype]
    if stored != ref.storage.numel * item:
        raise FormatError(f"{path}: storage {ref.storage.key} of tensor {name} has {stored} bytes, "
                          f"its header says {ref.storage.numel * item}")
    shape = [int(d) for d in ref.size]
    count = int(np.prod(shape)) if shape else 1
    if count == 0:
        return TensorEntry(name, dtype, shape, 0, bytes_reader(b""))
    last = ref.offset + sum((d - 1) * s for d, s in zip(shape, ref.stride))
    if ref.offset < 0 or last >= ref.storage.numel:
        raise FormatError(f"{path}: tensor {name} reaches element {last} of a storage with {ref.storage.numel}")
    contiguous = all(s == int(np.prod(shape[i + 1:])) for i, s in enumerate(ref.stride) if shape[i] > 1)
    if contiguous:
        return TensorEntry(name, dtype, shape, count * item, _member_reader(source, member, ref.offset * item))
    with source.stream() as handle, zipfile.ZipFile(handle) as archive:  # a strided view: copied out in row-major order
        elements = np.frombuffer(archive.read(member), dtype=UNSIGNED[item])
    view = np.lib.stride_tricks.as_strided(elements[ref.offset:], shape=shape, strides=[s * item for s in ref.stride])
    raw = np.ascontiguousarray(view).tobytes()
    check_plain_size(name, dtype, shape, len(raw))
    return TensorEntry(name, dtype, shape, len(raw), bytes_reader(raw))


# ---- writing ---------------------------------------------------------------------------------

def _int(value: int) -> bytes:
    if 0 <= value < 256:
        return pickle.BININT1 + bytes([value])
    if -(1 << 31) <= value < (1 << 31):
        return pickle.BININT + struct.pack("<i", value)
    encoded = value.to_bytes((value.bit_length() + 8) // 8, "little", signed=True)
    return pickle.LONG1 + bytes([len(encoded)]) + encoded


def _str(value: str) -> bytes:
    encoded = value.encode("utf-8")
    return pickle.BINUNICODE + struct.pack("<I", len(encoded)) + encoded


def _global(module: str, name: str) -> bytes:
    return pickle.GLOBAL + f"{module}\n{name}\n".encode()


def _tuple(items: list[bytes]) -> bytes:
    return pickle.MARK + b"".join(items) + pickle.TUPLE if items else pickle.EMPTY_TUPLE


def _state_dict_pickle(tensors: list[TensorEntry]) -> bytes:
    out = [pickle.PROTO + b"\x02", _global("collections", "OrderedDict"), pickle.EMPTY_TUPLE, pickle.REDUCE, pickle.MARK]
    for key, tensor in enumerate(tensors):
        count = tensor.element_count
        strides = [int(np.prod(tensor.shape[i + 1:])) for i in range(len(tensor.shape))]
        storage = _tuple([_str("storage"), _global("torch", DTYPE_STORAGES[tensor.dtype]), _str(str(key)), _str("cpu"),
                          _int(count)])
        out += [_str(tensor.name), _global("torch._utils", "_rebuild_tensor_v2"),
                _tuple([storage + pickle.BINPERSID, _int(0), _tuple([_int(d) for d in tensor.shape]),
                        _tuple([_int(s) for s in strides]), pickle.NEWFALSE,
                        _global("collections", "OrderedDict") + pickle.EMPTY_TUPLE + pickle.REDUCE]),
                pickle.REDUCE]
    out += [pickle.SETITEMS, pickle.STOP]
    return b"".join(out)


def write(model: ModelFile, path: Path) -> None:
    for tensor in model.tensors:
        if tensor.dtype not in DTYPE_STORAGES:
            raise FormatError(f"tensor {tensor.name} is {tensor.dtype}, which a PyTorch checkpoint cannot hold; "
                              "export this model as gguf")
    prefix = (model.config.get("archive_prefix") if model.format == "pytorch" else None) or "archive"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr(f"{prefix}/data.pkl", _state_dict_pickle(model.tensors))
        archive.writestr(f"{prefix}/byteorder", "little")
        for key, tensor in enumerate(model.tensors):
            with archive.open(f"{prefix}/data/{key}", "w", force_zip64=tensor.byte_size > (1 << 31)) as member:
                for piece in tensor.chunks():
                    member.write(piece)
        archive.writestr(f"{prefix}/version", "3\n")
