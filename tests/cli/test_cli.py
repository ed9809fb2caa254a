#!/usr/bin/python3
"""hone-cli's interface, as a user and the acceptance checks drive it.

    test_cli.py HONE_CLI REFERENCE_DIR [--torch]

Without --torch: help, exit statuses and error messages, `info` and `bench` output (no PyTorch
needed; suite 'engine'). With --torch: `predict` on weights and inputs made by PyTorch gives
PyTorch's logits (suite 'parity'). Prints TAP.
"""
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "parity"))

CLI = sys.argv[1]
REFDIR = sys.argv[2]
WITH_TORCH = "--torch" in sys.argv[3:]

results = []


def run(*args, expect=0):
    p = subprocess.run([CLI, *args], capture_output=True, text=True, timeout=600)
    if expect is not None and p.returncode != expect:
        raise AssertionError(f"hone-cli {' '.join(args)} exited {p.returncode}, expected {expect}\n"
                             f"stdout: {p.stdout}\nstderr: {p.stderr}")
    return p


def case(fn):
    try:
        fn()
        results.append((fn.__name__, None))
    except Exception as e:  # noqa: BLE001 - every failure is reported, not raised
        results.append((fn.__name__, e))
    return fn


def test_help():
    p = run("--help")
    for cmd in ("info", "predict", "bench", "train", "eval", "zoo", "pretrain", "export"):
        assert cmd in p.stdout, f"--help does not list {cmd}"
        q = run(cmd, "--help")
        assert "--json" in q.stdout and "Usage" in q.stdout, f"{cmd} --help: {q.stdout}"
    run("help", "predict")
    p = run("train", "--help")
    assert "--set" in p.stdout and "--resume" in p.stdout and "--out" in p.stdout, p.stdout


def test_usage_errors():
    p = run("frobnicate", expect=2)
    assert "frobnicate" in p.stderr and "--help" in p.stderr
    p = run(expect=2)
    assert "Usage" in p.stderr
    p = run("predict", "--arch", "cnn-s", expect=2)
    assert "missing --weights" in p.stderr, p.stderr
    p = run("info", "--arch", "resnet99", expect=2)
    assert "resnet99" in p.stderr and "resnet18" in p.stderr, p.stderr
    p = run("bench", "--arch", "cnn-s", "--input", "1x28", "--batch", "0", expect=2)
    assert p.stderr.count("\n") == 1, "errors are one line: " + p.stderr
    p = run("bench", "--arch", "cnn-s", "--input", "axbxc", expect=2)
    assert "--input" in p.stderr and "CxHxW" in p.stderr, p.stderr
    p = run("info", "--arch", "cnn-s", "--trainable", "nosuchlayer", expect=2)
    assert "nosuchlayer" in p.stderr, p.stderr


def test_info_json():
    p = run("info", "--arch", "resnet18", "--classes", "1000", "--input", "3x224x224", "--json")
    info = json.loads(p.stdout)
    assert info["params"] == 11689512, info["params"]
    assert info["trainable_params"] == info["params"]
    assert 3.5e9 < info["flops"] < 3.8e9, info["flops"]   # torchvision quotes 1.81 GMACs
    names = [layer["name"] for layer in info["layers"]]
    assert "layer4.1.conv2" in names and names[-1] == "fc", names[-3:]
    p = run("info", "--arch", "resnet18", "--trainable", "layer4,fc", "--json")
    info = json.loads(p.stdout)
    assert 0 < info["trainable_params"] < info["params"]
    p = run("info", "--arch", "cnn-s", "--trainable", "head", "--json")
    info = json.loads(p.stdout)
    assert info["trainable_params"] == 128 * 10 + 10, info["trainable_params"]
    p = run("info", "--arch", "cnn-s")
    assert "conv1" in p.stdout and "parameters" in p.stdout


def test_bench_json():
    p = run("bench", "--arch", "cnn-s", "--input", "1x28x28", "--batch", "8", "--steps", "2",
            "--warmup", "1", "--trainable", "head", "--threads", "1", "--json")
    b = json.loads(p.stdout)
    assert b["images_per_s"] > 0 and b["steps"] == 2 and b["batch"] == 8 and b["threads"] == 1, b
    assert b["trainable_params"] == 1290, b


