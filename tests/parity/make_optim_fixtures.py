#!/usr/bin/python3
"""Reference values for Hone's losses, optimizers and LR schedules, from PyTorch.

Run with Debian's /usr/bin/python3 (python3-torch 1.13):

    /usr/bin/python3 tests/parity/make_optim_fixtures.py OUTDIR

writes OUTDIR/parity-optim.json, parity-schedule.json and parity-loss.json,
which tests/parity/test-optim-parity.c compares against.  Everything is
deterministic: no random generator is used, inputs are closed-form.

Optimizers: every parameter p (1-D) has a fixed curvature a and centre c,
and at step t (0-based) its gradient is

    grad = a * (p - c) + n_t,   n_t[i] = float32 (0.5 * sin (0.37 t + 1.3 i + 0.7 j))

(j is the parameter's index), all in float32, so the C test rebuilds the same
gradients from the same parameters.  The L1 penalty is added the way a
PyTorch user would: l1 * p.abs ().sum () added to the loss, through autograd.
Clipping is torch.nn.utils.clip_grad_norm_ over the trainable parameters.
Per-parameter learning-rate multipliers are parameter groups whose lr is
lr_t * lr_mult.  A frozen parameter has requires_grad=False.

Schedules: the lr the optimizer holds before each of the steps, with
scheduler.step () after each.  Warmup is SequentialLR([LinearLR or LambdaLR
warmup, main], milestones=[w]).
"""

import json
import math
import os
import sys
import warnings

import torch
import torch.nn.functional as F

torch.use_deterministic_algorithms(True)
torch.set_num_threads(1)
# SequentialLR steps the main schedule with an epoch argument at its
# milestone, which torch 1.13 reports as deprecated; the values are right.
warnings.filterwarnings("ignore", message="The epoch parameter")


def f32(x):
    return float(torch.tensor(x, dtype=torch.float32))


