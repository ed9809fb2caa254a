"""ONNX exports of torchvision 0.14's CNN classifiers, and what PyTorch computes with them.

Usage: make_onnx_zoo.py OUTDIR --manifest MANIFEST.json [--suite default|slow]

For each model (random weights from a fixed seed; BatchNorm statistics and affine parameters
randomised too, so that nothing is trivially 0 or 1 and torch does not merge equal tensors),
writes into OUTDIR:

  MODEL.safetensors       input (2, 3, S, S), logits (eval mode), and of one SGD step (lr 0.1)
                          of cross-entropy on a fixed target in train mode with dropout and
                          stochastic depth at 0, in float64: update.NAME (the change of every
                          parameter), tol.NAME (how far torch's float32 update is from it,
                          in L2 norm relative to its norm) and step.NAME (every buffer after
                          the step: BatchNorm running statistics)
  MODEL-eval-opN.onnx     torch.onnx.export of the eval-mode module (BatchNorm folded into the
                          convolutions), constant folding on
  MODEL-train-opN.onnx    the same with training=TrainingMode.PRESERVE (BatchNormalization kept,
                          initializers named as the state_dict)

and a manifest listing the cases (model, mode, opset, file, fixture) for
tests/parity/test-onnx-zoo.c.  Files already present are kept (the build folder caches them);
an opset at which torch cannot export a model is recorded as skipped with torch's reason.
Also tiny-{plain,meta,dynamic,matmul,unsupported}.onnx and tiny.safetensors, a small model
for the tests of metadata, a symbolic batch, a MatMul head and the unsupported-op error.
The default suite is every model once in each mode at its default opset, plus resnet18 and
mobilenet_v3_small at every opset 7..17; `slow` is every model at every opset.
"""
import argparse
import io
import json
import os
import sys
import warnings

import torch
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hone_safetensors import save_file  # noqa: E402

warnings.filterwarnings("ignore")

SIZE = 64
BATCH = 2
LR = 0.1

# name -> (constructor kwargs, default opset for the default suite).  INPUT_SEED: a training
# step through ReLUs is discontinuous where an input sits at the kink, and with seed 2 one
# of shufflenet's conv5 activations is 6e-5 from it, where float32 rounding picks the branch.
INPUT_SEED = {"shufflenet_v2_x1_0": 3}
MODELS = {
    "resnet18": ({}, 13),
    "resnet34": ({}, 13),
    "resnet50": ({}, 13),
    "resnext50_32x4d": ({}, 13),
    "mobilenet_v2": ({}, 13),
    "mobilenet_v3_small": ({}, 14),
    "mobilenet_v3_large": ({}, 14),
    "squeezenet1_1": ({}, 13),
    "efficientnet_b0": ({}, 13),
    "densenet121": ({}, 13),
    "shufflenet_v2_x1_0": ({}, 13),
    "regnet_y_400mf": ({}, 13),
    "mnasnet0_5": ({}, 13),
    "googlenet": ({"aux_logits": False, "init_weights": True}, 13),
    "convnext_tiny": ({}, 17),
}
EVERY_OPSET = ["resnet18", "mobilenet_v3_small"]
OPSETS = list(range(7, 18))


def build(name):
    kwargs, _ = MODELS[name]
    torch.manual_seed(0)
    m = getattr(torchvision.models, name)(weights=None, num_classes=1000, **kwargs)
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for mod in m.modules():
            if isinstance(mod, torch.nn.modules.batchnorm._BatchNorm):
                mod.weight.copy_(torch.rand(mod.weight.shape, generator=g) + 0.5)
                mod.bias.copy_(torch.randn(mod.bias.shape, generator=g) * 0.1)
                mod.running_mean.copy_(torch.randn(mod.running_mean.shape, generator=g) * 0.1)
                mod.running_var.copy_(torch.rand(mod.running_var.shape, generator=g) + 0.5)
            elif isinstance(mod, torch.nn.Dropout):
                mod.p = 0.0
            elif isinstance(mod, torchvision.ops.StochasticDepth):
                mod.p = 0.0
            elif isinstance(mod, torch.nn.LayerNorm):
                mod.weight.copy_(torch.rand(mod.weight.shape, generator=g) + 0.5)
                mod.bias.copy_(torch.randn(mod.bias.shape, generator=g) * 0.1)
        for mname, p in m.named_parameters():
            if mname.endswith("layer_scale"):
                p.copy_(torch.rand(p.shape, generator=g) * 0.5 + 0.25)
    return m.eval()


