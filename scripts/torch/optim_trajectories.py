#!/usr/bin/python3
"""Reference data for nabla's optimizers and LR schedulers, computed with PyTorch.

Writes test/optim/data/optim_trajectories.json and test/optim/data/lr_schedules.json.

Optimizer cases: fixed float32 initial parameters and a fixed, deterministic sequence of float32
gradients (stored in the file, so the trajectory does not depend on autograd); for each optimizer
and option combination, the parameters after every step. Two parameters of different sizes are
used: 7 elements (handled by PyTorch's scalar loop) and 40 elements (mostly its SIMD loop).
Every optimizer runs with foreach=False (PyTorch's per-tensor reference implementation).

Scheduler cases: the learning rate (and, for OneCycleLR, the momentum) over 30 steps.

Run: /usr/bin/python3 scripts/torch/optim_trajectories.py   (Debian's python3-torch)
"""
import json
import os

import numpy as np
import torch

OUT_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "test", "optim", "data")
SIZES = [7, 40]
STEPS = 12


def f32list(a):
    # float32 values are exact doubles; Python's repr of the double round-trips exactly.
    return [float(x) for x in np.asarray(a, dtype=np.float32).ravel()]


def initial_params():
    return [np.float32(np.cos(np.arange(n) * 0.37 + k) * (1.5 - k)) for k, n in enumerate(SIZES)]


def gradient(step, k, n):
    i = np.arange(n)
    # Varied signs and magnitudes (including tiny ones) so every branch of the update is exercised.
    g = np.sin(0.7 * i + 1.3 * step + 0.5 * k) * (0.2 + 2.0 * ((i * 7 + step * 3) % 5) / 5.0)
    g[(i + step) % 11 == 0] *= 1e-4
    return np.float32(g)


GRADS = [[gradient(s, k, n) for k, n in enumerate(SIZES)] for s in range(STEPS)]

# (case name, torch class, groups: list of option dicts (torch names), each group's parameter indices)
CASES = [
    ("sgd_plain", torch.optim.SGD, [dict(lr=0.1)]),
    ("sgd_momentum", torch.optim.SGD, [dict(lr=0.05, momentum=0.9)]),
    ("sgd_momentum_dampening", torch.optim.SGD, [dict(lr=0.05, momentum=0.8, dampening=0.3)]),
    ("sgd_nesterov", torch.optim.SGD, [dict(lr=0.05, momentum=0.9, nesterov=True)]),
    ("sgd_nesterov_wd", torch.optim.SGD, [dict(lr=0.03, momentum=0.7, nesterov=True, weight_decay=0.01)]),
    ("sgd_wd_maximize", torch.optim.SGD, [dict(lr=0.1, weight_decay=0.05, maximize=True)]),
    ("sgd_momentum_wd", torch.optim.SGD, [dict(lr=0.02, momentum=0.95, dampening=0.1, weight_decay=1e-3)]),
    ("adam_default", torch.optim.Adam, [dict(lr=1e-3)]),
    ("adam_lr_betas", torch.optim.Adam, [dict(lr=0.05, betas=(0.8, 0.99), eps=1e-6)]),
    ("adam_amsgrad", torch.optim.Adam, [dict(lr=0.01, amsgrad=True)]),
    ("adam_wd", torch.optim.Adam, [dict(lr=0.01, weight_decay=0.1)]),
    ("adam_wd_amsgrad_maximize", torch.optim.Adam, [dict(lr=0.02, weight_decay=0.01, amsgrad=True, maximize=True)]),
    ("adamw_default", torch.optim.AdamW, [dict(lr=1e-3)]),
    ("adamw_wd", torch.optim.AdamW, [dict(lr=0.01, weight_decay=0.1)]),
    ("adamw_amsgrad", torch.optim.AdamW, [dict(lr=0.02, betas=(0.85, 0.98), weight_decay=0.05, amsgrad=True)]),
    ("rmsprop_default", torch.optim.RMSprop, [dict(lr=0.01)]),
    ("rmsprop_centered", torch.optim.RMSprop, [dict(lr=0.01, centered=True)]),
    ("rmsprop_momentum", torch.optim.RMSprop, [dict(lr=0.01, momentum=0.9, alpha=0.95)]),
    ("rmsprop_centered_momentum_wd", torch.optim.RMSprop, [dict(lr=0.005, momentum=0.5, centered=True, weight_decay=0.1, eps=1e-4)]),
    ("rmsprop_maximize", torch.optim.RMSprop, [dict(lr=0.01, maximize=True, alpha=0.9)]),
    # Two parameter groups with their own hyper-parameters (first group: param 0, second: param 1).
    ("sgd_groups", torch.optim.SGD, [dict(lr=0.1, momentum=0.9), dict(lr=0.01, momentum=0.5, nesterov=True, weight_decay=0.1)]),
    ("adam_groups", torch.optim.Adam, [dict(lr=0.01), dict(lr=0.003, betas=(0.5, 0.9), amsgrad=True)]),
]

CAMEL = {"weight_decay": "weightDecay"}


def camel(opts):
    out = {}
    for k, v in opts.items():
        out[CAMEL.get(k, k)] = list(v) if isinstance(v, tuple) else v
    return out


def run_case(name, cls, groups):
    params = [torch.tensor(p).requires_grad_() for p in initial_params()]
    if len(groups) == 1:
        opt = cls(params, foreach=False, **groups[0])
        ts_groups = [dict(params=[0, 1], **camel(groups[0]))]
    else:
        opt = cls([dict(params=[params[k]], **g) for k, g in enumerate(groups)], foreach=False)
        ts_groups = [dict(params=[k], **camel(g)) for k, g in enumerate(groups)]
    trajectory = []
    for s in range(STEPS):
        for k, p in enumerate(params):
            p.grad = torch.tensor(GRADS[s][k])
        opt.step()
        trajectory.append([f32list(p.detach().numpy()) for p in params])
    return dict(name=name, optimizer=cls.__name__, groups=ts_groups, trajectory=trajectory)