def tolist(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


# ---- optimizers -----------------------------------------------------------

STEPS = 100


def noise(t, j, n):
    return torch.tensor([0.5 * math.sin(0.37 * t + 1.3 * i + 0.7 * j) for i in range(n)],
                        dtype=torch.float32)


def make_param(j, n, scale=1.0):
    init = [0.8 * math.cos(0.9 * i + 0.3 * j) + 0.1 * j for i in range(n)]
    a = [scale * (0.5 + 0.25 * ((i + j) % 4)) for i in range(n)]
    c = [0.3 * math.sin(1.7 * i + j) for i in range(n)]
    return {"init": init, "a": a, "c": c}


def run_optimizer(cfg):
    params = []
    for j, spec in enumerate(cfg["params"]):
        p = torch.tensor(spec["init"], dtype=torch.float32, requires_grad=spec["trainable"])
        params.append(p)
    groups = []
    for spec, p in zip(cfg["params"], params):
        groups.append({"params": [p], "lr": cfg["lr"][0] * spec["lr_mult"]})
    kind = cfg["kind"]
    if kind == "sgd":
        opt = torch.optim.SGD(groups, lr=cfg["lr"][0], momentum=cfg["momentum"],
                              dampening=cfg["dampening"], nesterov=cfg["nesterov"],
                              weight_decay=cfg["weight_decay"])
    elif kind == "adam":
        opt = torch.optim.Adam(groups, lr=cfg["lr"][0], betas=(cfg["beta1"], cfg["beta2"]),
                               eps=cfg["eps"], weight_decay=cfg["weight_decay"])
    else:
        opt = torch.optim.AdamW(groups, lr=cfg["lr"][0], betas=(cfg["beta1"], cfg["beta2"]),
                                eps=cfg["eps"], weight_decay=cfg["weight_decay"])

    a = [torch.tensor(s["a"], dtype=torch.float32) for s in cfg["params"]]
    c = [torch.tensor(s["c"], dtype=torch.float32) for s in cfg["params"]]
    trajectory, norms = [], []
    for t in range(STEPS):
        for group, spec in zip(opt.param_groups, cfg["params"]):
            group["lr"] = cfg["lr"][t] * spec["lr_mult"]
        for j, p in enumerate(params):
            p.grad = None
            if p.requires_grad:
                p.grad = a[j] * (p.detach() - c[j]) + noise(t, j, p.numel())
        if cfg["l1"] > 0:
            penalty = sum(p.abs().sum() for p in params if p.requires_grad)
            (cfg["l1"] * penalty).backward()
        trainable = [p for p in params if p.requires_grad]
        norm = torch.norm(torch.stack([torch.norm(p.grad.detach(), 2) for p in trainable]), 2)
        if cfg["clip_norm"] > 0:
            norm = torch.nn.utils.clip_grad_norm_(trainable, cfg["clip_norm"])
        norms.append(float(norm))
        opt.step()
        trajectory.append([tolist(p) for p in params])
    cfg["trajectory"] = trajectory
    cfg["grad_norm"] = norms
    return cfg


def optimizer_configs():
    def base(name, kind, **kw):
        cfg = {"name": name, "kind": kind, "momentum": 0.0, "dampening": 0.0, "nesterov": False,
               "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.0, "l1": 0.0,
               "clip_norm": 0.0}
        lr = kw.pop("lr", 0.05)
        cfg["lr"] = lr if isinstance(lr, list) else [lr] * STEPS
        params = kw.pop("params", None)
        if params is None:
            params = [dict(make_param(0, 7), trainable=True, lr_mult=1.0)]
        cfg["params"] = params
        cfg.update(kw)
        return cfg

    def p(j, n, trainable=True, lr_mult=1.0, scale=1.0):
        return dict(make_param(j, n, scale), trainable=trainable, lr_mult=lr_mult)

    cosine_lr = [0.02 * (1 + math.cos(math.pi * t / STEPS)) / 2 + 1e-3 for t in range(STEPS)]
    return [
        base("sgd-plain", "sgd", lr=0.1),
        base("sgd-momentum", "sgd", momentum=0.9),
        base("sgd-dampening", "sgd", momentum=0.9, dampening=0.3),
        base("sgd-nesterov", "sgd", momentum=0.9, nesterov=True),
        base("sgd-weight-decay", "sgd", momentum=0.9, weight_decay=0.01,
             lr=[0.05 * (1 + 0.5 * math.sin(0.1 * t)) for t in range(STEPS)]),
        base("sgd-clip", "sgd", momentum=0.9, clip_norm=0.5, lr=0.02,
             params=[p(0, 6, scale=4.0), p(1, 5, scale=4.0)]),
        base("sgd-l1-nesterov", "sgd", momentum=0.8, nesterov=True, l1=0.05, lr=0.03),
        base("sgd-groups", "sgd", momentum=0.5, weight_decay=1e-3,
             params=[p(0, 5, lr_mult=1.0), p(1, 8, lr_mult=0.25)]),
        base("adam", "adam", lr=0.01),
        base("adam-weight-decay", "adam", lr=0.02, beta1=0.8, beta2=0.99, weight_decay=0.05),
        base("adam-frozen", "adam", lr=0.01, weight_decay=0.01,
             params=[p(0, 4), p(1, 6, trainable=False), p(2, 5, lr_mult=2.0)]),
        base("adamw", "adamw", lr=0.01, weight_decay=0.1),
        base("adamw-clip-l1", "adamw", lr=0.01, weight_decay=0.05, clip_norm=1.0, l1=0.01,
             params=[p(0, 6, scale=3.0), p(1, 4, scale=3.0)]),
        base("adamw-groups-schedule", "adamw", lr=cosine_lr, weight_decay=0.02, eps=1e-6,
             params=[p(0, 5, lr_mult=0.5), p(1, 3, lr_mult=1.0), p(2, 4, trainable=False)]),
    ]


# ---- schedules ------------------------------------------------------------

SCHED = torch.optim.lr_scheduler


def schedule_trace(cfg, n_steps):
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=cfg["base_lr"])
    kind = cfg["kind"]
    if kind == "constant":
        main = SCHED.LambdaLR(opt, lambda t: 1.0)
    elif kind == "step":
        main = SCHED.StepLR(opt, step_size=cfg["step_size"], gamma=cfg["gamma"])
    elif kind == "multi_step":
        main = SCHED.MultiStepLR(opt, milestones=cfg["milestones"], gamma=cfg["gamma"])
    elif kind == "exponential":
        main = SCHED.ExponentialLR(opt, gamma=cfg["gamma"])
    elif kind == "cosine":
        main = SCHED.CosineAnnealingLR(opt, T_max=cfg["t_max"], eta_min=cfg["eta_min"])
    elif kind == "cosine_restarts":
        main = SCHED.CosineAnnealingWarmRestarts(opt, T_0=cfg["t_0"], T_mult=cfg["t_mult"],
                                                 eta_min=cfg["eta_min"])
    elif kind == "polynomial":
        assert cfg["end_lr"] == 0.0
        main = SCHED.PolynomialLR(opt, total_iters=cfg["total_steps"], power=cfg["power"])
    elif kind == "one_cycle":
        main = SCHED.OneCycleLR(opt, max_lr=cfg["base_lr"], total_steps=cfg["total_steps"],
                                pct_start=cfg["pct_start"], anneal_strategy=cfg["anneal"],
                                div_factor=cfg["div_factor"],
                                final_div_factor=cfg["final_div_factor"],
                                three_phase=cfg["three_phase"], cycle_momentum=False)
    else:
        raise ValueError(kind)

    sched = main
    w = cfg["warmup_steps"] if cfg["warmup"] != "none" else 0
    if w > 0:
        f0 = cfg["warmup_start_factor"]
        if cfg["warmup"] == "linear":
            warm = SCHED.LinearLR(opt, start_factor=f0, end_factor=1.0, total_iters=w)
        else:
            warm = SCHED.LambdaLR(
                opt, lambda t: f0 + (1 - f0) * (1 - math.cos(math.pi * t / w)) / 2)
        sched = SCHED.SequentialLR(opt, [warm, main], milestones=[w])

    lrs = []
    for _ in range(n_steps):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return lrs