def train_step(name, dtype, x, target):
    m = build(name).to(dtype)
    before = {k: v.detach().clone() for k, v in m.state_dict().items()}
    m.train()
    opt = torch.optim.SGD(m.parameters(), lr=LR)
    opt.zero_grad()
    loss = torch.nn.functional.cross_entropy(m(x.to(dtype)), target)
    loss.backward()
    opt.step()
    params = {k for k, _ in m.named_parameters()}
    after = {k: v.detach().clone() for k, v in m.state_dict().items()}
    return before, after, params


def reference(name, path):
    m = build(name)
    g = torch.Generator().manual_seed(INPUT_SEED.get(name, 2))
    x = torch.randn(BATCH, 3, SIZE, SIZE, generator=g)
    target = torch.tensor([3, 7][:BATCH])
    with torch.no_grad():
        logits = m(x)
    tensors = {"input": x, "logits": logits, "target": target.to(torch.int64)}
    # One training step of a deep network with BatchNorm on batch statistics
    # is ill-conditioned in float32 (BatchNorm's backward subtracts nearly
    # equal numbers): torch's own float32 updates differ from float64 by
    # percents in some tensors.  So the reference is float64, and tol.NAME
    # records how far torch's float32 update is from it; Hone's must be as
    # close.
    b32, a32, params = train_step(name, torch.float32, x, target)
    b64, a64, _ = train_step(name, torch.float64, x, target)
    for k in a64:
        if not a64[k].dtype.is_floating_point:
            continue
        if k in params:
            u64 = a64[k] - b64[k]
            u32 = (a32[k] - b32[k]).double()
            scale = u64.norm().item()
            tensors["update." + k] = u64.float()
            tensors["tol." + k] = torch.tensor((u32 - u64).norm().item() / scale
                                               if scale > 0 else 0.0, dtype=torch.float32)
        else:
            tensors["step." + k] = a64[k].float()
    save_file(tensors, path)


def export(name, mode, opset, path):
    m = build(name)
    x = torch.zeros(1, 3, SIZE, SIZE)
    kw = {"training": torch.onnx.TrainingMode.PRESERVE} if mode == "train" else {}
    buf = io.BytesIO()
    torch.onnx.export(m, x, buf, opset_version=opset, do_constant_folding=True,
                      input_names=["input"], output_names=["logits"], **kw)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(buf.getvalue())
    os.replace(tmp, path)


class Tiny(torch.nn.Module):
    """A small classifier for the import tests: conv, BN, ReLU, pooling, a 5-class head."""

    def __init__(self, head="linear", unsupported=False):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.bn1 = torch.nn.BatchNorm2d(8)
        self.conv2 = torch.nn.Conv2d(8, 8, 3, stride=2)
        self.head = head
        self.unsupported = unsupported
        self.fc = torch.nn.Linear(8, 5)

    def forward(self, x):
        x = torch.relu(self.conv2(torch.relu(self.bn1(self.conv1(x)))))
        if self.unsupported:
            x = torch.sin(x) + torch.cumsum(x, 1) + torch.sin(x.exp())
        x = x.mean([2, 3])
        if self.head == "matmul":
            # a Linear on 3-D input: MatMul + Add, then flattened
            return torch.flatten(self.fc(x.unsqueeze(1)), 1)
        return self.fc(x)


