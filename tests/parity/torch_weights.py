#!/usr/bin/python3
"""Torch's side of the safetensors parity test (tests/parity/test-torch-weights.c).

    torch_weights.py make OUTDIR REFDIR
        Writes torch-ARCH.safetensors (a state_dict, as torch has it, num_batches_tracked included)
        and torch-ARCH-io.safetensors ("input" and the eval-mode "logits" for it) for resnet18 and
        mobilenet_v2 (torchvision, 1000 classes, 3x64x64 input) and cnn-s (cnn_s.py, 10 classes,
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
import json
import os
import struct
import sys

import torch
import torch.nn as nn
import torchvision

# The reference's dtypes in its order (increasing alignment).
ORDER = ["BOOL", "F4", "F6_E2M3", "F6_E3M2", "U8", "I8", "F8_E5M2", "F8_E4M3", "F8_E8M0", "I16",
         "U16", "F16", "BF16", "I32", "U32", "F32", "C64", "F64", "I64", "U64"]
NAMES = {torch.bool: "BOOL", torch.uint8: "U8", torch.int8: "I8", torch.int16: "I16",
         torch.float16: "F16", torch.bfloat16: "BF16", torch.int32: "I32", torch.float32: "F32",
         torch.float64: "F64", torch.int64: "I64"}
TYPES = {v: k for k, v in NAMES.items()}

CONFIGS = {
    # arch: (classes, channels, input size)
    "resnet18": (1000, 3, 64),
    "mobilenet_v2": (1000, 3, 64),
    "cnn-s": (10, 1, 28),
}


def save_file(tensors, path, metadata=None):
    items = sorted(tensors.items(), key=lambda kv: (-ORDER.index(NAMES[kv[1].dtype]), kv[0].encode()))
    header = {}
    if metadata:
        header["__metadata__"] = metadata
    blobs, offset = [], 0
    for name, t in items:
        b = t.detach().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()
        header[name] = {"dtype": NAMES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def load_file(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    metadata = header.pop("__metadata__", None)
    out = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        dtype = TYPES[info["dtype"]]
        raw = bytearray(data[8 + n + begin:8 + n + end])
        t = torch.frombuffer(raw, dtype=torch.uint8).view(dtype) if raw else torch.empty(0, dtype=dtype)
        out[name] = t.reshape(info["shape"])
    return out, metadata


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