def schedule_configs():
    def s(name, kind, base_lr=0.1, n_steps=150, **kw):
        cfg = {"name": name, "kind": kind, "base_lr": base_lr, "gamma": 0.1, "step_size": 30,
               "milestones": [], "t_max": 100, "t_0": 10, "t_mult": 1, "eta_min": 0.0,
               "total_steps": 100, "power": 1.0, "end_lr": 0.0, "pct_start": 0.3,
               "anneal": "cos", "div_factor": 25.0, "final_div_factor": 1e4,
               "three_phase": False, "warmup": "none", "warmup_steps": 0,
               "warmup_start_factor": 1.0 / 3.0}
        cfg.update(kw)
        cfg["lrs"] = schedule_trace(cfg, n_steps)
        return cfg

    return [
        s("constant", "constant", base_lr=0.05, n_steps=120),
        s("step", "step", step_size=17, gamma=0.5),
        s("step-gamma-0.3", "step", base_lr=1.0, step_size=5, gamma=0.3, n_steps=110),
        s("multi-step", "multi_step", milestones=[10, 25, 80, 81], gamma=0.2),
        s("exponential", "exponential", gamma=0.97),
        s("cosine", "cosine", t_max=120, eta_min=0.0, n_steps=120),
        s("cosine-eta-min-periodic", "cosine", t_max=40, eta_min=0.01, n_steps=150),
        s("cosine-restarts", "cosine_restarts", t_0=20, t_mult=1, eta_min=0.001),
        s("cosine-restarts-mult", "cosine_restarts", t_0=7, t_mult=2, eta_min=0.0, n_steps=200),
        s("cosine-restarts-mult3", "cosine_restarts", base_lr=0.3, t_0=4, t_mult=3,
          eta_min=0.01, n_steps=160),
        s("polynomial", "polynomial", total_steps=100, power=2.0, n_steps=130),
        s("polynomial-linear", "polynomial", base_lr=0.2, total_steps=64, power=1.0, n_steps=100),
        s("one-cycle-cos", "one_cycle", base_lr=0.4, total_steps=130, pct_start=0.3, n_steps=130),
        s("one-cycle-linear", "one_cycle", base_lr=0.1, total_steps=120, pct_start=0.25,
          anneal="linear", div_factor=10.0, final_div_factor=100.0, n_steps=120),
        s("one-cycle-three-phase", "one_cycle", base_lr=1.0, total_steps=150, pct_start=0.35,
          three_phase=True, n_steps=150),
        s("warmup-linear-cosine", "cosine", t_max=100, eta_min=0.001, warmup="linear",
          warmup_steps=20, warmup_start_factor=0.1, n_steps=140),
        s("warmup-linear-step", "step", step_size=15, gamma=0.5, warmup="linear",
          warmup_steps=10, warmup_start_factor=0.25, n_steps=120),
        s("warmup-cosine-exponential", "exponential", gamma=0.98, warmup="cosine",
          warmup_steps=12, warmup_start_factor=0.05, n_steps=120),
        s("warmup-linear-multi-step", "multi_step", milestones=[30, 70], gamma=0.1,
          warmup="linear", warmup_steps=5, warmup_start_factor=0.5, n_steps=110),
        s("warmup-cosine-restarts", "cosine_restarts", t_0=10, t_mult=2, eta_min=0.0,
          warmup="cosine", warmup_steps=8, warmup_start_factor=0.2, n_steps=150),
        s("warmup-linear-polynomial", "polynomial", total_steps=80, power=0.5,
          warmup="linear", warmup_steps=25, warmup_start_factor=0.01, n_steps=130),
        s("warmup-linear-constant", "constant", warmup="linear", warmup_steps=30,
          warmup_start_factor=0.1, n_steps=100),
    ]


