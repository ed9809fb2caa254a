"""A small ONNX evaluator written from the operator specification (onnx/docs/Operators.md, the
versions of opset 13) on top of torch's kernels, for checking the files Hone exports where OpenCV
cannot run them. Debian's onnx 1.12 has no reference evaluator and Debian has no onnxruntime.

Covers exactly the ops and attributes Hone writes; anything else raises NotImplementedError, so a
new form must be added here (from the spec) before a test can pass with it. float32 throughout.
"""
import math

import numpy as np
import onnx
import onnx.numpy_helper
import torch
import torch.nn.functional as F


def _attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _window_padding(size, kernel, stride, dilation, begin, end, ceil_mode):
    """Output length and the padding needed after the input (the declared end padding plus what
    the last window of ceil_mode reaches beyond it)."""
    extent = (kernel - 1) * dilation + 1
    span = size + begin + end - extent
    out = (-(-span // stride) if ceil_mode else span // stride) + 1
    reach = (out - 1) * stride + extent - (size + begin)
    return out, max(reach, end)


def _pool(x, a, kind):
    kh, kw = a["kernel_shape"]
    sh, sw = a.get("strides", [1, 1])
    dh, dw = a.get("dilations", [1, 1]) if kind == "max" else (1, 1)
    t, l, b, r = a.get("pads", [0, 0, 0, 0])
    ceil = bool(a.get("ceil_mode", 0))
    _, bh = _window_padding(x.shape[2], kh, sh, dh, t, b, ceil)
    _, bw = _window_padding(x.shape[3], kw, sw, dw, l, r, ceil)
    if kind == "max":
        xp = F.pad(x, (l, bw, t, bh), value=-math.inf)
        return F.max_pool2d(xp, (kh, kw), (sh, sw), 0, (dh, dw))
    # The average over the elements of the window that count: input elements, and with
    # count_include_pad the declared padding too, never what ceil_mode reaches beyond it.
    ones = torch.ones_like(x)
    if a.get("count_include_pad", 0):
        ones = F.pad(ones, (l, r, t, b), value=1.0)
        mask = F.pad(ones, (0, bw - r, 0, bh - b))
    else:
        mask = F.pad(ones, (l, bw, t, bh))
    xp = F.pad(x, (l, bw, t, bh))
    total = F.avg_pool2d(xp, (kh, kw), (sh, sw)) * (kh * kw)
    count = F.avg_pool2d(mask, (kh, kw), (sh, sw)) * (kh * kw)
    return total / count


def _node(node, v):
    a = _attrs(node)
    op = node.op_type
    x = v[0]
    if op == "Conv":
        w = v[1]
        t, l, b, r = a.get("pads", [0, 0, 0, 0])
        if "kernel_shape" in a:
            assert list(a["kernel_shape"]) == list(w.shape[2:])
        return F.conv2d(F.pad(x, (l, r, t, b)), w, v[2] if len(v) > 2 else None,
                        a.get("strides", [1, 1]), 0, a.get("dilations", [1, 1]), a.get("group", 1))
    if op == "BatchNormalization":
        shape = (1, -1) + (1,) * (x.dim() - 2)
        scale, bias, mean, var = (t.reshape(shape) for t in v[1:5])
        return (x - mean) / torch.sqrt(var + a.get("epsilon", 1e-5)) * scale + bias
    if op == "Relu":
        return torch.relu(x)
    if op == "Sigmoid":
        return torch.sigmoid(x)
    if op == "Tanh":
        return torch.tanh(x)
    if op == "Erf":
        return torch.erf(x)
    if op == "Sqrt":
        return torch.sqrt(x)
    if op == "LeakyRelu":
        alpha = a.get("alpha", 0.01)
        return torch.where(x >= 0, x, alpha * x)
    if op == "HardSigmoid":
        return torch.clamp(a.get("alpha", 0.2) * x + a.get("beta", 0.5), 0.0, 1.0)
    if op == "Clip":
        lo = v[1] if len(v) > 1 and v[1] is not None else None
        hi = v[2] if len(v) > 2 and v[2] is not None else None
        if lo is not None:
            x = torch.maximum(x, lo)
        if hi is not None:
            x = torch.minimum(x, hi)
        return x
    if op in ("Add", "Sub", "Mul", "Div", "Pow"):
        f = {"Add": torch.add, "Sub": torch.sub, "Mul": torch.mul, "Div": torch.div,
             "Pow": torch.pow}[op]
        return f(v[0], v[1])
    if op == "Gemm":
        A = v[0].t() if a.get("transA", 0) else v[0]
        B = v[1].t() if a.get("transB", 0) else v[1]
        y = a.get("alpha", 1.0) * (A @ B)
        if len(v) > 2 and v[2] is not None:
            y = y + a.get("beta", 1.0) * v[2]
        return y
    if op == "MatMul":
        return torch.matmul(v[0], v[1])
    if op == "Concat":
        return torch.cat(v, a["axis"])
    if op == "Flatten":
        axis = a.get("axis", 1)
        axis = axis + x.dim() if axis < 0 else axis
        return x.reshape(int(np.prod(x.shape[:axis])), -1)
    if op == "Reshape":
        shape = [int(s) for s in v[1]]
        shape = [x.shape[i] if s == 0 else s for i, s in enumerate(shape)]
        return x.reshape(shape)
    if op == "Transpose":
        return x.permute(*a["perm"])
    if op == "Identity":
        return x
    if op == "Softmax":
        return torch.softmax(x, a.get("axis", -1))
    if op == "MaxPool":
        return _pool(x, a, "max")
    if op == "AveragePool":
        return _pool(x, a, "avg")
    if op == "GlobalAveragePool":
        return x.mean(dim=tuple(range(2, x.dim())), keepdim=True)
    if op in ("ReduceMean", "ReduceSum"):
        axes = a.get("axes") if op == "ReduceMean" else (
            [int(i) for i in v[1]] if len(v) > 1 and v[1] is not None else None)
        if not axes:
            axes = list(range(x.dim()))
        f = torch.mean if op == "ReduceMean" else torch.sum
        return f(x, dim=tuple(axes), keepdim=bool(a.get("keepdims", 1)))
    if op == "Slice":
        starts, ends = [int(i) for i in v[1]], [int(i) for i in v[2]]
        axes = [int(i) for i in v[3]] if len(v) > 3 else list(range(len(starts)))
        steps = [int(i) for i in v[4]] if len(v) > 4 else [1] * len(starts)
        index = [slice(None)] * x.dim()
        for s, e, ax, st in zip(starts, ends, axes, steps):
            assert st > 0, "negative steps are not in this evaluator"
            index[ax] = slice(s, e, st)
        return x[tuple(index)]
    if op == "Split":
        axis = a.get("axis", 0)
        n = len(node.output)
        sizes = [int(i) for i in v[1]] if len(v) > 1 and v[1] is not None else \
            [x.shape[axis] // n] * n
        return list(torch.split(x, sizes, dim=axis))
    if op == "Pad":
        pads = [int(i) for i in v[1]]
        r = x.dim()
        value = float(v[2]) if len(v) > 2 and v[2] is not None else 0.0
        mode = a.get("mode", b"constant")
        mode = mode.decode() if isinstance(mode, bytes) else mode
        width = [(pads[i], pads[r + i]) for i in range(r)]
        kw = {"constant_values": value} if mode == "constant" else {}
        return torch.from_numpy(np.pad(x.numpy(), width, mode=mode, **kw).astype(np.float32))
    raise NotImplementedError(f"{op} is not in the reference evaluator")


def run(model, x):
    """The outputs of `model` for the single input x (numpy), as numpy arrays."""
    values = {t.name: torch.from_numpy(onnx.numpy_helper.to_array(t).copy())
              for t in model.graph.initializer}
    values[model.graph.input[0].name] = torch.from_numpy(np.asarray(x, dtype=np.float32))
    for node in model.graph.node:
        ins = [values[n] if n else None for n in node.input]
        out = _node(node, ins)
        outs = out if isinstance(out, list) else [out]
        assert len(outs) == len(node.output), node.op_type
        for name, t in zip(node.output, outs):
            values[name] = t
    return [values[o.name].numpy() for o in model.graph.output]
