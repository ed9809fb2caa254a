#!/usr/bin/python3
"""ONNX files Hone writes, as other tools read them.

    test_onnx_export.py HONE_CLI EXPORT_CASES

Every file must pass onnx.checker (full_check, with shape inference) and give Hone's logits within
1e-4 relative in OpenCV's dnn module (Debian's python3-opencv 4.6; a few forms it cannot run are
listed below) and in onnx_reference.py (an evaluator written from the operator spec):
  - one small graph per op and attribute form (tests/onnx/export-cases.c), together using every
    op Hone can export;
  - resnet18, mobilenet_v2 and cnn-s with random weights (BatchNorm statistics randomised too),
    exported by `hone-cli export`;
  - the final.onnx of a short `hone-cli train` of each, which must equal what `hone-cli export`
    writes from the run's final.safetensors.
Also: metadata, names and the symbolic batch; a run whose final.onnx cannot be written warns and
completes; an exported file imported again gives the same logits (skipped in a build without the
ONNX importer). Prints TAP.
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import onnx.numpy_helper
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "parity"))
sys.path.insert(0, HERE)
import hone_safetensors as hs  # noqa: E402
import onnx_reference  # noqa: E402

import cv2  # noqa: E402

CLI = sys.argv[1]
CASES = sys.argv[2]
RTOL = 1e-4

# The ops Hone exports (engine/ops/, each op's to_onnx).
ALL_OPS = {"Conv", "BatchNormalization", "Relu", "Clip", "Sigmoid", "HardSigmoid", "SiLU",
           "HardSwish", "Gelu", "Gemm", "MatMul", "Add", "Sub", "Mul", "Div", "Concat", "Flatten",
           "Reshape", "Transpose", "Dropout", "Softmax", "MaxPool", "AveragePool",
           "GlobalAveragePool", "Erf", "Sqrt", "Tanh", "LeakyRelu", "Pow", "ReduceMean",
           "ReduceSum", "LayerNormalization", "Slice", "Split", "Pad"}

# Cases that are valid ONNX (onnx.checker passes them, and onnx_reference.py, written from the
# operator spec, gives Hone's logits) but use forms OpenCV 4.6 cannot run or runs differently.
OPENCV_CANNOT = {
    "clip_above": "a Clip with one bound (OpenCV reads only opset 6's min/max attributes)",
    "gemm": "Gemm with alpha, beta and transB=0 (OpenCV ignores alpha and beta)",
    "reduce_mean_all": "ReduceMean over C, H and W without keepdims",
    "reduce_sum": "ReduceSum-13 (axes as an input)",
    "layer_norm": "ReduceMean over the last axis with keepdims",
    "layer_norm_chw": "Div by a (N, 1, 1, 1) tensor",
    "split_sizes": "Split-13's sizes input (OpenCV splits in equal parts)",
}
# Ops that OpenCV 4.6 runs in none of their exported forms.
OPENCV_NEVER = {"ReduceSum", "LayerNormalization"}

results = []


def case(fn):
    try:
        fn()
        results.append((fn.__name__, None, None))
    except Exception as e:  # noqa: BLE001 - every failure is reported, not raised
        if type(e).__name__ == "Skip":
            results.append((fn.__name__, None, str(e)))
        else:
            results.append((fn.__name__, e, None))
    return fn


def run(*args, expect=0):
    p = subprocess.run([CLI, *args], capture_output=True, text=True, timeout=600)
    if expect is not None and p.returncode != expect:
        raise AssertionError(f"hone-cli {' '.join(args)} exited {p.returncode}, expected {expect}\n"
                             f"stdout: {p.stdout[-2000:]}\nstderr: {p.stderr}")
    return p


def close(got, ref, what):
    got = np.asarray(got, dtype=np.float64).reshape(ref.shape)
    ref = np.asarray(ref, dtype=np.float64)
    scale = max(np.abs(ref).max(), 1e-6)
    err = np.abs(got - ref).max() / scale
    assert err <= RTOL, f"{what}: max difference {err:.3g} of the largest |logit| (limit {RTOL})"
    return err


def opencv_logits(path, x):
    net = cv2.dnn.readNetFromONNX(path)
    net.setInput(np.ascontiguousarray(x, dtype=np.float32))
    return net.forward()


def check(path):
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    return model


def metadata(model):
    return {p.key: p.value for p in model.metadata_props}


def dims(value_info):
    return [d.dim_param or d.dim_value for d in value_info.type.tensor_type.shape.dim]


def read(path, name):
    tensors, _ = hs.load_file(path)
    return tensors[name].numpy()


# ---- every op -------------------------------------------------------------

def test_every_op():
    with tempfile.TemporaryDirectory() as d:
        p = subprocess.run([CASES, d], capture_output=True, text=True, check=True)
        seen_ops, opencv_ops = set(), set()
        for line in p.stdout.splitlines():
            name, ops = line.split()
            ops = set(ops.split(","))
            seen_ops |= ops
            path = os.path.join(d, name + ".onnx")
            model = check(path)
            assert model.opset_import[0].version == 13 and model.ir_version == 7, name
            assert model.graph.input[0].name == "input" and model.graph.output[0].name == "logits"
            assert dims(model.graph.input[0])[0] == "N", (name, dims(model.graph.input[0]))
            assert "hone.classes" in metadata(model), name
            x = read(os.path.join(d, name + "-input.safetensors"), "input")
            ref = read(os.path.join(d, name + "-logits.safetensors"), "logits")
            close(onnx_reference.run(model, x)[0], ref, f"{name} (reference evaluator)")
            if name in OPENCV_CANNOT:
                continue
            try:
                got = opencv_logits(path, x)
            except cv2.error as e:
                raise AssertionError(f"{name}: OpenCV cannot read it: {str(e).strip()[-300:]}")
            close(got, ref, name)
            opencv_ops |= ops
        missing = ALL_OPS - seen_ops
        assert not missing, f"no case uses {sorted(missing)}"
        # Every op but those OpenCV cannot run is checked by OpenCV in at least one form.
        assert opencv_ops == ALL_OPS - OPENCV_NEVER, \
            f"not checked by OpenCV: {sorted(ALL_OPS - OPENCV_NEVER - opencv_ops)}"


# ---- built-in architectures ----------------------------------------------

ARCHS = [("resnet18", 10, "3x64x64"), ("mobilenet_v2", 5, "3x64x64"), ("cnn-s", 10, "1x28x28")]


def randomise_statistics(path):
    """BatchNorm running statistics and affine parameters as training leaves them (fresh ones
    are 0 and 1, which would hide a mistake in how they are exported)."""
    tensors, md = hs.load_file(path)
    g = torch.Generator().manual_seed(3)
    for name, t in tensors.items():
        if name.endswith(".running_mean"):
            tensors[name] = 0.2 * torch.randn(t.shape, generator=g)
        elif name.endswith(".running_var"):
            tensors[name] = 0.5 + torch.rand(t.shape, generator=g)
        elif name.endswith(".bias") and t.dim() == 1:
            tensors[name] = 0.1 * torch.randn(t.shape, generator=g)
    hs.save_file(tensors, path, md)


def hone_logits(arch, classes, weights, x, d):
    inp, out = os.path.join(d, "in.safetensors"), os.path.join(d, "out.safetensors")
    hs.save_file({"input": torch.from_numpy(x)}, inp)
    run("predict", "--arch", arch, "--weights", weights, "--classes", str(classes),
        "--input", inp, "--output", out)
    return read(out, "logits")


def check_model_file(onnx_path, st_path, arch, classes, chw, d):
    model = check(onnx_path)
    assert model.producer_name == "Hone" and model.opset_import[0].domain == ""
    assert model.opset_import[0].version == 13 and model.ir_version == 7
    c, h, w = map(int, chw.split("x"))
    assert [i.name for i in model.graph.input] == ["input"]
    assert dims(model.graph.input[0]) == ["N", c, h, w], dims(model.graph.input[0])
    assert [o.name for o in model.graph.output] == ["logits"]
    assert dims(model.graph.output[0]) == ["N", classes], dims(model.graph.output[0])
    assert not [n for n in model.graph.node if n.op_type == "Dropout"]

    tensors, st_md = hs.load_file(st_path)
    md = metadata(model)
    assert md["hone.arch"] == arch and md["hone.input"] == chw, md
    names = json.loads(md["hone.classes"])
    assert names == json.loads(st_md["hone.classes"]) and len(names) == classes, names
    for key in ("hone.mean", "hone.std"):
        assert md[key] == st_md[key] and len(md[key].split(",")) == c, (key, md[key])
    # initializers under the state_dict names, with the same values
    inits = {t.name: onnx.numpy_helper.to_array(t) for t in model.graph.initializer}
    weights = {k: v for k, v in tensors.items() if not k.endswith("num_batches_tracked")}
    assert set(weights) <= set(inits), sorted(set(weights) - set(inits))[:5]
    for k, v in weights.items():
        assert np.array_equal(inits[k], v.numpy()), k

    # OpenCV gives Hone's logits, at two batch sizes (the batch is symbolic)
    rng = np.random.default_rng(5)
    for n in (4, 1):
        x = rng.standard_normal((n, c, h, w)).astype(np.float32)
        ref = hone_logits(arch, classes, st_path, x, d)
        got = opencv_logits(onnx_path, x)
        assert got.shape == (n, classes), got.shape
        close(got, ref, f"{arch} batch {n}")
        close(onnx_reference.run(model, x)[0], ref, f"{arch} batch {n} (reference evaluator)")


def test_export_random():
    for arch, classes, chw in ARCHS:
        with tempfile.TemporaryDirectory() as d:
            st = os.path.join(d, "model.safetensors")
            run("export", "--arch", arch, "--classes", str(classes), "--input", chw, "-o", st)
            randomise_statistics(st)
            path = os.path.join(d, "model.onnx")
            p = run("export", "--model", st, "-o", path, "--json")
            assert json.loads(p.stdout)["output"] == path
            check_model_file(path, st, arch, classes, chw, d)


TRAIN = ["--set", "data.source=fmnist:5-9", "--set", "data.limit=160", "--set", "train.epochs=1",
         "--set", "train.batch=32", "--set", "freeze.mode=none", "--set", "train.threads=2",
         "--set", "augment.enabled=false"]


def test_train_final_onnx():
    for arch, size in (("cnn-s", "1x28x28"), ("resnet18", "1x32x32"), ("mobilenet_v2", "1x32x32")):
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "run")
            p = run("train", *TRAIN, "--set", f"model.arch={arch}", "--set", f"model.input={size}",
                    "--out", out)
            events = [json.loads(line) for line in p.stdout.splitlines() if line.strip()]
            assert events[-1]["reason"] == "completed", events[-1]
            assert not [e for e in events if e["event"] == "warning"], events
            final_onnx = os.path.join(out, "final.onnx")
            final_st = os.path.join(out, "final.safetensors")
            assert os.path.isfile(final_onnx), os.listdir(out)
            check_model_file(final_onnx, final_st, arch, 5, size, d)
            names = json.loads(metadata(onnx.load(final_onnx))["hone.classes"])
            assert names == ["Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"], names
            # the CLI writes the same file from the run's safetensors
            again = os.path.join(d, "again.onnx")
            run("export", "--model", final_st, "-o", again)
            with open(final_onnx, "rb") as a, open(again, "rb") as b:
                assert a.read() == b.read(), "hone-cli export differs from the run's final.onnx"


def test_train_onnx_blocked():
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "run")
        os.makedirs(os.path.join(out, "final.onnx"))      # a folder in the way
        p = run("train", *TRAIN, "--set", "model.arch=cnn-s", "--out", out)
        events = [json.loads(line) for line in p.stdout.splitlines() if line.strip()]
        assert events[-1]["reason"] == "completed", events[-1]
        warnings = [e for e in events if e["event"] == "warning"]
        assert warnings and "final.onnx" in warnings[0]["message"], warnings
        assert os.path.isfile(os.path.join(out, "final.safetensors"))
        assert os.path.isfile(os.path.join(out, "report.json"))


class Skip(Exception):
    pass


def predict_model(model, x, d, expect=0):
    inp, out = os.path.join(d, "rt-in.safetensors"), os.path.join(d, "rt-out.safetensors")
    hs.save_file({"input": torch.from_numpy(x)}, inp)
    p = run("predict", "--model", model, "--input", inp, "--output", out, expect=None)
    if p.returncode != 0:
        if "does not read ONNX" in p.stderr or "--model" in p.stderr and p.returncode == 2:
            raise Skip("this build has no ONNX importer (hone_model_load and predict --model)")
        raise AssertionError(f"hone-cli predict --model {model}: {p.stderr}")
    return read(out, "logits")


def test_round_trip():
    """An exported file imported again gives the logits of the model it came from, with its
    classes, input and normalisation."""
    for arch, classes, chw in ARCHS:
        with tempfile.TemporaryDirectory() as d:
            st = os.path.join(d, "model.safetensors")
            run("export", "--arch", arch, "--classes", str(classes), "--input", chw, "-o", st)
            randomise_statistics(st)
            path = os.path.join(d, "model.onnx")
            run("export", "--model", st, "-o", path)
            c, h, w = map(int, chw.split("x"))
            x = np.random.default_rng(9).standard_normal((3, c, h, w)).astype(np.float32)
            back = predict_model(path, x, d)
            ref = predict_model(st, x, d)
            if arch == "mobilenet_v2":
                # ReLU6 comes back as HardSigmoid and Mul, equal up to rounding
                close(back, ref, f"{arch} imported again")
            else:
                assert np.array_equal(back, ref), \
                    f"{arch} imported again: logits differ by {np.abs(back - ref).max():.3g}"
            # and the file exported again from the import says the same about itself
            again = os.path.join(d, "again.onnx")
            run("export", "--model", path, "-o", again)
            md0, md1 = metadata(onnx.load(path)), metadata(onnx.load(again))
            for key in ("hone.classes", "hone.input", "hone.mean", "hone.std"):
                assert md0[key] == md1[key], (key, md0[key], md1[key])


case(test_every_op)
case(test_export_random)
case(test_train_final_onnx)
case(test_train_onnx_blocked)
case(test_round_trip)

print(f"1..{len(results)}")
for i, (name, err, skip) in enumerate(results, 1):
    if skip:
        print(f"ok {i} /onnx-export/{name} # SKIP {skip}")
    elif err is None:
        print(f"ok {i} /onnx-export/{name}")
    else:
        print(f"not ok {i} /onnx-export/{name}")
        for line in str(err).splitlines():
            print(f"# {line}")
sys.exit(0 if all(e is None for _, e, _ in results) else 1)