def plateau_trace(cfg):
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=cfg["base_lr"])
    sched = SCHED.ReduceLROnPlateau(opt, mode=cfg["mode"], factor=cfg["factor"],
                                    patience=cfg["patience"], threshold=cfg["threshold"],
                                    threshold_mode=cfg["threshold_mode"],
                                    cooldown=cfg["cooldown"], min_lr=cfg["min_lr"])
    lrs = []
    for m in cfg["metrics"]:
        opt.step()
        sched.step(m)
        lrs.append(opt.param_groups[0]["lr"])
    cfg["lrs"] = lrs
    # NaN is not JSON: write a NaN metric as null.
    cfg["metrics"] = [None if math.isnan(m) else m for m in cfg["metrics"]]
    return cfg


def plateau_configs():
    # A loss that falls, stalls with small wiggles, falls again, and stalls.
    falling = [2.0 * math.exp(-0.1 * t) + 0.3 + 0.004 * math.sin(1.7 * t) for t in range(40)]
    stall = [0.35 + 0.01 * math.sin(0.9 * t) for t in range(50)]
    again = [0.34 - 0.003 * t for t in range(20)] + [0.28 + 0.002 * math.cos(t) for t in range(40)]
    loss_curve = falling + stall + again
    accuracy = [1.0 - v / 3.0 for v in loss_curve]

    def pl(name, metrics, **kw):
        cfg = {"name": name, "base_lr": 0.1, "mode": "min", "factor": 0.1, "patience": 10,
               "threshold": 1e-4, "threshold_mode": "rel", "cooldown": 0, "min_lr": 0.0,
               "metrics": metrics}
        cfg.update(kw)
        return plateau_trace(cfg)

    return [
        pl("plateau-defaults", loss_curve),
        pl("plateau-min-rel-cooldown", loss_curve, factor=0.5, patience=3, cooldown=2,
           threshold=0.01, min_lr=0.004),
        pl("plateau-min-abs", loss_curve, factor=0.3, patience=2, threshold=0.005,
           threshold_mode="abs", min_lr=1e-4),
        pl("plateau-max-rel", accuracy, mode="max", factor=0.2, patience=4, cooldown=1,
           threshold=0.001),
        pl("plateau-max-abs-nan", accuracy[:30] + [float("nan")] * 3 + accuracy[30:],
           mode="max", factor=0.5, patience=1, threshold=0.002, threshold_mode="abs"),
    ]


# ---- losses ---------------------------------------------------------------

def logits_of(n, k, scale=1.0, shift=0.0):
    return torch.tensor([[scale * (1.3 * math.sin(0.7 * i + 1.1 * j + 0.3) + 0.2 * j * math.cos(i))
                          + shift for j in range(k)] for i in range(n)], dtype=torch.float32)


def soft_targets_of(n, k):
    t = torch.tensor([[math.exp(math.sin(1.9 * i + 0.8 * j)) for j in range(k)]
                      for i in range(n)], dtype=torch.float32)
    return t / t.sum(1, keepdim=True)


def focal_reference(z, labels, targets, weights, smoothing, gamma):
    """-1/D sum_n sum_k q[n,k] (1 - p)^gamma log p, as Hone defines it; for a
    hard label without smoothing it is Lin et al.'s -w_y (1 - p_y)^gamma
    log p_y, written that way below so the two forms check each other."""
    n, k = z.shape
    logp = F.log_softmax(z, 1)
    p = logp.exp()
    w = weights if weights is not None else torch.ones(k, dtype=z.dtype)
    if labels is not None and smoothing == 0.0:
        logpt = logp.gather(1, labels[:, None])[:, 0]
        pt = logpt.exp()
        wy = w[labels]
        return (-wy * (1 - pt) ** gamma * logpt).sum() / wy.sum()
    if labels is not None:
        q = smoothing / k * w[None, :].repeat(n, 1)
        q = q + (1 - smoothing) * F.one_hot(labels, k).to(z.dtype) * w[labels][:, None]
        d = w[labels].sum()
    else:
        q = w[None, :] * ((1 - smoothing) * targets + smoothing / k)
        d = torch.tensor(float(n), dtype=z.dtype)
    return -(q * (1 - p) ** gamma * logp).sum() / d