def test_predict_bad_files():
    with tempfile.TemporaryDirectory() as d:
        bad = os.path.join(d, "bad.safetensors")
        with open(bad, "wb") as f:
            f.write(b"\xff" * 16)
        p = run("predict", "--arch", "cnn-s", "--weights", bad, "--classes", "10", "--input", bad,
                "--output", os.path.join(d, "out.safetensors"), expect=1)
        assert "bad.safetensors" in p.stderr, p.stderr
        assert not os.path.exists(os.path.join(d, "out.safetensors"))


def test_predict_matches_torch():
    import torch
    import torchvision
    from hone_safetensors import load_file, save_file
    sys.path.insert(0, REFDIR)
    from cnn_s import CnnS

    torch.manual_seed(0)
    cases = [
        ("cnn-s", CnnS(num_classes=7, in_channels=1), 7, (5, 1, 28, 28)),
        ("resnet18", torchvision.models.resnet18(num_classes=3), 3, (3, 3, 40, 48)),
        ("mobilenet_v2", torchvision.models.mobilenet_v2(num_classes=4), 4, (2, 3, 64, 64)),
    ]
    with tempfile.TemporaryDirectory() as d:
        for arch, model, classes, shape in cases:
            with torch.no_grad():
                for m in model.modules():
                    if isinstance(m, torch.nn.BatchNorm2d):
                        m.weight.uniform_(0.5, 1.5)
                        m.bias.normal_(0, 0.1)
                        m.running_mean.normal_(0, 0.1)
                        m.running_var.uniform_(0.5, 1.5)
            model.eval()
            x = torch.rand(*shape)
            with torch.no_grad():
                expected = model(x)
            w = os.path.join(d, f"{arch}.safetensors")
            i = os.path.join(d, f"{arch}-in.safetensors")
            o = os.path.join(d, f"{arch}-out.safetensors")
            save_file(model.state_dict(), w)
            save_file({"input": x}, i)
            p = run("predict", "--arch", arch, "--weights", w, "--classes", str(classes),
                    "--input", i, "--output", o, "--batch", "2", "--json")
            out = json.loads(p.stdout)
            got, _ = load_file(o)
            logits = got["logits"]
            assert logits.shape == expected.shape, (arch, logits.shape)
            err = (logits - expected).abs().max().item()
            assert torch.allclose(logits, expected, rtol=1e-4, atol=1e-4), f"{arch}: max |diff| {err}"
            assert out["predictions"] == expected.argmax(1).tolist(), arch
            # a head of the wrong size is refused, naming the tensor
            p = run("predict", "--arch", arch, "--weights", w, "--classes", str(classes + 1),
                    "--input", i, "--output", o, expect=1)
            assert ".weight" in p.stderr and "shape" in p.stderr and w in p.stderr, p.stderr


# ---- the model zoo ---------------------------------------------------------------

DEFAULT_ZOO = "cnn-s-fmnist0-4"    # the default recipe's model


def write_f32_safetensors(path, name, shape, values, metadata=None):
    """A safetensors file of one F32 tensor, by hand (no torch in this suite)."""
    import struct
    header = {name: {"dtype": "F32", "shape": list(shape), "data_offsets": [0, 4 * len(values)]}}
    if metadata:
        header["__metadata__"] = metadata
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + struct.pack(f"<{len(values)}f", *values))


