#!/usr/bin/python3
"""Writes the fixtures of Hone's PyTorch parity suite (tests/parity/test-parity.c).

For every case, PyTorch computes on fixed random weights and inputs what Hone must compute too, and
this script stores all of it in one safetensors file per case, plus a manifest (JSON) that says what
each case is: the op and its attributes (ONNX names and conventions, as in engine/hone-ops.h), which
tensors are model inputs, parameters and buffers, whether the forward runs in training mode, and the
tolerances of the comparison.

Two kinds of case:
  op    one node of engine/hone-ops.h: its inputs, parameters and buffers, the forward output "y",
        a random upstream gradient "dy", the gradients "grad/NAME" of every input and parameter, and
        for BatchNorm in training the running statistics after the forward, "after/NAME". An op
        with several outputs (Split) has "y:0", "y:1", ... and "dy:0", "dy:1", ... instead.
  net   a small network in training mode under torch state_dict names (cnn-s, a ResNet BasicBlock
        with downsample, MobileNetV2 InvertedResidual blocks): the weights (also alone, as a
        state_dict file that Hone loads strictly by name), "input", "labels", "logits", the
        cross-entropy "loss" and "grad/logits", "grad/NAME" of every parameter, "after/NAME" of
        every BatchNorm running statistic after the forward, and the parameters after one optimizer
        step from the same gradients: "sgd/NAME" (SGD, momentum and weight decay) and "adam/NAME".

Everything is float32 on the CPU with one thread and a fixed seed per case (derived from the case's
name, so adding a case changes no other), so the files are the same on every run. The parity of the
losses (class weights, label smoothing, soft targets, focal), optimizers and schedules on their own
is not here: make_optim_fixtures.py and test-optim-parity.c have it.

The safetensors files are written by hand (8-byte little-endian header length, JSON header, data):
the python safetensors package is not a Debian package.

Run with Debian's Python, which has python3-torch and python3-torchvision:
    /usr/bin/python3 tests/parity/make_fixtures.py OUTDIR [--manifest PATH]
"""
import argparse
import json
import math
import os
import sys
import zlib

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hone_safetensors import save_file  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))

# Default comparison: |hone - torch| <= ATOL + RTOL * |torch|, elementwise.
RTOL = 1e-4
ATOL = 1e-5


def find_reference_dir():
    """The folder holding cnn_s.py: $HONE_REFERENCE_DIR, else ../shared/reference from the source
    root (the project's layout), else the same one level further up (a git worktree kept in a
    sub-folder beside the main checkout)."""
    candidates = []
    if os.environ.get("HONE_REFERENCE_DIR"):
        candidates.append(os.environ["HONE_REFERENCE_DIR"])
    candidates += [
        os.path.join(SOURCE_ROOT, "..", "shared", "reference"),
        os.path.join(SOURCE_ROOT, "shared", "reference"),
        os.path.join(SOURCE_ROOT, "..", "..", "shared", "reference"),
    ]
    for c in candidates:
        if os.path.isfile(os.path.join(c, "cnn_s.py")):
            return os.path.normpath(c)
    sys.exit("make_fixtures.py: cnn_s.py not found in any of: " + ", ".join(candidates)
             + " (set HONE_REFERENCE_DIR to the folder that holds it)")


# ---- helpers -------------------------------------------------------------------------------------

def generator(name):
    """A generator seeded from the case's name, independent of the other cases."""
    g = torch.Generator()
    g.manual_seed(zlib.crc32(name.encode("utf-8")))
    return g


def uniform(g, shape, lo=-1.0, hi=1.0):
    return lo + (hi - lo) * torch.rand(shape, generator=g, dtype=torch.float32)


def normal(g, shape, std=1.0):
    return std * torch.randn(shape, generator=g, dtype=torch.float32)


def away_from_zero(g, shape, lo=0.5, hi=1.5):
    """Random signs times magnitudes in [lo, hi): divisors that stay away from 0."""
    sign = torch.where(torch.rand(shape, generator=g) < 0.5, -1.0, 1.0)
    return sign * uniform(g, shape, lo, hi)


class Fixtures:
    def __init__(self, outdir, manifest_dir):
        self.outdir = outdir
        self.manifest_dir = manifest_dir
        self.cases = []
        self.names = set()

    def add(self, entry, tensors, extra_files=None):
        name = entry["name"]
        assert name not in self.names, name
        self.names.add(name)
        for t in tensors.values():
            assert t.dtype != torch.float32 or torch.isfinite(t).all(), name
        fname = f"{entry['kind']}-{name}.safetensors"
        save_file(tensors, os.path.join(self.outdir, fname))
        entry["file"] = os.path.relpath(os.path.join(self.outdir, fname), self.manifest_dir)
        for key, (suffix, more) in (extra_files or {}).items():
            f2 = f"{entry['kind']}-{name}-{suffix}.safetensors"
            save_file(more, os.path.join(self.outdir, f2))
            entry[key] = os.path.relpath(os.path.join(self.outdir, f2), self.manifest_dir)
        self.cases.append(entry)


# ---- single ops ----------------------------------------------------------------------------------

def round_up(v):
    """v rounded up to two significant digits: 2.24e-05 -> 2.3e-05."""
    e = math.floor(math.log10(v)) - 1
    return float(f"{math.ceil(v / 10.0 ** e)}e{e}")


def run_op(values, fn, dy, dtype):
    """Runs fn on copies of the values in dtype: (output, {"grad/NAME": ...}, {"after/NAME": ...}),
    and dy (None: a random one is drawn by the caller from the output's shape). An fn that returns
    a tuple (Split) has outputs "y:0", "y:1", ... with upstream gradients "dy:0", "dy:1", ..."""
    leaves = []
    args = []
    for vname, role, t in values:
        t = t.detach().clone().to(dtype)
        if role in ("input", "param"):
            t.requires_grad_(True)
            leaves.append((vname, t))
        args.append(t)
    y = fn(*args)
    if isinstance(y, (tuple, list)):
        ys = list(y)
        dys = [dy(yk.shape, k).to(dtype) for k, yk in enumerate(ys)]
        out = {f"y:{k}": yk.detach() for k, yk in enumerate(ys)}
        dy = {f"dy:{k}": d for k, d in enumerate(dys)}
    else:
        ys = [y]
        dys = [dy(y.shape).to(dtype)]
        out = {"y": y.detach()}
        dy = dys[0]
    grads = torch.autograd.grad(ys, [t for _, t in leaves], dys, allow_unused=True)
    for (vname, t), gr in zip(leaves, grads):
        out["grad/" + vname] = torch.zeros_like(t) if gr is None else gr.detach()
    for (vname, role, _), t in zip(values, args):
        if role == "buffer":
            out["after/" + vname] = t.detach().clone()
    return out, dy