def loss_case(name, kind, n, k, labels=True, weights=None, smoothing=0.0, gamma=0.0,
              scale=1.0, shift=0.0, reference=None):
    """kind is what Hone runs ("ce" or "focal"); reference what computes the
    expected values (by default the same): focal with gamma 0 is checked
    against F.cross_entropy itself."""
    reference = reference or kind
    z32 = logits_of(n, k, scale, shift)
    z = z32.double().requires_grad_(True)
    lab = torch.tensor([(3 * i + 1) % k for i in range(n)], dtype=torch.int64) if labels else None
    tgt = None if labels else soft_targets_of(n, k)
    w = torch.tensor(weights, dtype=torch.float32) if weights is not None else None
    w64 = w.double() if w is not None else None
    if reference == "ce":
        target = lab if labels else tgt.double()
        loss = F.cross_entropy(z, target, weight=w64, label_smoothing=smoothing)
    else:
        loss = focal_reference(z, lab, tgt.double() if tgt is not None else None, w64,
                               smoothing, gamma)
    loss.backward()
    return {
        "name": name, "kind": kind, "reference": reference, "n": n, "k": k, "gamma": gamma,
        "label_smoothing": smoothing,
        "weights": tolist(w) if w is not None else None,
        "logits": tolist(z32),
        "labels": [int(v) for v in lab.tolist()] if lab is not None else None,
        "targets": tolist(tgt) if tgt is not None else None,
        "loss": float(loss),
        "grad": tolist(z.grad),
    }


def loss_cases():
    w5 = [0.5, 2.0, 1.0, 0.25, 3.0]
    w10 = [1.0 + 0.3 * j for j in range(10)]
    return [
        loss_case("ce", "ce", 8, 5),
        loss_case("ce-weights", "ce", 8, 5, weights=w5),
        loss_case("ce-smoothing", "ce", 8, 5, smoothing=0.1),
        loss_case("ce-weights-smoothing", "ce", 12, 5, weights=w5, smoothing=0.25),
        loss_case("ce-zero-weight-class", "ce", 8, 5, weights=[1.0, 0.0, 2.0, 1.0, 0.5],
                  smoothing=0.05),
        loss_case("ce-soft", "ce", 8, 5, labels=False),
        loss_case("ce-soft-smoothing", "ce", 8, 5, labels=False, smoothing=0.2),
        loss_case("ce-soft-weights-smoothing", "ce", 9, 5, labels=False, weights=w5,
                  smoothing=0.1),
        loss_case("ce-large-logits", "ce", 16, 10, scale=60.0, shift=300.0),
        loss_case("ce-10-classes-weights", "ce", 16, 10, weights=w10, smoothing=0.1),
        loss_case("focal-gamma0-is-ce", "focal", 8, 5, weights=w5, reference="ce"),
        loss_case("focal-gamma0-smoothing-soft-is-ce", "focal", 8, 5, labels=False,
                  weights=w5, smoothing=0.1, reference="ce"),
        loss_case("focal-gamma2", "focal", 8, 5, gamma=2.0),
        loss_case("focal-gamma0.5-weights", "focal", 8, 5, weights=w5, gamma=0.5),
        loss_case("focal-gamma2-smoothing", "focal", 10, 5, weights=w5, smoothing=0.1, gamma=2.0),
        loss_case("focal-gamma1.5-soft", "focal", 8, 5, labels=False, gamma=1.5),
        loss_case("focal-gamma3-sharp", "focal", 16, 10, gamma=3.0, scale=4.0),
    ]


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make_optim_fixtures.py OUTDIR")
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    files = {
        "parity-optim.json": {"torch": torch.__version__, "steps": STEPS,
                              "configs": [run_optimizer(c) for c in optimizer_configs()]},
        "parity-schedule.json": {"torch": torch.__version__, "configs": schedule_configs(),
                                 "plateau": plateau_configs()},
        "parity-loss.json": {"torch": torch.__version__, "cases": loss_cases()},
    }
    for name, data in files.items():
        tmp = os.path.join(out, name + ".tmp")
        with open(tmp, "w") as f:
            json.dump(data, f, allow_nan=False)
        os.replace(tmp, os.path.join(out, name))


if __name__ == "__main__":
    main()