def optimizer_data():
    return dict(
        generator="scripts/torch/optim_trajectories.py",
        torch_version=torch.__version__,
        sizes=SIZES,
        initial=[f32list(p) for p in initial_params()],
        grads=[[f32list(g) for g in step] for step in GRADS],
        cases=[run_case(*c) for c in CASES],
    )


# ---- schedulers ----------------------------------------------------------------------------

SCHED_STEPS = 30
S = torch.optim.lr_scheduler

SCHEDULERS = [
    ("step", dict(type="StepLR", stepSize=7, gamma=0.5), lambda o: S.StepLR(o, step_size=7, gamma=0.5)),
    ("multistep", dict(type="MultiStepLR", milestones=[3, 10, 10, 22], gamma=0.3),
     lambda o: S.MultiStepLR(o, milestones=[3, 10, 10, 22], gamma=0.3)),
    ("exponential", dict(type="ExponentialLR", gamma=0.9), lambda o: S.ExponentialLR(o, gamma=0.9)),
    ("cosine", dict(type="CosineAnnealingLR", tMax=10, etaMin=0.001),
     lambda o: S.CosineAnnealingLR(o, T_max=10, eta_min=0.001)),
    ("cosine_long", dict(type="CosineAnnealingLR", tMax=40), lambda o: S.CosineAnnealingLR(o, T_max=40)),
    ("linear_warmup", dict(type="LinearLR", startFactor=0.1, endFactor=1.0, totalIters=8),
     lambda o: S.LinearLR(o, start_factor=0.1, end_factor=1.0, total_iters=8)),
    ("linear_decay", dict(type="LinearLR", startFactor=1.0, endFactor=0.25, totalIters=20),
     lambda o: S.LinearLR(o, start_factor=1.0, end_factor=0.25, total_iters=20)),
    ("onecycle_cos", dict(type="OneCycleLR", maxLr=0.5, totalSteps=30),
     lambda o: S.OneCycleLR(o, max_lr=0.5, total_steps=30)),
    ("onecycle_linear", dict(type="OneCycleLR", maxLr=1.0, totalSteps=31, pctStart=0.25, annealStrategy="linear",
                             divFactor=10.0, finalDivFactor=100.0),
     lambda o: S.OneCycleLR(o, max_lr=1.0, total_steps=31, pct_start=0.25, anneal_strategy="linear",
                            div_factor=10.0, final_div_factor=100.0)),
    ("onecycle_three_phase", dict(type="OneCycleLR", maxLr=0.2, totalSteps=30, threePhase=True, pctStart=0.4),
     lambda o: S.OneCycleLR(o, max_lr=0.2, total_steps=30, three_phase=True, pct_start=0.4)),
    ("sequential_warmup_cosine",
     dict(type="SequentialLR", milestones=[5], schedulers=[
         dict(type="LinearLR", startFactor=0.2, endFactor=1.0, totalIters=5),
         dict(type="CosineAnnealingLR", tMax=25, etaMin=0.0)]),
     lambda o: S.SequentialLR(o, [S.LinearLR(o, start_factor=0.2, end_factor=1.0, total_iters=5),
                                  S.CosineAnnealingLR(o, T_max=25)], milestones=[5])),
    ("sequential_three",
     dict(type="SequentialLR", milestones=[4, 12], schedulers=[
         dict(type="LinearLR", startFactor=0.5, endFactor=1.0, totalIters=4),
         dict(type="ExponentialLR", gamma=0.8),
         dict(type="StepLR", stepSize=5, gamma=0.5)]),
     lambda o: S.SequentialLR(o, [S.LinearLR(o, start_factor=0.5, total_iters=4), S.ExponentialLR(o, gamma=0.8),
                                  S.StepLR(o, step_size=5, gamma=0.5)], milestones=[4, 12])),
]


def run_scheduler(name, spec, make):
    p = torch.zeros(3, requires_grad=True)
    # Two groups, so per-group base learning rates are exercised too.
    opt = torch.optim.SGD([dict(params=[p], lr=0.1, momentum=0.9), dict(params=[], lr=0.02, momentum=0.9)])
    sched = make(opt)
    lrs = [list(sched.get_last_lr())]
    momenta = [[g["momentum"] for g in opt.param_groups]]
    for _ in range(SCHED_STEPS):
        p.grad = torch.ones(3)
        opt.step()
        sched.step()
        lrs.append(list(sched.get_last_lr()))
        momenta.append([g["momentum"] for g in opt.param_groups])
    case = dict(name=name, spec=spec, groups=[dict(lr=0.1, momentum=0.9), dict(lr=0.02, momentum=0.9)], lrs=lrs)
    if spec["type"] == "OneCycleLR":
        case["momenta"] = momenta
    return case


def scheduler_data():
    return dict(
        generator="scripts/torch/optim_trajectories.py",
        torch_version=torch.__version__,
        steps=SCHED_STEPS,
        cases=[run_scheduler(*c) for c in SCHEDULERS],
    )


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    with open(os.path.join(OUT_DIR, "optim_trajectories.json"), "w") as f:
        json.dump(optimizer_data(), f, separators=(",", ":"))
    with open(os.path.join(OUT_DIR, "lr_schedules.json"), "w") as f:
        json.dump(scheduler_data(), f, indent=1)


if __name__ == "__main__":
    main()
