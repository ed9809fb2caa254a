#!/usr/bin/python3
"""Writes the seed files the fuzz corpora started from: small valid ONNX
and safetensors files of every data type, and the hostile cases of
test-onnx-file.c and test-safetensors.c as files.  The committed corpora
(corpus/onnx, corpus/safetensors) are these seeds plus what libFuzzer
found, minimised with -merge=1 (see the README).

Usage: /usr/bin/python3 make_seeds.py OUT_FOLDER  (makes OUT/onnx and
OUT/safetensors).  Needs python3-onnx and python3-numpy."""
import json
import os
import struct
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def write(folder, name, data):
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def model_bytes(initializers=(), nodes=(), opset=13):
    graph = helper.make_graph(list(nodes), "g", [], [], initializer=list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    return model.SerializeToString()


def varint(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        out.append(b | (0x80 if v else 0))
        if not v:
            return bytes(out)


def field(number, payload):
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def onnx_seeds(out):
    # every dtype, raw and typed
    values = {
        TensorProto.FLOAT: np.array([1.5, -2, 3e38, 0.1], np.float32),
        TensorProto.DOUBLE: np.array([1, -2, 1e300, 0.1], np.float64),
        TensorProto.FLOAT16: np.array([1, -2, 65504, 6e-8], np.float16),
        TensorProto.INT8: np.array([-128, 127, 0, -1], np.int8),
        TensorProto.UINT8: np.array([255, 0, 1, 128], np.uint8),
        TensorProto.INT16: np.array([-32768, 32767, 0, -1], np.int16),
        TensorProto.UINT16: np.array([65535, 0, 1, 2], np.uint16),
        TensorProto.INT32: np.array([-2**31, 2**31 - 1, 0, 5], np.int32),
        TensorProto.UINT32: np.array([2**32 - 1, 0, 1, 2], np.uint32),
        TensorProto.INT64: np.array([-2**63, 2**63 - 1, 0, 5], np.int64),
        TensorProto.UINT64: np.array([2**64 - 1, 0, 1, 2], np.uint64),
        TensorProto.BOOL: np.array([True, False, True, False]),
    }
    raw, typed = [], []
    for dt, v in values.items():
        name = TensorProto.DataType.Name(dt).lower()
        raw.append(numpy_helper.from_array(v.reshape(2, 2), name + "_raw"))
        typed.append(helper.make_tensor(name + "_typed", dt, [2, 2], v.tolist()))
    bf = helper.make_tensor("bf16", TensorProto.BFLOAT16, [2], [0x3F80, 0xC000])
    write(out, "dtypes-raw.onnx", model_bytes(raw))
    write(out, "dtypes-typed.onnx", model_bytes(typed + [bf]))

    # a small network with a Constant, an If with subgraphs, attributes
    w = numpy_helper.from_array(np.arange(24, dtype=np.float32).reshape(3, 8) / 8, "fc.weight")
    b = numpy_helper.from_array(np.zeros(3, np.float32), "fc.bias")
    const = helper.make_node("Constant", [], ["shape"],
                             value=helper.make_tensor("s", TensorProto.INT64, [2], [1, -1]))
    then_g = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "then", [], [],
                               initializer=[numpy_helper.from_array(np.ones(2, np.float32), "t")])
    else_g = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "else", [], [])
    iff = helper.make_node("If", ["cond"], ["y"], then_branch=then_g, else_branch=else_g)
    conv = helper.make_node("Conv", ["x", "w"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1],
                            strides=[1, 1])
    gemm = helper.make_node("Gemm", ["f", "fc.weight", "fc.bias"], ["logits"], transB=1, alpha=1.0)
    write(out, "network.onnx", model_bytes([w, b], [const, iff, conv, gemm]))

    # hostile tensors
    def bad(name, t):
        write(out, name, model_bytes([t]))
    t = numpy_helper.from_array(np.zeros(4, np.float32), "short")
    t.dims[:] = [512, 1000]
    bad("raw-short.onnx", t)
    t = numpy_helper.from_array(np.zeros(4, np.float32), "long")
    t.dims[:] = [3]
    bad("raw-long.onnx", t)
    t = helper.make_tensor("typed", TensorProto.FLOAT, [4], [1, 2, 3, 4])
    t.dims[:] = [5]
    bad("typed-count.onnx", t)
    t = numpy_helper.from_array(np.zeros(4, np.float32), "neg")
    t.dims[:] = [4, -1]
    bad("negative-dim.onnx", t)
    t = numpy_helper.from_array(np.zeros(4, np.float32), "huge")
    t.dims[:] = [1 << 20, 1 << 20, 1 << 10]
    bad("huge-dims.onnx", t)
    t = numpy_helper.from_array(np.zeros(4, np.float32), "over")
    t.dims[:] = [1 << 62, 4, 4]
    bad("overflow-dims.onnx", t)
    t = numpy_helper.from_array(np.zeros(4, np.float32), "odd")
    t.data_type = 99
    bad("unknown-dtype.onnx", t)
    t = numpy_helper.from_array(np.zeros(4, np.float32), "ext")
    t.ClearField("raw_data")
    t.data_location = TensorProto.EXTERNAL
    for k, v in (("location", "../outside.bin"), ("offset", "0"), ("length", "16")):
        e = t.external_data.add()
        e.key, e.value = k, v
    bad("external-dotdot.onnx", t)
    t.external_data[0].value = "/etc/passwd"
    bad("external-absolute.onnx", t)
    # fuzz-onnx's model folder holds weights.bin (64 bytes), sub/w.bin (16),
    # link.bin -> weights.bin and outside.bin -> /etc/hostname
    for name, entries in (("external-ok", [("location", "weights.bin"), ("offset", "16"),
                                           ("length", "16")]),
                          ("external-sub", [("location", "sub/w.bin")]),
                          ("external-link", [("location", "link.bin")]),
                          ("external-outside", [("location", "outside.bin")]),
                          ("external-folder", [("location", "sub")]),
                          ("external-past-end", [("location", "weights.bin"), ("offset", "60")]),
                          ("external-length", [("location", "weights.bin"), ("length", "12")])):
        t = numpy_helper.from_array(np.zeros(4, np.float32), "ext")
        t.ClearField("raw_data")
        t.data_location = TensorProto.EXTERNAL
        for k, v in entries:
            e = t.external_data.add()
            e.key, e.value = k, v
        bad(name + ".onnx", t)

    # nesting: model { graph { node { attribute { g { ... } } } } }, 70 deep
    inner = b""
    for _ in range(22):
        inner = field(1, field(5, field(6, inner)))
    write(out, "deep.onnx", field(7, inner))
    # many empty nodes: each 2 bytes in the file, a whole struct in memory
    write(out, "empty-nodes.onnx", field(7, b"\x0a\x00" * 20000))
    write(out, "empty.onnx", b"")
    write(out, "no-graph.onnx", b"\x08\x07")
    good = model_bytes([w])
    write(out, "truncated.onnx", good[: len(good) // 2])


def st_file(header, data=b""):
    h = json.dumps(header, separators=(",", ":")).encode() if not isinstance(header, bytes) else header
    return struct.pack("<Q", len(h)) + h + data


def safetensors_seeds(out):
    dtypes = [("F32", 4), ("F16", 2), ("BF16", 2), ("F64", 8), ("I64", 8), ("I32", 4),
              ("I16", 2), ("I8", 1), ("U8", 1), ("BOOL", 1), ("U16", 2), ("U32", 4),
              ("U64", 8), ("F8_E4M3", 1), ("F8_E5M2", 1), ("C64", 8)]
    header, data = {"__metadata__": {"format": "pt"}}, b""
    for name, size in dtypes:
        n = 4 * size
        header[name.lower()] = {"dtype": name, "shape": [2, 2],
                                "data_offsets": [len(data), len(data) + n]}
        data += bytes((i * 37 + 11) & 0xFF for i in range(n))
    write(out, "dtypes.safetensors", st_file(header, data))
    write(out, "empty-header.safetensors", st_file({}))
    write(out, "scalar.safetensors",
          st_file({"s": {"dtype": "F32", "shape": [], "data_offsets": [0, 4]}}, b"\0\0\x80?"))
    write(out, "zero-size.safetensors",
          st_file({"e": {"dtype": "F32", "shape": [0, 3], "data_offsets": [0, 0]}}))
    T = lambda dt, shape, off: {"dtype": dt, "shape": shape, "data_offsets": off}
    bad = {
        "overlap": ({"a": T("U8", [8], [0, 8]), "b": T("U8", [8], [4, 12])}, 12),
        "gap": ({"a": T("U8", [8], [0, 8]), "b": T("U8", [8], [12, 20])}, 20),
        "reversed": ({"a": T("U8", [0], [8, 0])}, 8),
        "size-mismatch": ({"a": T("F32", [2], [0, 4])}, 4),
        "shape-overflow": ({"a": T("U8", [4294967296, 4294967296, 2], [0, 0])}, 0),
        "unknown-dtype": ({"a": T("Q8", [2], [0, 2])}, 2),
        "metadata-number": ({"__metadata__": {"k": 1}}, 0),
        "truncated": ({"a": T("F32", [4], [0, 16])}, 8),
        "trailing": ({"a": T("F32", [2], [0, 8])}, 12),
    }
    for name, (h, n) in bad.items():
        write(out, name + ".safetensors", st_file(h, bytes(n)))
    write(out, "duplicate.safetensors",
          st_file(b'{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},'
                  b'"a":{"dtype":"U8","shape":[4],"data_offsets":[4,8]}}', bytes(8)))
    write(out, "deep-json.safetensors", st_file(b"[" * 200 + b"]" * 200))
    write(out, "header-too-long.safetensors", struct.pack("<Q", 100000001) + b"{}")
    write(out, "bad-utf8.safetensors", st_file(b'{"a\xff":{}}'))
    write(out, "short.safetensors", b"\x02\0\0\0")


TESTDATA = "/usr/share/libonnx-testdata/data/node"
TESTDATA_MODELS = ["test_conv_with_strides_padding", "test_gemm_default_single_elem_vector_bias",
                   "test_if", "test_loop11", "test_constant", "test_batchnorm_example",
                   "test_cast_FLOAT_to_FLOAT16", "test_reshape_extended_dims",
                   "test_maxpool_2d_pads", "test_scan9_sum"]


def main():
    out = sys.argv[1]
    for sub, make in (("onnx", onnx_seeds), ("safetensors", safetensors_seeds)):
        os.makedirs(os.path.join(out, sub), exist_ok=True)
        make(os.path.join(out, sub))
    # a few of ONNX's own node tests (Debian's libonnx-testdata), when present
    for name in TESTDATA_MODELS:
        path = os.path.join(TESTDATA, name, "model.onnx")
        if os.path.exists(path):
            with open(path, "rb") as f:
                write(os.path.join(out, "onnx"), name + ".onnx", f.read())


if __name__ == "__main__":
    main()