def write_grey_png(path, width, height, pixel):
    """An 8-bit grey PNG, by hand: pixel(x, y) -> 0..255."""
    import struct
    import zlib

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff))
    raw = b"".join(b"\0" + bytes(pixel(x, y) for x in range(width)) for y in range(height))
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def test_zoo_list():
    p = run("zoo")
    assert DEFAULT_ZOO in p.stdout and "accuracy" in p.stdout and "%" in p.stdout, p.stdout
    p = run("zoo", "--json", "--verify")
    z = json.loads(p.stdout)
    names = [m["name"] for m in z["models"]]
    assert DEFAULT_ZOO in names, names
    for m in z["models"]:
        assert m["source"] == "zoo:" + m["name"]
        assert os.path.getsize(m["file"]) == m["bytes"] <= 10_000_000, m["name"]
        assert 0.5 < m["accuracy"] <= 1 and m["correct"] <= m["samples"], m
        assert m["classes"] and m["arch"] and m["input"].count("x") == 2, m
    env = dict(os.environ, HONE_ZOO_DIR="/nonexistent/zoo")
    q = subprocess.run([CLI, "zoo"], capture_output=True, text=True, env=env)
    assert q.returncode == 1 and "/nonexistent/zoo" in q.stderr and "HONE_ZOO_DIR" in q.stderr, q.stderr
    p = run("info", "zoo:nosuchmodel", expect=1)
    assert "zoo:nosuchmodel" in p.stderr and DEFAULT_ZOO in p.stderr, p.stderr


def test_info_model():
    p = run("info", "zoo:" + DEFAULT_ZOO)
    assert "conv1" in p.stdout and "T-shirt/top" in p.stdout and "FLOPs" in p.stdout, p.stdout
    p = run("info", "zoo:" + DEFAULT_ZOO, "--trainable", "head", "--json")
    info = json.loads(p.stdout)
    assert info["classes"] == ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat"], info["classes"]
    assert info["input"] == [1, 28, 28] and info["arch"] == "cnn-s" and info["format"] == "hone"
    assert info["trainable_params"] == 128 * 5 + 5 and info["flops"] > 0, info["trainable_params"]
    assert info["head"] == ["fc.weight", "fc.bias"]
    with tempfile.TemporaryDirectory() as d:
        bare = os.path.join(d, "bare.safetensors")
        write_f32_safetensors(bare, "fc.weight", (2, 3), [0.5] * 6)
        p = run("info", bare)
        assert "fc.weight" in p.stdout and "F32" in p.stdout and "(2, 3)" in p.stdout, p.stdout
        p = run("info", bare, "--json")
        t = json.loads(p.stdout)
        assert t["tensors"] == [{"name": "fc.weight", "dtype": "F32", "shape": [2, 3]}], t
        p = run("info", os.path.join(d, "missing.safetensors"), expect=1)
        assert "missing.safetensors" in p.stderr, p.stderr
        p = run("info", "zoo:" + DEFAULT_ZOO, "--arch", "cnn-s", expect=2)


def test_predict_model():
    with tempfile.TemporaryDirectory() as d:
        # the tensor form: logits for two images (already normalised)
        i = os.path.join(d, "in.safetensors")
        o = os.path.join(d, "out.safetensors")
        write_f32_safetensors(i, "input", (2, 1, 28, 28), [0.0] * 784 + [1.0] * 784)
        p = run("predict", "--model", "zoo:" + DEFAULT_ZOO, "--input", i, "--output", o, "--json")
        out = json.loads(p.stdout)
        assert out["samples"] == 2 and out["classes"] == 5 and len(out["predictions"]) == 2, out
        with open(o, "rb") as f:
            data = f.read()
        import struct
        (n,) = struct.unpack("<Q", data[:8])
        header = json.loads(data[8:8 + n])
        assert header["logits"]["shape"] == [2, 5], header
        assert "Coat" in header["__metadata__"]["hone.classes"], header["__metadata__"]

        # the image form: top-k with class names
        trousers = os.path.join(d, "trousers.png")
        write_grey_png(trousers, 28, 28, lambda x, y: 200 if 3 <= y <= 26 and (8 <= x <= 12 or 16 <= x <= 20) or (3 <= y <= 8 and 8 <= x <= 20) else 0)
        p = run("predict", "--model", "zoo:" + DEFAULT_ZOO, trousers, "--top", "2")
        assert "trousers.png" in p.stdout and "%" in p.stdout, p.stdout
        p = run("predict", "--model", "zoo:" + DEFAULT_ZOO, trousers, trousers, "--top", "3", "--json")
        r = json.loads(p.stdout)
        assert len(r["images"]) == 2 and len(r["images"][0]["top"]) == 3, r
        top = r["images"][0]["top"]
        names = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat"]
        assert all(t["name"] == names[t["class"]] for t in top), top
        assert top[0]["probability"] >= top[1]["probability"] >= top[2]["probability"], top
        assert abs(sum(t["probability"] for t in
                       json.loads(run("predict", "--model", "zoo:" + DEFAULT_ZOO, trousers, "--top", "9",
                                      "--json").stdout)["images"][0]["top"]) - 1) < 1e-5
        # errors: a bad image is named, images need --model, not both forms
        bad = os.path.join(d, "bad.png")
        with open(bad, "wb") as f:
            f.write(b"not an image")
        p = run("predict", "--model", "zoo:" + DEFAULT_ZOO, trousers, bad, expect=1)
        assert "bad.png" in p.stderr and "trousers.png" in p.stdout, p.stderr
        p = run("predict", "--arch", "cnn-s", trousers, expect=2)
        assert "--model" in p.stderr, p.stderr
        p = run("predict", "--model", "zoo:" + DEFAULT_ZOO, "--input", i, expect=2)
        assert "--output" in p.stderr, p.stderr


