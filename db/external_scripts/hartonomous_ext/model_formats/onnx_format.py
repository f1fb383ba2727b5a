"""ONNX: a protobuf ModelProto whose initializers are the weights, held in the file (raw_data or
typed fields) or in external-data files beside it (location, offset, length).

The weights become tensors; the rest of the model (graph, opsets, metadata) is kept as a skeleton
(the ModelProto with the initializers' data left out) so an export is a loadable model again.
External-data paths must stay inside the model's folder.
"""

from __future__ import annotations

from pathlib import Path

from hartonomous_ext.model_formats import (FileSource, FormatError, ModelFile, Source, TensorEntry, bytes_reader,
                                           check_plain_size, sha256_of)

# TensorProto.DataType -> dtype name
ONNX_DTYPES = {1: "F32", 2: "U8", 3: "I8", 4: "U16", 5: "I16", 6: "I32", 7: "I64", 9: "BOOL", 10: "F16", 11: "F64",
               12: "U32", 13: "U64", 16: "BF16"}
DTYPE_CODES = {name: code for code, name in ONNX_DTYPES.items()}
EXTERNAL_THRESHOLD = 1 << 30  # exports larger than this keep their weights in an external-data file


def read(source: Source) -> ModelFile:
    import onnx
    from google.protobuf.message import DecodeError
    from onnx import numpy_helper

    path = source.name
    try:
        model = onnx.load_model_from_string(source.read(0, source.size))
    except (DecodeError, ValueError, RuntimeError, OSError) as exc:
        raise FormatError(f"{path}: not a readable ONNX model ({type(exc).__name__}: {exc})") from None
    if not model.graph.node and not model.graph.initializer:
        raise FormatError(f"{path}: an ONNX model with no nodes and no initializers")
    if model.graph.sparse_initializer:
        raise FormatError(f"{path}: sparse initializers are not supported")
    consumers = {}
    for node in model.graph.node:
        for name in node.input:
            consumers.setdefault(name, node.op_type)
    tensors, files = [], [source]
    for init in model.graph.initializer:
        dtype = ONNX_DTYPES.get(init.data_type)
        if dtype is None:
            raise FormatError(f"{path}: initializer {init.name} has ONNX data type {init.data_type}, which is not supported")
        shape = [int(d) for d in init.dims]
        if init.data_location == onnx.TensorProto.EXTERNAL:
            info = {e.key: e.value for e in init.external_data}
            if source.folder is None:
                raise FormatError(f"{path}: initializer {init.name} keeps its data in an external file, which a model "
                                  "held as bytes cannot have; ingest it from its folder")
            folder = source.folder.resolve()
            target = (folder / info.get("location", "")).resolve()
            if folder not in target.parents or not target.is_file():
                raise FormatError(f"{path}: initializer {init.name} names external data {info.get('location')!r}, "
                                  "which is not a file inside the model's folder")
            offset = int(info.get("offset", 0))
            length = int(info.get("length", target.stat().st_size - offset))
            if offset + length > target.stat().st_size:
                raise FormatError(f"{path}: initializer {init.name} needs bytes {offset}..{offset + length} of "
                                  f"{target.name}, which has {target.stat().st_size}")
            if str(target) not in [f.name for f in files]:
                files.append(FileSource(target))
            external = next(f for f in files if f.name == str(target))
            check_plain_size(init.name, dtype, shape, length)
            tensors.append(TensorEntry(init.name, dtype, shape, length, external.reader(offset)))
        else:
            if init.HasField("raw_data"):
                data = init.raw_data
            else:  # typed fields (float_data, int64_data, ...): the same values as little-endian bytes
                array = numpy_helper.to_array(init)
                data = array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes()
            check_plain_size(init.name, dtype, shape, len(data))
            tensors.append(TensorEntry(init.name, dtype, shape, len(data), bytes_reader(data)))
    skeleton = onnx.ModelProto()
    skeleton.CopyFrom(model)
    for init in skeleton.graph.initializer:
        for name in ("raw_data", "float_data", "int32_data", "int64_data", "double_data", "uint64_data", "string_data"):
            init.ClearField(name)
        init.ClearField("external_data")
        init.data_location = onnx.TensorProto.DEFAULT
    config = {
        "ir_version": model.ir_version,
        "producer": f"{model.producer_name} {model.producer_version}".strip(),
        "opsets": {op.domain or "ai.onnx": op.version for op in model.opset_import},
        "graph": model.graph.name,
        "inputs": [i.name for i in model.graph.input],
        "outputs": [o.name for o in model.graph.output],
        "metadata": {p.key: p.value for p in model.metadata_props},
        "_initializer_ops": {t.name: consumers[t.name] for t in tensors if t.name in consumers},
    }
    architecture = config["metadata"].get("architecture") or model.graph.name or None
    return ModelFile("onnx", architecture, config, tensors, sha256_of(files), skeleton.SerializeToString())


def write(model: ModelFile, path: Path) -> None:
    import onnx
    from onnx import helper

    by_name = {t.name: t for t in model.tensors}
    if model.format == "onnx" and model.skeleton:
        proto = onnx.ModelProto()
        proto.ParseFromString(model.skeleton)
    else:  # weights only: a graph of Identity nodes, one output per tensor, so the file loads and lists them
        if any(t.dtype not in DTYPE_CODES for t in model.tensors):
            raise FormatError("this model has tensors of types ONNX cannot hold; export it as gguf")
        initializers = []
        for t in model.tensors:  # data filled in below, like a stored skeleton's
            init = onnx.TensorProto(name=t.name, data_type=DTYPE_CODES[t.dtype])
            init.dims.extend(t.shape)
            initializers.append(init)
        nodes = [helper.make_node("Identity", [t.name], [f"{t.name}:out"]) for t in model.tensors]
        outputs = [helper.make_tensor_value_info(f"{t.name}:out", DTYPE_CODES[t.dtype], t.shape) for t in model.tensors]
        graph = helper.make_graph(nodes, model.architecture or "weights", [], outputs, initializers)
        proto = helper.make_model(graph, producer_name="hartonomous")
    external = sum(t.byte_size for t in model.tensors) > EXTERNAL_THRESHOLD
    data_file = path.with_name(path.name + ".data")
    offset = 0
    with (data_file.open("wb") if external else _NoFile()) as sidecar:
        for init in proto.graph.initializer:
            tensor = by_name.get(init.name)
            if tensor is None:
                raise FormatError(f"the stored graph names initializer {init.name}, which the model has no tensor for")
            if external:
                for piece in tensor.chunks():
                    sidecar.write(piece)
                init.data_location = onnx.TensorProto.EXTERNAL
                for key, value in (("location", data_file.name), ("offset", str(offset)),
                                   ("length", str(tensor.byte_size))):
                    entry = init.external_data.add()
                    entry.key, entry.value = key, value
                offset += tensor.byte_size
            else:
                init.raw_data = tensor.read()
    path.write_bytes(proto.SerializeToString())


class _NoFile:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False