def op_case(fx, name, op, attrs, values, fn, training=True, rtol=RTOL, atol=ATOL):
    """values: list of (name, role, tensor) in the builder's argument order; role is "input"
    (batched, dimension 0 is the batch), "param" (trainable, full shape) or "buffer" (state the
    op may update in training). fn(*tensors) computes the output with torch; it may update
    buffers in place. The gradient of every input and parameter is taken against a random
    upstream gradient.

    Tolerances: the default ones, except where PyTorch's own float32 result is further than the
    default atol from the same computation in float64 (large reductions with cancellation, where
    the summation order decides the last bits). There the tensor gets atol = twice PyTorch's
    largest float32 error, rounded up: Hone, summing in another order, may be as far off the
    other way. The manifest records the reason next to the loosened tolerance."""
    g = generator("dy/" + name)
    drawn = {}

    def draw(shape, k=None):
        key = "dy" if k is None else f"dy:{k}"
        if key not in drawn:
            drawn[key] = normal(g, shape)
        return drawn[key]

    out32, dy = run_op(values, fn, draw, torch.float32)
    out64, _ = run_op(values, fn, draw, torch.float64)
    tensors = {vname: t.detach().clone().float() for vname, _, t in values}
    if isinstance(dy, dict):
        tensors.update(dy)
    else:
        tensors["dy"] = dy
    tensors.update(out32)
    tolerances = {}
    for key, t32 in out32.items():
        err = (t32.double() - out64[key]).abs().max().item() if t32.numel() else 0.0
        if 2 * err > atol:
            loose = round_up(2 * err)
            tolerances[key] = {
                "rtol": rtol, "atol": loose,
                "why": f"PyTorch's float32 result is up to {err:.3g} from float64 here "
                       "(summation order in a large reduction)"}
    entry = {
        "name": name, "kind": "op", "op": op, "attrs": attrs, "training": training,
        "values": [{"name": v, "role": r} for v, r, _ in values],
        "rtol": rtol, "atol": atol, "tolerances": tolerances,
    }
    fx.add(entry, tensors)


def torch_pad(pads):
    """ONNX pads (top, left, bottom, right) as F.pad's (left, right, top, bottom)."""
    t, l, b, r = pads
    return (l, r, t, b)


