#!/usr/bin/python3
"""Training-step throughput of Hone against PyTorch on the same machine, in one run.

For each configuration both engines run the same architecture, input size, batch, trainable set and
thread count: forward, cross-entropy loss, backward and an SGD-with-momentum update, on random data.
Hone is timed through `hone-cli bench --json`, PyTorch in this process. Prints images/s for both and
the ratio Hone / PyTorch (above 1: Hone is faster).

Frozen BatchNorm layers run in inference mode in both engines (Hone always does this; PyTorch is put
in eval mode for them), so the two do the same work.

Run with Debian's Python, which has python3-torch:
    /usr/bin/python3 bench/bench-train.py --hone build/app/hone-cli [--threads 2] [--json out.json]
"""
import argparse
import json
import os
import subprocess
import sys
import time

import torch
import torch.nn as nn
import torchvision

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "shared", "reference"))
sys.path.insert(0, os.path.join(HERE, "..", "shared", "reference"))
from cnn_s import CnnS  # noqa: E402

CONFIGS = [
    # name, arch, (C, H, W), batch, trainable
    ("cnn-s 28x28 b64", "cnn-s", (1, 28, 28), 64, "all"),
    ("resnet18 64x64 b32", "resnet18", (3, 64, 64), 32, "all"),
    ("resnet18 64x64 b32 layer4+fc", "resnet18", (3, 64, 64), 32, "layer4,fc"),
    ("mobilenet_v2 96x96 b32", "mobilenet_v2", (3, 96, 96), 32, "all"),
]


def build_torch(arch, channels, classes=10):
    if arch == "cnn-s":
        return CnnS(num_classes=classes, in_channels=channels)
    if arch == "resnet18":
        m = torchvision.models.resnet18(num_classes=classes)
        return m
    if arch == "mobilenet_v2":
        return torchvision.models.mobilenet_v2(num_classes=classes)
    raise ValueError(arch)


def torch_images_per_s(arch, shape, batch, trainable, seconds, warmup):
    model = build_torch(arch, shape[0])
    prefixes = None if trainable == "all" else tuple(trainable.split(","))
    for name, p in model.named_parameters():
        p.requires_grad = prefixes is None or name.startswith(prefixes)
    model.train()
    for name, mod in model.named_modules():
        if isinstance(mod, nn.BatchNorm2d) and not mod.weight.requires_grad:
            mod.eval()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.SGD(params, lr=0.01, momentum=0.9)
    x = torch.rand(batch, *shape)
    y = torch.randint(0, 10, (batch,))
    loss_fn = nn.CrossEntropyLoss()

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()

    for _ in range(warmup):
        step()
    n = 0
    t0 = time.perf_counter()
    while True:
        step()
        n += 1
        dt = time.perf_counter() - t0
        if dt >= seconds and n >= 3:
            break
    return n * batch / dt


def hone_images_per_s(hone, arch, shape, batch, trainable, threads, seconds, warmup):
    cmd = [hone, "bench", "--arch", arch, "--input", "x".join(map(str, shape)), "--batch", str(batch),
           "--trainable", trainable, "--threads", str(threads), "--seconds", str(seconds),
           "--warmup", str(warmup), "--json"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    result = json.loads(out)
    return result["images_per_s"], result["blas_core"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hone", default=os.path.join(HERE, "..", "build", "app", "hone-cli"))
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--seconds", type=float, default=5.0, help="time per engine and configuration")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--only", help="run only configurations whose name contains this")
    ap.add_argument("--json", help="also write the results to this file")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    rows = []
    print(f"threads: {args.threads}   torch {torch.__version__}   {args.seconds:.0f} s per measurement")
    print(f"{'configuration':34s} {'Hone img/s':>11s} {'PyTorch img/s':>14s} {'ratio':>7s}")
    for name, arch, shape, batch, trainable in CONFIGS:
        if args.only and args.only not in name:
            continue
        h, core = hone_images_per_s(args.hone, arch, shape, batch, trainable, args.threads, args.seconds,
                                    args.warmup)
        t = torch_images_per_s(arch, shape, batch, trainable, args.seconds, args.warmup)
        rows.append({"config": name, "hone_images_per_s": h, "torch_images_per_s": t, "ratio": h / t,
                     "openblas_core": core})
        print(f"{name:34s} {h:11.1f} {t:14.1f} {h / t:7.2f}", flush=True)
    if rows:
        print(f"Hone's OpenBLAS ran its {rows[0]['openblas_core']} kernels"
              + (" (OPENBLAS_CORETYPE is set in this environment)" if os.environ.get("OPENBLAS_CORETYPE") else ""))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"threads": args.threads, "results": rows}, f, indent=2)


if __name__ == "__main__":
    main()
