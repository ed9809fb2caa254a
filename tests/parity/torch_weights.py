#!/usr/bin/python3
"""Torch's side of the safetensors parity test (tests/parity/test-torch-weights.c).

    torch_weights.py make OUTDIR REFDIR
        Writes torch-ARCH.safetensors (a state_dict, as torch has it, num_batches_tracked included)
        and torch-ARCH-io.safetensors ("input" and the eval-mode "logits" for it) for resnet18,
        resnet34 and mobilenet_v2 (torchvision, 1000 classes, 3x64x64 input) and cnn-s (cnn_s.py, 10 classes,
        1x28x28).  BatchNorm weights and running statistics are randomised so that a forward pass
        depends on every tensor.

    torch_weights.py check REFDIR SPEC...
        SPEC is ARCH:CLASSES:CHANNELS:HONE_FILE[:TORCH_FILE:IO_FILE].  Loads HONE_FILE, a file Hone
        wrote, into the torch model with load_state_dict(strict=True); with TORCH_FILE, also checks
        that every tensor equals the original (num_batches_tracked aside) and that the model gives
        IO_FILE's logits.  Exits non-zero with the reason on the first failure.

safetensors files are written and read by hand (struct + json), as the reference writes them:
tensors sorted by dtype (largest first) then name, the header padded with spaces to 8 bytes.
Run with /usr/bin/python3 (python3-torch, python3-torchvision).
"""
import os
import sys

import torch
import torch.nn as nn
import torchvision

from hone_safetensors import load_file, save_file  # noqa: E402

CONFIGS = {
    # arch: (classes, channels, input size)
    "resnet18": (1000, 3, 64),
    "resnet34": (1000, 3, 64),
    "mobilenet_v2": (1000, 3, 64),
    "cnn-s": (10, 1, 28),
}

def build(arch, classes, channels, refdir):
    if arch == "cnn-s":
        sys.path.insert(0, refdir)
        from cnn_s import CnnS
        return CnnS(num_classes=classes, in_channels=channels)
    if arch in ("resnet18", "resnet34"):
        m = getattr(torchvision.models, arch)(num_classes=classes)
        if channels != 3:
            m.conv1 = nn.Conv2d(channels, 64, 7, 2, 3, bias=False)
        return m
    if arch == "mobilenet_v2":
        m = torchvision.models.mobilenet_v2(num_classes=classes)
        if channels != 3:
            m.features[0][0] = nn.Conv2d(channels, 32, 3, 2, 1, bias=False)
        return m
    raise SystemExit(f"unknown architecture {arch}")


def make(outdir, refdir):
    for i, (arch, (classes, channels, size)) in enumerate(CONFIGS.items()):
        torch.manual_seed(100 + i)
        model = build(arch, classes, channels, refdir)
        gen = torch.Generator().manual_seed(200 + i)
        with torch.no_grad():
            for m in model.modules():
                if isinstance(m, nn.BatchNorm2d):
                    m.weight.uniform_(0.5, 1.5, generator=gen)
                    m.bias.normal_(0.0, 0.1, generator=gen)
                    m.running_mean.normal_(0.0, 0.1, generator=gen)
                    m.running_var.uniform_(0.5, 1.5, generator=gen)
                    m.num_batches_tracked.fill_(7)
        model.eval()
        x = torch.rand(2, channels, size, size, generator=gen) * 2 - 1
        with torch.no_grad():
            logits = model(x)
        save_file(model.state_dict(), os.path.join(outdir, f"torch-{arch}.safetensors"), {"format": "pt"})
        save_file({"input": x, "logits": logits}, os.path.join(outdir, f"torch-{arch}-io.safetensors"))


def check(refdir, specs):
    for spec in specs:
        parts = spec.split(":")
        arch, classes, channels, hone_file = parts[0], int(parts[1]), int(parts[2]), parts[3]
        model = build(arch, classes, channels, refdir)
        hone, _ = load_file(hone_file)
        # strict=True: every key present, none unexpected, every shape equal
        model.load_state_dict(hone, strict=True)
        if len(parts) > 4:
            original, _ = load_file(parts[4])
            if sorted(original) != sorted(hone):
                raise SystemExit(f"{arch}: names differ: {sorted(set(original) ^ set(hone))[:10]}")
            for name, t in original.items():
                if name.endswith("num_batches_tracked"):
                    continue
                if hone[name].dtype != t.dtype or not torch.equal(hone[name], t):
                    raise SystemExit(f"{arch}: {name} differs from the original")
            io, _ = load_file(parts[5])
            model.eval()
            with torch.no_grad():
                logits = model(io["input"])
            if not torch.allclose(logits, io["logits"], rtol=1e-5, atol=1e-6):
                raise SystemExit(f"{arch}: logits differ after the round trip through Hone")
        print(f"{arch}: {hone_file} loads with strict=True ({len(hone)} tensors)")


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "make":
        make(sys.argv[2], sys.argv[3])
    elif len(sys.argv) >= 4 and sys.argv[1] == "check":
        check(sys.argv[2], sys.argv[3:])
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