def test_pretrain_zoo():
    with tempfile.TemporaryDirectory() as d:
        zoo = os.path.join(d, "zoo")
        p = run("pretrain", "--epochs", "1", "--set", "data.limit=200", "--set", "train.threads=2",
                "--run", os.path.join(d, "run"), "-o", zoo, "--name", "tiny")
        with open(os.path.join(zoo, "zoo.json")) as f:
            manifest = json.load(f)
        (m,) = manifest["models"]
        assert m["name"] == "tiny" and m["arch"] == "cnn-s" and m["split"] == "fmnist-test:0-4", m
        assert m["samples"] == 5000 and m["classes"][0] == "T-shirt/top", m
        assert "source=fmnist:0-4" in m["recipe"], m["recipe"]
        path = os.path.join(zoo, m["file"])
        assert os.path.getsize(path) == m["bytes"], m
        import hashlib
        with open(path, "rb") as f:
            data = f.read()
        assert hashlib.sha256(data).hexdigest() == m["sha256"]
        env = dict(os.environ, HONE_ZOO_DIR=zoo)
        q = subprocess.run([CLI, "zoo", "--json"], capture_output=True, text=True, env=env)
        assert q.returncode == 0 and json.loads(q.stdout)["models"][0]["correct"] == m["correct"], q.stderr
        # --from-run records a finished run again without training
        p = run("pretrain", "--from-run", os.path.join(d, "run"), "-o", zoo, "--name", "again", "--json")
        assert json.loads(p.stdout)["correct"] == m["correct"], p.stdout
        # a damaged file is refused wherever it is used
        with open(path, "r+b") as f:
            f.seek(len(data) - 3)
            f.write(b"\x01\x02\x03")
        q = subprocess.run([CLI, "info", "zoo:tiny"], capture_output=True, text=True, env=env)
        assert q.returncode == 1 and "SHA-256" in q.stderr and path in q.stderr, q.stderr
        q = subprocess.run([CLI, "zoo", "--verify"], capture_output=True, text=True, env=env)
        assert q.returncode == 1 and "tiny" in q.stderr, q.stderr
        q = subprocess.run([CLI, "train", "--set", "model.source=zoo:tiny", "--out", os.path.join(d, "r2")],
                           capture_output=True, text=True, env=env)
        assert q.returncode == 1 and "SHA-256" in q.stderr, q.stderr
        p = run("pretrain", "--classes", "3-4", "-o", zoo, expect=2)
        assert "--classes" in p.stderr, p.stderr
        p = run("pretrain", "--arch", "vgg", "-o", zoo, expect=2)
        assert "vgg" in p.stderr, p.stderr