def extras(outdir):
    """tiny-*.onnx and tiny.safetensors (input, logits) for test-onnx-import.c."""
    import onnx
    torch.manual_seed(5)
    m = Tiny().eval()
    with torch.no_grad():
        m.bn1.running_mean.uniform_(-0.1, 0.1)
        m.bn1.running_var.uniform_(0.5, 1.5)
    x = torch.randn(3, 3, 32, 32, generator=torch.Generator().manual_seed(6))
    with torch.no_grad():
        logits = m(x)
    save_file({"input": x, "logits": logits}, os.path.join(outdir, "tiny.safetensors"))

    def write(module, name, meta=None, dynamic=False):
        buf = io.BytesIO()
        kw = {"dynamic_axes": {"input": {0: "batch"}, "logits": {0: "batch"}}} if dynamic else {}
        torch.onnx.export(module, torch.zeros(1, 3, 32, 32), buf, opset_version=13,
                          input_names=["input"], output_names=["logits"], **kw)
        model = onnx.load_from_string(buf.getvalue())
        for k, v in (meta or {}).items():
            p = model.metadata_props.add()
            p.key, p.value = k, v
        onnx.save(model, os.path.join(outdir, name))

    write(m, "tiny-plain.onnx")
    write(m, "tiny-meta.onnx", {"hone.mean": "0.5,0.4,0.3", "hone.std": "0.2,0.25,0.3",
                                "hone.classes": json.dumps(["cat", "dog", "cow", "emu", "yak"])})
    write(m, "tiny-dynamic.onnx", dynamic=True)
    mm = Tiny(head="matmul")
    mm.load_state_dict(m.state_dict())
    write(mm.eval(), "tiny-matmul.onnx")
    mu = Tiny(unsupported=True)
    mu.load_state_dict(m.state_dict())
    write(mu.eval(), "tiny-unsupported.onnx")


def cases(suite):
    out = []
    for name, (_, op) in MODELS.items():
        opsets = OPSETS if suite == "slow" or name in EVERY_OPSET else [op]
        for mode in ("eval", "train"):
            for o in opsets:
                out.append((name, mode, o))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("outdir")
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--suite", default="default", choices=["default", "slow"])
    ap.add_argument("--only", help="comma-separated model names")
    ap.add_argument("--run", help="then run this test program on the manifest (remaining "
                    "arguments go to it)")
    a, rest = ap.parse_known_args()
    a.outdir = os.path.abspath(a.outdir)
    os.makedirs(a.outdir, exist_ok=True)
    extras(a.outdir)
    torch.set_num_threads(1)
    only = set(a.only.split(",")) if a.only else None
    manifest = []
    done_ref = set()
    for name, mode, opset in cases(a.suite):
        if only and name not in only:
            continue
        fixture = os.path.join(a.outdir, name + ".safetensors")
        if name not in done_ref:
            if not os.path.exists(fixture):
                reference(name, fixture)
            done_ref.add(name)
        path = os.path.join(a.outdir, "%s-%s-op%d.onnx" % (name, mode, opset))
        skipped = os.path.join(path + ".skipped")
        entry = {"model": name, "mode": mode, "opset": opset, "file": path, "fixture": fixture}
        if os.path.exists(skipped):
            with open(skipped) as f:
                entry["skip"] = f.read()
        elif not os.path.exists(path):
            try:
                export(name, mode, opset, path)
            except Exception as e:  # torch cannot export this model at this opset
                reason = "%s: %s" % (type(e).__name__, str(e).splitlines()[0] if str(e) else "")
                with open(skipped, "w") as f:
                    f.write(reason)
                entry["skip"] = reason
        manifest.append(entry)
    tmp = a.manifest + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"size": SIZE, "batch": BATCH, "lr": LR, "cases": manifest}, f, indent=1)
    os.replace(tmp, a.manifest)
    if a.run:
        sys.stdout.flush()
        os.execv(a.run, [a.run] + rest + [a.manifest])


if __name__ == "__main__":
    main()