def conv_cases(fx):
    def conv(name, n, c, hw, m, k, stride=(1, 1), pads=(0, 0, 0, 0), dilation=(1, 1), group=1,
             bias=True, **kw):
        g = generator(name)
        kh, kw_ = k
        x = uniform(g, (n, c) + hw)
        w = uniform(g, (m, c // group, kh, kw_)) / math.sqrt(c // group * kh * kw_) * 2
        values = [("x", "input", x), ("w", "param", w)]
        if bias:
            values.append(("b", "param", uniform(g, (m,))))

        def fn(x, w, b=None):
            t, l, bo, r = pads
            if t == bo and l == r:
                return F.conv2d(x, w, b, stride, (t, l), dilation, group)
            # PyTorch's Conv2d pads symmetrically only: asymmetric ONNX pads are an explicit
            # zero F.pad before an unpadded convolution (what the ONNX exporter undoes).
            return F.conv2d(F.pad(x, torch_pad(pads)), w, b, stride, 0, dilation, group)

        attrs = {"strides": list(stride), "pads": list(pads), "dilations": list(dilation),
                 "group": group}
        op_case(fx, name, "Conv", attrs, values, fn, **kw)

    conv("conv_3x3_pad1_bias", 2, 3, (9, 9), 4, (3, 3), pads=(1, 1, 1, 1))
    conv("conv_3x3_stride2_nobias", 2, 4, (10, 10), 6, (3, 3), stride=(2, 2), pads=(1, 1, 1, 1),
         bias=False)
    conv("conv_3x3_asym_pad_stride2", 2, 3, (9, 8), 5, (3, 3), stride=(2, 2), pads=(1, 0, 2, 1))
    conv("conv_3x3_asym_pad_nobias", 1, 2, (6, 7), 3, (3, 3), pads=(0, 2, 1, 0), bias=False)
    conv("conv_3x3_dilation2", 2, 3, (11, 11), 4, (3, 3), pads=(2, 2, 2, 2), dilation=(2, 2))
    conv("conv_3x3_groups2", 2, 4, (7, 7), 6, (3, 3), pads=(1, 1, 1, 1), group=2)
    conv("conv_5x5_groups3_stride2_nobias", 2, 6, (11, 11), 9, (5, 5), stride=(2, 2),
         pads=(2, 2, 2, 2), group=3, bias=False)
    conv("conv_depthwise_3x3", 2, 6, (8, 8), 6, (3, 3), pads=(1, 1, 1, 1), group=6, bias=False)
    conv("conv_depthwise_3x3_stride2_bias", 2, 8, (9, 9), 8, (3, 3), stride=(2, 2),
         pads=(1, 1, 1, 1), group=8)
    conv("conv_depthwise_multiplier2", 2, 4, (7, 7), 8, (3, 3), pads=(1, 1, 1, 1), group=4)
    conv("conv_depthwise_asym_pad_stride2", 2, 5, (8, 8), 5, (3, 3), stride=(2, 2),
         pads=(0, 0, 1, 1), group=5, bias=False)
    conv("conv_depthwise_dilation2", 1, 4, (9, 9), 4, (3, 3), pads=(2, 2, 2, 2),
         dilation=(2, 2), group=4)
    conv("conv_1x1_bias", 2, 8, (5, 5), 5, (1, 1))
    conv("conv_1x1_stride2_nobias", 2, 6, (8, 8), 10, (1, 1), stride=(2, 2), bias=False)
    conv("conv_1x3_stride2x1_dilation1x2", 2, 3, (6, 9), 4, (1, 3), stride=(2, 1),
         pads=(0, 2, 0, 2), dilation=(1, 2))
    conv("conv_7x7_stride2_pad3_stem", 2, 3, (16, 16), 8, (7, 7), stride=(2, 2),
         pads=(3, 3, 3, 3), bias=False)
    conv("conv_3x3_wide_32to32", 2, 32, (8, 8), 32, (3, 3), pads=(1, 1, 1, 1))
    # Larger images, where the im2col and depthwise kernels work in blocks.
    conv("conv_3x3_16to24_32x32", 2, 16, (32, 32), 24, (3, 3), pads=(1, 1, 1, 1))
    conv("conv_3x3_16to24_33x31_stride2", 2, 16, (33, 31), 24, (3, 3), stride=(2, 2),
         pads=(1, 1, 1, 1), bias=False)
    conv("conv_depthwise_32ch_28x28", 2, 32, (28, 28), 32, (3, 3), pads=(1, 1, 1, 1), group=32)
    conv("conv_depthwise_32ch_29x29_stride2", 2, 32, (29, 29), 32, (3, 3), stride=(2, 2),
         pads=(1, 1, 1, 1), group=32, bias=False)
    conv("conv_depthwise_5x5_16ch_20x20", 2, 16, (20, 20), 16, (5, 5), pads=(2, 2, 2, 2),
         group=16)
    # 1x1 convolutions with at least 256 output pixels take the pointwise path (one GEMM per
    # sample) rather than im2col.
    conv("conv_1x1_pointwise_20x20", 2, 12, (20, 20), 20, (1, 1))
    conv("conv_1x1_pointwise_stride2_40x40", 2, 8, (40, 40), 12, (1, 1), stride=(2, 2),
         bias=False)
    # im2col in several chunks of samples (8 samples of 0.3 M floats of columns each, against
    # a 1 M float workspace), and one sample unfolded a block of output rows at a time.
    conv("conv_3x3_32to16_32x32_batch8", 8, 32, (32, 32), 16, (3, 3), pads=(1, 1, 1, 1))
    conv("conv_3x3_32to32_64x64_row_blocks", 1, 32, (64, 64), 32, (3, 3), pads=(1, 1, 1, 1),
         bias=False)
    # Padding wider than the input: every window sees mostly zeros.
    conv("conv_pads_wider_than_input", 2, 3, (2, 3), 4, (3, 3), pads=(3, 2, 3, 4))
    conv("conv_depthwise_pads_wider_than_input", 2, 4, (2, 2), 4, (3, 3), pads=(3, 3, 2, 2),
         group=4)


def batch_norm_cases(fx):
    def bn(name, shape, eps=1e-5, momentum=0.1, training=True, **kw):
        g = generator(name)
        c = shape[1]
        x = uniform(g, shape) * 2 + 0.5
        values = [("x", "input", x),
                  ("scale", "param", uniform(g, (c,), 0.5, 1.5)),
                  ("bias", "param", uniform(g, (c,))),
                  ("mean", "buffer", uniform(g, (c,), -0.5, 0.5)),
                  ("var", "buffer", uniform(g, (c,), 0.5, 2.0))]

        def fn(x, scale, bias, mean, var):
            # F.batch_norm updates mean and var in place in training, with the unbiased batch
            # variance, and normalises with the biased one.
            return F.batch_norm(x, mean, var, scale, bias, training, momentum, eps)

        op_case(fx, name, "BatchNormalization", {"epsilon": eps, "momentum": momentum},
                values, fn, training=training, **kw)

    bn("batchnorm_train_4d", (4, 5, 6, 6))
    bn("batchnorm_train_4d_eps1e-3_momentum0.3", (3, 4, 5, 7), eps=1e-3, momentum=0.3)
    bn("batchnorm_train_2d", (8, 6))
    bn("batchnorm_train_batch1", (1, 3, 4, 4))
    # 16 * 14 * 14 = 3136 values per channel: summation order shows here first.
    bn("batchnorm_train_large", (16, 8, 14, 14))
    bn("batchnorm_eval_4d", (4, 5, 6, 6), training=False)
    bn("batchnorm_eval_2d", (5, 7), eps=1e-3, training=False)


def activation_cases(fx):
    shape = (2, 3, 4, 5)

    def act(name, op, attrs, fn, lo=-4.0, hi=4.0, special=()):
        g = generator(name)
        x = uniform(g, shape, lo, hi)
        flat = x.view(-1)
        for i, v in enumerate(special):
            flat[7 * i + 3] = v
        op_case(fx, name, op, attrs, [("x", "input", x)], fn)

    # x = 0 exactly: PyTorch's ReLU passes no gradient there (threshold_backward, y > 0).
    act("relu", "Relu", {}, F.relu, special=(0.0, 0.0))
    # Clip with random inputs only: at x == min or max torch.clamp passes the gradient but
    # F.hardtanh (ReLU6) does not, so PyTorch has no single answer there.
    act("clip_0_6", "Clip", {"min": 0.0, "max": 6.0}, lambda x: torch.clamp(x, 0.0, 6.0),
        lo=-2.0, hi=8.0)
    act("clip_sym_0.5", "Clip", {"min": -0.5, "max": 0.5}, lambda x: torch.clamp(x, -0.5, 0.5),
        lo=-1.0, hi=1.0)
    act("sigmoid", "Sigmoid", {}, torch.sigmoid, lo=-8.0, hi=8.0)
    act("hardsigmoid_pytorch", "HardSigmoid", {"alpha": 1.0 / 6.0, "beta": 0.5}, F.hardsigmoid,
        lo=-5.0, hi=5.0)
    act("hardsigmoid_onnx_default", "HardSigmoid", {"alpha": 0.2, "beta": 0.5},
        lambda x: torch.clamp(0.2 * x + 0.5, 0.0, 1.0), lo=-4.0, hi=4.0)
    act("silu", "Silu", {}, F.silu, lo=-6.0, hi=6.0)
    act("hardswish", "HardSwish", {}, F.hardswish, lo=-5.0, hi=5.0)
    act("gelu_erf", "Gelu", {"approximate": "none"}, lambda x: F.gelu(x), lo=-5.0, hi=5.0)
    act("gelu_tanh", "Gelu", {"approximate": "tanh"}, lambda x: F.gelu(x, approximate="tanh"),
        lo=-5.0, hi=5.0)


def pool_cases(fx):
    def pool(name, op, shape, k, stride, pads=(0, 0, 0, 0), dilation=(1, 1), ceil_mode=False,
             count_include_pad=False):
        g = generator(name)
        x = uniform(g, shape)
        t, l, b, r = pads
        sym = t == b and l == r
        if op == "MaxPool":
            def fn(x):
                if sym:
                    return F.max_pool2d(x, k, stride, (t, l), dilation, ceil_mode)
                # Asymmetric ONNX pads: pad with -inf, which never wins a window.
                return F.max_pool2d(F.pad(x, torch_pad(pads), value=-math.inf), k, stride, 0,
                                    dilation, ceil_mode)
        else:
            def fn(x):
                if sym:
                    return F.avg_pool2d(x, k, stride, (t, l), ceil_mode, count_include_pad)
                xp = F.pad(x, torch_pad(pads))
                s = F.avg_pool2d(xp, k, stride, 0, ceil_mode, True)
                if count_include_pad:
                    return s
                # Average over the real elements only: the window mean of the zero-padded input
                # divided by the window mean of a mask of real elements.
                ones = F.pad(torch.ones_like(x[:1, :1]), torch_pad(pads))
                return s / F.avg_pool2d(ones, k, stride, 0, ceil_mode, True)
        attrs = {"kernel_shape": list(k), "strides": list(stride), "pads": list(pads),
                 "ceil_mode": ceil_mode}
        if op == "MaxPool":
            attrs["dilations"] = list(dilation)
        else:
            attrs["count_include_pad"] = count_include_pad
        op_case(fx, name, op, attrs, [("x", "input", x)], fn)

    pool("maxpool_2x2_stride2", "MaxPool", (2, 3, 8, 8), (2, 2), (2, 2))
    pool("maxpool_3x3_stride2_pad1", "MaxPool", (2, 3, 9, 9), (3, 3), (2, 2), (1, 1, 1, 1))
    pool("maxpool_3x3_stride2_ceil", "MaxPool", (2, 2, 8, 8), (3, 3), (2, 2), ceil_mode=True)
    # Ceil mode where the last window would start in the right padding: PyTorch drops it.
    pool("maxpool_2x2_stride2_pad1_ceil", "MaxPool", (2, 2, 5, 5), (2, 2), (2, 2), (1, 1, 1, 1),
         ceil_mode=True)
    pool("maxpool_2x2_dilation2", "MaxPool", (2, 2, 7, 7), (2, 2), (1, 1), dilation=(2, 2))
    pool("maxpool_3x2_stride1x2", "MaxPool", (1, 3, 6, 7), (3, 2), (1, 2), (1, 0, 1, 0))
    pool("maxpool_asym_pad", "MaxPool", (2, 2, 7, 7), (2, 2), (2, 2), (0, 0, 1, 1))
    pool("avgpool_2x2_stride2", "AveragePool", (2, 3, 8, 8), (2, 2), (2, 2))
    pool("avgpool_3x3_pad1_include_pad", "AveragePool", (2, 3, 6, 6), (3, 3), (1, 1),
         (1, 1, 1, 1), count_include_pad=True)
    pool("avgpool_3x3_pad1_exclude_pad", "AveragePool", (2, 3, 6, 6), (3, 3), (1, 1),
         (1, 1, 1, 1), count_include_pad=False)
    # Ceil mode with padding: PyTorch's divisor counts the padding but not the part of the last
    # window that lies beyond it.
    pool("avgpool_3x3_stride2_pad1_ceil_include_pad", "AveragePool", (2, 2, 6, 6), (3, 3), (2, 2),
         (1, 1, 1, 1), ceil_mode=True, count_include_pad=True)
    pool("avgpool_3x3_stride2_pad1_ceil_exclude_pad", "AveragePool", (2, 2, 6, 6), (3, 3),
         (2, 2), (1, 1, 1, 1), ceil_mode=True, count_include_pad=False)
    pool("avgpool_3x3_stride2_ceil", "AveragePool", (2, 2, 8, 8), (3, 3), (2, 2), ceil_mode=True)
    pool("avgpool_asym_pad_include_pad", "AveragePool", (2, 2, 7, 7), (2, 2), (2, 2),
         (0, 0, 1, 1), count_include_pad=True)
    pool("avgpool_asym_pad_exclude_pad", "AveragePool", (2, 2, 7, 7), (3, 3), (2, 2),
         (1, 0, 1, 2), count_include_pad=False)

    g = generator("globalavgpool")
    op_case(fx, "globalavgpool", "GlobalAveragePool", {},
            [("x", "input", uniform(g, (2, 3, 5, 7)))], lambda x: F.adaptive_avg_pool2d(x, 1))


def gemm_matmul_cases(fx):
    def gemm(name, n, k, m, alpha=1.0, beta=1.0, trans_b=True, c_shape=None):
        g = generator(name)
        a = uniform(g, (n, k))
        b = uniform(g, (m, k) if trans_b else (k, m))
        values = [("a", "input", a), ("b", "param", b)]
        if c_shape is not None:
            values.append(("c", "param", uniform(g, c_shape)))

        def fn(a, b, c=None):
            y = alpha * (a @ (b.t() if trans_b else b))
            return y if c is None else y + beta * c

        attrs = {"alpha": alpha, "beta": beta, "transA": False, "transB": trans_b}
        op_case(fx, name, "Gemm", attrs, values, fn)

    gemm("gemm_linear", 4, 6, 5, c_shape=(5,))
    gemm("gemm_linear_nobias", 3, 7, 4)
    gemm("gemm_alpha_beta_notrans", 4, 6, 5, alpha=0.5, beta=2.0, trans_b=False, c_shape=(1, 5))
    gemm("gemm_beta_quarter_bias_row", 3, 5, 4, beta=0.25, c_shape=(1, 4))
    gemm("gemm_wide_256to10", 4, 256, 10, c_shape=(10,))

    def matmul(name, a_role, a_shape, b_role, b_shape):
        g = generator(name)
        op_case(fx, name, "MatMul", {},
                [("a", a_role, uniform(g, a_shape)), ("b", b_role, uniform(g, b_shape))],
                torch.matmul)

    matmul("matmul_2d_param", "input", (4, 6), "param", (6, 3))
    matmul("matmul_3d_by_2d_param", "input", (2, 3, 4), "param", (4, 5))
    matmul("matmul_batched_inputs", "input", (2, 2, 3, 4), "input", (2, 2, 4, 5))
    matmul("matmul_broadcast_param", "input", (2, 2, 3, 4), "param", (1, 4, 5))
    matmul("matmul_param_by_3d", "param", (3, 4), "input", (2, 4, 5))


def elementwise_cases(fx):
    ops = {"Add": torch.add, "Sub": torch.sub, "Mul": torch.mul, "Div": torch.div}
    layouts = [
        # suffix, a (role, shape), b (role, shape)
        ("same_shape", ("input", (2, 3, 4, 5)), ("input", (2, 3, 4, 5))),
        ("bcast_channel_param", ("input", (2, 3, 4, 5)), ("param", (3, 1, 1))),
        ("bcast_param_first", ("param", (5,)), ("input", (2, 3, 4, 5))),
        ("bcast_both_inputs", ("input", (2, 3, 1, 5)), ("input", (2, 1, 4, 1))),
        ("bcast_rank4_param", ("input", (2, 3, 4)), ("param", (1, 1, 4))),
    ]
    for op, fn in ops.items():
        for suffix, (ra, sa), (rb, sb) in layouts:
            name = f"{op.lower()}_{suffix}"
            g = generator(name)
            a = uniform(g, sa)
            b = away_from_zero(g, sb) if op == "Div" else uniform(g, sb)
            op_case(fx, name, op, {}, [("a", ra, a), ("b", rb, b)], fn)


def shape_cases(fx):
    g = generator("concat")
    xs = [("x0", "input", uniform(g, (2, 2, 3, 3))), ("x1", "input", uniform(g, (2, 1, 3, 3))),
          ("x2", "input", uniform(g, (2, 4, 3, 3)))]
    op_case(fx, "concat_axis1_three", "Concat", {"axis": 1}, xs,
            lambda *t: torch.cat(t, dim=1))
    g = generator("concat_last")
    xs = [("x0", "input", uniform(g, (2, 3, 2))), ("x1", "input", uniform(g, (2, 3, 5)))]
    op_case(fx, "concat_axis_minus1", "Concat", {"axis": -1}, xs, lambda *t: torch.cat(t, dim=-1))
    g = generator("concat_param")
    xs = [("x0", "input", uniform(g, (2, 3, 4))), ("x1", "input", uniform(g, (2, 2, 4)))]
    op_case(fx, "concat_axis1_two_3d", "Concat", {"axis": 1}, xs, lambda *t: torch.cat(t, dim=1))

    g = generator("flatten")
    op_case(fx, "flatten_axis1", "Flatten", {"axis": 1}, [("x", "input", uniform(g, (2, 3, 4, 5)))],
            lambda x: torch.flatten(x, 1))
    op_case(fx, "flatten_axis_minus3", "Flatten", {"axis": -3},
            [("x", "input", uniform(g, (2, 3, 4, 5)))], lambda x: torch.flatten(x, 1))

    g = generator("reshape")
    op_case(fx, "reshape_0_4_minus1", "Reshape", {"shape": [0, 4, -1]},
            [("x", "input", uniform(g, (2, 2, 3, 4)))], lambda x: x.reshape(x.shape[0], 4, -1))
    op_case(fx, "reshape_0_0_12", "Reshape", {"shape": [0, 0, 12]},
            [("x", "input", uniform(g, (2, 2, 3, 4)))], lambda x: x.reshape(x.shape[0], 2, 12))
    op_case(fx, "reshape_to_4d", "Reshape", {"shape": [0, 6, 2, 2]},
            [("x", "input", uniform(g, (2, 24)))], lambda x: x.reshape(x.shape[0], 6, 2, 2))

    g = generator("transpose")
    op_case(fx, "transpose_nchw_to_nhwc", "Transpose", {"perm": [0, 2, 3, 1]},
            [("x", "input", uniform(g, (2, 3, 4, 5)))], lambda x: x.permute(0, 2, 3, 1))
    op_case(fx, "transpose_3d", "Transpose", {"perm": [0, 2, 1]},
            [("x", "input", uniform(g, (2, 3, 4)))], lambda x: x.permute(0, 2, 1))
    op_case(fx, "transpose_4d_0312", "Transpose", {"perm": [0, 3, 1, 2]},
            [("x", "input", uniform(g, (2, 3, 4, 5)))], lambda x: x.permute(0, 3, 1, 2))

    g = generator("softmax")
    op_case(fx, "softmax_axis1_2d", "Softmax", {"axis": 1},
            [("x", "input", uniform(g, (4, 10), -3, 3))], lambda x: torch.softmax(x, 1))
    op_case(fx, "softmax_axis_minus1_3d", "Softmax", {"axis": -1},
            [("x", "input", uniform(g, (2, 3, 5), -3, 3))], lambda x: torch.softmax(x, -1))
    op_case(fx, "softmax_axis1_4d", "Softmax", {"axis": 1},
            [("x", "input", uniform(g, (2, 4, 3, 3), -3, 3))], lambda x: torch.softmax(x, 1))
    op_case(fx, "softmax_large_logits", "Softmax", {"axis": 1},
            [("x", "input", uniform(g, (3, 6), -60, 60))], lambda x: torch.softmax(x, 1))

    g = generator("dropout")
    op_case(fx, "dropout_eval_p0.5", "Dropout", {"p": 0.5},
            [("x", "input", uniform(g, (2, 3, 4)))], lambda x: F.dropout(x, 0.5, training=False),
            training=False)
    op_case(fx, "dropout_train_p0", "Dropout", {"p": 0.0},
            [("x", "input", uniform(g, (2, 3, 4)))], lambda x: F.dropout(x, 0.0, training=True),
            training=True)


def onnx_import_op_cases(fx):
    """The ops the ONNX importer needs beyond the built-in architectures (engine/hone-ops.h, the
    block after Softmax), in ONNX's conventions: axes count the batch, pads are ONNX-ordered."""
    def layer_norm(name, shape, axis, bias=True, eps=1e-5):
        g = generator(name)
        x = uniform(g, shape) * 2 + 0.5
        norm = shape[axis:]
        values = [("x", "input", x), ("scale", "param", uniform(g, norm, 0.5, 1.5))]
        if bias:
            values.append(("bias", "param", uniform(g, norm)))
        op_case(fx, name, "LayerNormalization", {"axis": axis, "epsilon": eps}, values,
                lambda x, w, b=None: F.layer_norm(x, norm, w, b, eps))

    layer_norm("layernorm_last_bias", (2, 3, 5), -1)
    layer_norm("layernorm_last_nobias", (3, 4, 6), 2, bias=False)
    layer_norm("layernorm_axis1_chw", (2, 4, 3, 3), 1)
    layer_norm("layernorm_axis2_nobias", (2, 3, 4, 5), 2, bias=False, eps=1e-3)
    # ConvNeXt's LayerNorm2d: channels last, 6 x 6 x 2 = 72 rows of 96 channels, eps 1e-6.
    layer_norm("layernorm_convnext_nhwc", (2, 6, 6, 96), -1, eps=1e-6)

    def reduce(name, op, shape, axes, keepdims):
        g = generator(name)
        x = uniform(g, shape)
        dims = axes if axes else list(range(1, len(shape)))
        fn = torch.mean if op == "ReduceMean" else torch.sum
        op_case(fx, name, op, {"axes": axes, "keepdims": int(keepdims)}, [("x", "input", x)],
                lambda x: fn(x, dim=dims, keepdim=keepdims))

    reduce("reducemean_last_keepdims", "ReduceMean", (2, 3, 4, 5), [-1], True)
    reduce("reducemean_hw", "ReduceMean", (2, 3, 4, 5), [2, 3], False)
    reduce("reducemean_hw_keepdims", "ReduceMean", (2, 6, 7, 7), [2, 3], True)
    reduce("reducemean_channels_keepdims", "ReduceMean", (2, 3, 4, 5), [1], True)
    reduce("reducemean_all", "ReduceMean", (2, 3, 4, 5), [], False)
    reduce("reducesum_last", "ReduceSum", (2, 3, 4, 5), [-1], False)
    reduce("reducesum_1_3_keepdims", "ReduceSum", (2, 3, 4, 5), [1, 3], True)

    shape = (2, 3, 4, 5)

    def unary(name, op, attrs, fn, lo, hi):
        g = generator(name)
        op_case(fx, name, op, attrs, [("x", "input", uniform(g, shape, lo, hi))], fn)

    unary("erf", "Erf", {}, torch.erf, -3.0, 3.0)
    unary("sqrt", "Sqrt", {}, torch.sqrt, 0.1, 4.0)
    unary("tanh", "Tanh", {}, torch.tanh, -4.0, 4.0)
    unary("leakyrelu_onnx_default", "LeakyRelu", {"alpha": 0.01},
          lambda x: F.leaky_relu(x, 0.01), -3.0, 3.0)
    unary("leakyrelu_0.2", "LeakyRelu", {"alpha": 0.2}, lambda x: F.leaky_relu(x, 0.2), -3.0, 3.0)
    unary("pow_2", "Pow", {"exponent": 2.0}, lambda x: torch.pow(x, 2.0), -3.0, 3.0)
    unary("pow_3", "Pow", {"exponent": 3.0}, lambda x: torch.pow(x, 3.0), -2.0, 2.0)
    unary("pow_0.5", "Pow", {"exponent": 0.5}, lambda x: torch.pow(x, 0.5), 0.1, 4.0)
    unary("pow_minus_1.5", "Pow", {"exponent": -1.5}, lambda x: torch.pow(x, -1.5), 0.5, 3.0)

    def onnx_slice_indices(dim, start, end, step):
        """The indices ONNX Slice keeps along one axis (its clamping rules)."""
        if start < 0:
            start += dim
        if end < 0:
            end += dim
        if step > 0:
            start, end = max(0, min(start, dim)), max(0, min(end, dim))
        else:
            start, end = max(0, min(start, dim - 1)), max(-1, min(end, dim - 1))
        return list(range(start, end, step))

    def slice_case(name, shape, starts, ends, axes, steps):
        g = generator(name)
        x = uniform(g, shape)

        def fn(x):
            for st, en, ax, sp in zip(starts, ends, axes, steps):
                ax = ax % x.dim()
                idx = onnx_slice_indices(x.shape[ax], st, en, sp)
                x = x.index_select(ax, torch.tensor(idx, dtype=torch.long))
            return x

        op_case(fx, name, "Slice", {"starts": starts, "ends": ends, "axes": axes, "steps": steps},
                [("x", "input", x)], fn)

    int64_max, int64_min = 2 ** 63 - 1, -2 ** 63
    slice_case("slice_channels", (2, 6, 4, 4), [1], [4], [1], [1])
    slice_case("slice_hw_step2", (2, 3, 7, 8), [0, 1], [int64_max, int64_max], [2, 3], [2, 2])
    slice_case("slice_reverse_last", (2, 3, 5), [-1], [int64_min], [-1], [-1])
    slice_case("slice_negative_steps_clamped", (2, 4, 6, 5), [100, -2], [-100, 0], [-1, 2],
               [-2, -1])
    slice_case("slice_negative_start_end", (2, 8, 3), [-5], [-1], [1], [1])

    def split_case(name, shape, axis, sizes, n_out):
        g = generator(name)
        x = uniform(g, shape)
        parts = sizes if sizes else [shape[axis] // n_out] * n_out
        attrs = {"axis": axis, "num_outputs": n_out}
        if sizes:
            attrs["split"] = sizes
        op_case(fx, name, "Split", attrs, [("x", "input", x)],
                lambda x: tuple(torch.split(x, parts, dim=axis)))

    split_case("split_channels_equal", (2, 6, 3, 3), 1, None, 2)
    split_case("split_channels_sizes", (2, 7, 2, 2), 1, [2, 4, 1], 3)
    split_case("split_last_sizes", (2, 3, 5), -1, [1, 4], 2)

    def pad_case(name, shape, pads, mode, value=0.0):
        g = generator(name)
        x = uniform(g, shape)
        r = len(shape)

        def fn(x):
            # ONNX's reading of negative pads: pad by the positive ones, then crop the rest.
            pos = []
            for d in reversed(range(r)):
                pos += [max(pads[d], 0), max(pads[r + d], 0)]
            tmode = {"constant": "constant", "reflect": "reflect", "edge": "replicate"}[mode]
            if mode == "constant":
                y = F.pad(x, pos, mode="constant", value=value)
            else:
                # reflect / replicate pad the last two dimensions of a 4-D tensor
                assert all(p == 0 for p in pos[4:]), name
                y = F.pad(x, pos[:4], mode=tmode)
            for d in range(r):
                lo, hi = -min(pads[d], 0), -min(pads[r + d], 0)
                y = y.narrow(d, lo, y.shape[d] - lo - hi)
            return y

        op_case(fx, name, "Pad", {"pads": pads, "mode": mode, "value": value},
                [("x", "input", x)], fn)

    pad_case("pad_constant_hw", (2, 3, 4, 5), [0, 0, 1, 2, 0, 0, 2, 1], "constant")
    pad_case("pad_constant_value_channels", (2, 3, 4, 4), [0, 1, 0, 0, 0, 2, 1, 1], "constant",
             0.5)
    pad_case("pad_constant_crop", (2, 3, 6, 5), [0, 0, -1, 2, 0, -1, 1, -2], "constant")
    pad_case("pad_reflect", (2, 3, 5, 6), [0, 0, 2, 1, 0, 0, 1, 3], "reflect")
    pad_case("pad_reflect_crop", (2, 2, 5, 6), [0, 0, -1, 2, 0, 0, 2, -2], "reflect")
    pad_case("pad_edge", (2, 3, 4, 5), [0, 0, 3, 1, 0, 0, 1, 2], "edge")
    pad_case("pad_edge_crop", (2, 2, 6, 4), [0, 0, 2, -1, 0, 0, -2, 3], "edge")


# ---- whole networks ------------------------------------------------------------------------------

class Head(nn.Module):
    """Global average pool, flatten and a Linear classifier: what follows the blocks in ResNet
    (fc) and MobileNetV2 (classifier.1; its Dropout is left out, being random)."""

    def __init__(self, block, channels, num_classes, head_name):
        super().__init__()
        self.head_name = head_name
        self.block = block
        self.linear = nn.Linear(channels, num_classes)

    def forward(self, x):
        return self.linear(torch.flatten(F.adaptive_avg_pool2d(self.block(x), 1), 1))

    def named_state(self, prefix):
        """state_dict under the names the block has inside the full torchvision model."""
        out = {}
        for k, v in self.block.state_dict().items():
            out[prefix + k] = v
        for k, v in self.linear.state_dict().items():
            out[self.head_name + "." + k] = v
        return out

    def named_params(self, prefix):
        out = [(prefix + k, p) for k, p in self.block.named_parameters()]
        out += [(self.head_name + "." + k, p) for k, p in self.linear.named_parameters()]
        return out


class Whole(nn.Module):
    """A complete model whose names are its own (cnn-s)."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        return self.model(x)

    def named_state(self, prefix):
        return dict(self.model.state_dict())

    def named_params(self, prefix):
        return list(self.model.named_parameters())


def randomise_batch_norms(module, g):
    """Non-trivial BatchNorm affine parameters and running statistics, so their gradients and
    updates are not the special case of torch's defaults (1, 0, 0, 1)."""
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, nn.BatchNorm2d):
                c = m.num_features
                m.weight.copy_(uniform(g, (c,), 0.5, 1.5))
                m.bias.copy_(uniform(g, (c,), -0.3, 0.3))
                m.running_mean.copy_(uniform(g, (c,), -0.2, 0.2))
                m.running_var.copy_(uniform(g, (c,), 0.5, 1.5))


def named_batch_norms(wrapper, prefix):
    """(state_dict name, module) of every BatchNorm under the wrapper's naming."""
    out = []
    if isinstance(wrapper, Head):
        for n, m in wrapper.block.named_modules():
            if isinstance(m, nn.BatchNorm2d):
                out.append((prefix + n, m))
    else:
        for n, m in wrapper.model.named_modules():
            if isinstance(m, nn.BatchNorm2d):
                out.append((n, m))
    return out


SGD = {"lr": 0.1, "momentum": 0.9, "weight_decay": 5e-4, "dampening": 0.0, "nesterov": False}
ADAM = {"lr": 1e-2, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.0, "amsgrad": False}


def net_case(fx, name, arch, config, wrapper, prefix, input_shape, num_classes, batch,
             frozen_bn=False, rtol=RTOL, atol=ATOL, tolerances=None):
    """frozen_bn: every BatchNorm's weight and bias frozen (requires_grad False) and the layer in
    eval mode, which is what Hone does with a BatchNorm whose parameters are frozen."""
    g = generator(name)
    # Reinitialise every parameter from this case's generator (torch's init draws from the
    # global generator, which the other cases would move).
    with torch.no_grad():
        for _, p in wrapper.named_params(prefix):
            fan_in = p[0].numel() if p.dim() > 1 else p.numel()
            p.copy_(uniform(g, p.shape) * math.sqrt(3.0 / max(fan_in, 1)))
    randomise_batch_norms(wrapper, g)
    state0 = {k: v.detach().clone() for k, v in wrapper.named_state(prefix).items()}
    params = wrapper.named_params(prefix)

    x = normal(g, (batch,) + input_shape)
    labels = torch.randint(0, num_classes, (batch,), generator=g)

    wrapper.train()
    frozen = []
    if frozen_bn:
        for k, p in params:
            if any(k.startswith(n + ".") for n, m in named_batch_norms(wrapper, prefix)):
                p.requires_grad_(False)
                frozen.append(k)
        for _, m in named_batch_norms(wrapper, prefix):
            m.eval()
    for p in wrapper.parameters():
        p.grad = None
    logits = wrapper(x)
    logits.retain_grad()
    loss = F.cross_entropy(logits, labels)
    loss.backward()

    tensors = {}
    tensors.update({k: v for k, v in state0.items() if v.dtype == torch.float32})
    tensors["input"] = x
    tensors["labels"] = labels
    tensors["logits"] = logits.detach()
    tensors["loss"] = loss.detach().reshape(())
    tensors["grad/logits"] = logits.grad.detach()
    for k, p in params:
        if k not in frozen:
            tensors["grad/" + k] = p.grad.detach().clone()
    for k, v in wrapper.named_state(prefix).items():
        if k.endswith(".running_mean") or k.endswith(".running_var"):
            tensors["after/" + k] = v.detach().clone()

    for opt_name, make in (("sgd", lambda ps: torch.optim.SGD(ps, **SGD)),
                           ("adam", lambda ps: torch.optim.Adam(
                               ps, lr=ADAM["lr"], betas=tuple(ADAM["betas"]), eps=ADAM["eps"],
                               weight_decay=ADAM["weight_decay"], amsgrad=ADAM["amsgrad"]))):
        with torch.no_grad():
            for k, p in params:
                p.copy_(state0[k])
        opt = make([p for _, p in params])
        opt.step()
        for k, p in params:
            tensors[opt_name + "/" + k] = p.detach().clone()

    entry = {
        "name": name, "kind": "net", "arch": arch, "config": config, "prefix": prefix,
        "input_shape": list(input_shape), "num_classes": num_classes, "batch": batch,
        "training": True,
        "params": [k for k, _ in params],
        "frozen": frozen,
        "buffers": [k for k, v in state0.items()
                    if v.dtype == torch.float32 and k not in dict(params)],
        "sgd": SGD, "adam": ADAM, "rtol": rtol, "atol": atol,
        "tolerances": tolerances or {},
    }
    fx.add(entry, tensors, extra_files={"weights": ("weights", state0)})


def net_cases(fx):
    sys.path.insert(0, find_reference_dir())
    from cnn_s import CnnS

    # The default tolerances hold for the nets too, with one refinement the C test applies to
    # Adam: its first step, lr * g / (|g| + eps), turns gradients within rounding of zero into
    # steps of any size up to lr, so each element is allowed the change in that step that a
    # gradient within the gradient comparison's tolerance of PyTorch's could make (see
    # test-parity.c, adam_slack).
    torch.manual_seed(0)
    net_case(fx, "cnn-s", "cnn-s", {"in_channels": 1}, Whole(CnnS(num_classes=10)), "",
             (1, 28, 28), 10, 4)

    block = torchvision.models.resnet.BasicBlock(
        64, 128, stride=2,
        downsample=nn.Sequential(nn.Conv2d(64, 128, 1, stride=2, bias=False), nn.BatchNorm2d(128)))
    net_case(fx, "resnet_basicblock_downsample", "resnet_basic_block",
             {"inplanes": 64, "planes": 128, "stride": 2, "downsample": True},
             Head(block, 128, 10, "fc"), "layer2.0.", (64, 8, 8), 10, 4)

    # Fine-tuning with frozen BatchNorm: Hone runs such a layer in inference mode (running
    # statistics, no update), as PyTorch does for a BatchNorm put in eval mode.
    block = torchvision.models.resnet.BasicBlock(
        64, 128, stride=2,
        downsample=nn.Sequential(nn.Conv2d(64, 128, 1, stride=2, bias=False), nn.BatchNorm2d(128)))
    net_case(fx, "resnet_basicblock_downsample_frozen_bn", "resnet_basic_block",
             {"inplanes": 64, "planes": 128, "stride": 2, "downsample": True},
             Head(block, 128, 10, "fc"), "layer2.0.", (64, 8, 8), 10, 4, frozen_bn=True)

    block = torchvision.models.resnet.BasicBlock(64, 64, stride=1)
    net_case(fx, "resnet_basicblock_identity", "resnet_basic_block",
             {"inplanes": 64, "planes": 64, "stride": 1, "downsample": False},
             Head(block, 64, 10, "fc"), "layer1.0.", (64, 8, 8), 10, 4)

    ir = torchvision.models.mobilenetv2.InvertedResidual
    # features.1: no expansion, so the depthwise conv is conv.0 and the projection conv.1.
    net_case(fx, "mobilenetv2_inverted_residual_expand1", "mobilenet_v2_inverted_residual",
             {"inp": 32, "oup": 16, "stride": 1, "expand_ratio": 1},
             Head(ir(32, 16, 1, 1), 16, 10, "classifier.1"), "features.1.", (32, 8, 8), 10, 4)
    net_case(fx, "mobilenetv2_inverted_residual_stride1", "mobilenet_v2_inverted_residual",
             {"inp": 24, "oup": 24, "stride": 1, "expand_ratio": 6},
             Head(ir(24, 24, 1, 6), 24, 10, "classifier.1"), "features.3.", (24, 8, 8), 10, 4)
    net_case(fx, "mobilenetv2_inverted_residual_stride2", "mobilenet_v2_inverted_residual",
             {"inp": 24, "oup": 32, "stride": 2, "expand_ratio": 6},
             Head(ir(24, 32, 2, 6), 32, 10, "classifier.1"), "features.4.", (24, 8, 8), 10, 4)


# ---- main ----------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("outdir", help="folder for the fixture files (created)")
    ap.add_argument("--manifest", help="manifest path (default OUTDIR/manifest.json)")
    args = ap.parse_args()

    torch.set_num_threads(1)
    torch.manual_seed(0)
    torch.use_deterministic_algorithms(True)
    os.makedirs(args.outdir, exist_ok=True)
    manifest = args.manifest or os.path.join(args.outdir, "manifest.json")
    fx = Fixtures(args.outdir, os.path.dirname(os.path.abspath(manifest)))

    conv_cases(fx)
    batch_norm_cases(fx)
    activation_cases(fx)
    pool_cases(fx)
    gemm_matmul_cases(fx)
    elementwise_cases(fx)
    shape_cases(fx)
    onnx_import_op_cases(fx)
    net_cases(fx)

    doc = {
        "generator": "tests/parity/make_fixtures.py",
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "comparison": "|hone - torch| <= atol + rtol * |torch|",
        "cases": fx.cases,
    }
    tmp = manifest + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    os.replace(tmp, manifest)


if __name__ == "__main__":
    main()