QUICK = ["--set", "data.limit=300", "--set", "train.epochs=1", "--set", "freeze.mode=head",
         "--set", "train.threads=2"]


def json_lines(text):
    events = [json.loads(line) for line in text.splitlines() if line.strip()]
    assert events and all("event" in e for e in events), text[:500]
    return events


def test_train_errors():
    p = run("train", "--set", "optimizer.lrr=1", expect=2)
    assert "optimizer.lrr" in p.stderr and p.stderr.count("\n") == 1, p.stderr
    p = run("train", "--set", "optimizer.lr=-1", expect=2)
    assert "optimizer.lr" in p.stderr and p.stderr.count("\n") == 1, p.stderr
    p = run("train", "/nonexistent/recipe.hone", expect=1)
    assert "/nonexistent/recipe.hone" in p.stderr and p.stderr.count("\n") == 1, p.stderr
    with tempfile.TemporaryDirectory() as d:
        p = run("train", "--resume", d, expect=1)
        assert "checkpoint" in p.stderr and p.stderr.count("\n") == 1, p.stderr
        p = run("train", "a.hone", "b.hone", expect=2)
        p = run("train", "--set", "model.arch=resnet99", "--out", os.path.join(d, "x"), expect=2)
        assert "resnet99" in p.stderr, p.stderr
    p = run("eval", "--arch", "cnn-s", expect=2)
    assert "missing --weights" in p.stderr, p.stderr


def test_train_eval_resume():
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "run")
        p = run("train", *QUICK, "--out", out)      # stdout is a pipe: JSON events
        events = json_lines(p.stdout)
        assert events[0]["event"] == "started" and events[-1]["event"] == "finished", events[-1]
        assert events[-1]["reason"] == "completed", events[-1]
        kinds = {e["event"] for e in events}
        assert {"step", "epoch", "validation", "checkpoint"} <= kinds, kinds
        for f in ("recipe.hone", "metrics.jsonl", "checkpoint.safetensors", "best.safetensors",
                  "final.safetensors", "final.onnx", "report.json"):
            assert os.path.isfile(os.path.join(out, f)), f
        assert any(e["event"] == "checkpoint" and e.get("what") == "onnx" for e in events), kinds
        with open(os.path.join(out, "metrics.jsonl")) as f:
            logged = json_lines(f.read())
        assert len(logged) >= len(events)
        with open(os.path.join(out, "report.json")) as f:
            report = json.load(f)
        assert 0 <= report["accuracy"] <= 1 and len(report["confusion"]) == 5, report.keys()

        final = os.path.join(out, "final.safetensors")
        p = run("eval", "--arch", "cnn-s", "--weights", final, "--data", "fmnist-test:5-9",
                "--batch", "100", "--json")
        e = json.loads(p.stdout)
        assert e["samples"] == 5000 and len(e["confusion"]) == 5, e.keys()
        assert sum(map(sum, e["confusion"])) == 5000
        assert 0 <= e["accuracy"] <= 1 and e["loss"] > 0, (e["accuracy"], e["loss"])
        p = run("eval", "--arch", "cnn-s", "--weights", final, "--data", "fmnist-test:5-9",
                "--batch", "100")
        assert "accuracy" in p.stdout and "Confusion" in p.stdout and "precision" in p.stdout, p.stdout
        assert "Worst" in p.stdout, p.stdout

        # the run is complete; more epochs continue it
        p = run("train", "--resume", out, expect=1)
        assert "complete" in p.stderr and p.stderr.count("\n") == 1, p.stderr
        p = run("train", "--resume", out, "--set", "train.epochs=2")
        events = json_lines(p.stdout)
        assert events[0]["resumed"] is True and events[-1]["reason"] == "completed", events[-1]
        assert [e["epoch"] for e in events if e["event"] == "epoch"] == [2]

        # a folder that holds a run is not overwritten
        p = run("train", *QUICK, "--out", out, expect=1)
        assert "already holds a run" in p.stderr, p.stderr


def test_export():
    p = run("export", "-o", "x.onnx", expect=2)
    assert "missing --model" in p.stderr and p.stderr.count("\n") == 1, p.stderr
    p = run("export", "--arch", "cnn-s", expect=2)
    assert "missing -o" in p.stderr, p.stderr
    p = run("export", "--arch", "cnn-s", "-o", "x.pt", expect=2)
    assert "x.pt" in p.stderr and ".onnx" in p.stderr, p.stderr
    p = run("export", "--arch", "cnn-s", "--model", "m.safetensors", "-o", "x.onnx", expect=2)
    assert "not both" in p.stderr, p.stderr
    with tempfile.TemporaryDirectory() as d:
        st = os.path.join(d, "m.safetensors")
        p = run("export", "--arch", "cnn-s", "--classes", "3", "-o", st, "--json")
        e = json.loads(p.stdout)
        assert e["format"] == "safetensors" and e["classes"] == 3 and e["input"] == "1x28x28", e
        onnx = os.path.join(d, "m.onnx")
        p = run("export", "--model", st, "-o", onnx, "--json")
        e = json.loads(p.stdout)
        assert e["format"] == "onnx" and e["opset"] == 13 and e["arch"] == "cnn-s", e
        assert e["bytes"] == os.path.getsize(onnx) and e["params"] > 100000, e
        p = run("export", "--model", st, "-o", onnx)
        assert "ONNX" in p.stdout and onnx in p.stdout and "MB" in p.stdout, p.stdout
        # a folder that does not exist: one line naming the file, nothing written
        bad = os.path.join(d, "no-such-dir", "m.onnx")
        p = run("export", "--model", st, "-o", bad, expect=1)
        assert bad in p.stderr and p.stderr.count("\n") == 1, p.stderr
        # a file that is not a model
        junk = os.path.join(d, "junk.safetensors")
        with open(junk, "w") as f:
            f.write("not a model")
        p = run("export", "--model", junk, "-o", os.path.join(d, "again.onnx"), expect=1)
        assert junk in p.stderr and p.stderr.count("\n") == 1, p.stderr
        assert not os.path.exists(os.path.join(d, "again.onnx"))


def test_train_sigint():
    import signal
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "run")
        args = [CLI, "train", "--set", "data.limit=1500", "--set", "train.epochs=2",
                "--set", "train.batch=8", "--set", "freeze.mode=head", "--out", out, "--json"]
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        steps = 0
        while steps < 3:
            line = proc.stdout.readline()
            assert line, "hone-cli train ended before its third step"
            steps += json.loads(line)["event"] == "step"
        proc.send_signal(signal.SIGINT)
        rest, err = proc.communicate(timeout=300)
        assert proc.returncode == 128 + signal.SIGINT, (proc.returncode, err)
        events = json_lines(rest)
        assert events[-1]["event"] == "finished" and events[-1]["reason"] == "stopped", events[-1]
        assert "--resume" in err and err.count("\n") == 1, err
        assert os.path.isfile(os.path.join(out, "checkpoint.safetensors"))
        assert not os.path.exists(os.path.join(out, "final.safetensors"))
        p = run("train", "--resume", out)
        events = json_lines(p.stdout)
        assert events[0]["resumed"] is True and events[-1]["reason"] == "completed", events[-1]



case(test_help)
case(test_usage_errors)
case(test_info_json)
case(test_bench_json)
case(test_predict_bad_files)
case(test_export)
if not WITH_TORCH:
    case(test_zoo_list)
    case(test_info_model)
    case(test_predict_model)
    case(test_pretrain_zoo)
if not WITH_TORCH:    # training runs are no parity check: run them once
    case(test_train_errors)
    case(test_train_eval_resume)
    case(test_train_sigint)
if WITH_TORCH:
    case(test_predict_matches_torch)

print(f"1..{len(results)}")
for i, (name, err) in enumerate(results, 1):
    if err is None:
        print(f"ok {i} /cli/{name}")
    else:
        print(f"not ok {i} /cli/{name}")
        for line in str(err).splitlines():
            print(f"# {line}")
sys.exit(0 if all(e is None for _, e in results) else 1)
