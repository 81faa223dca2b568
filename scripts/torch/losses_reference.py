#!/usr/bin/python3
"""Reference values for nabla's loss functions, computed with PyTorch in float64.

Writes test/nn/data/losses_reference.json: for each case the loss function, its options
(nabla's camelCase names), the inputs (shape + flat values; integer targets marked int32), the
loss value and the gradient of sum(loss) with respect to the input.

Run: /usr/bin/python3 scripts/torch/losses_reference.py   (Debian's python3-torch)
"""
import json
import os

import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "test", "nn", "data", "losses_reference.json")
torch.manual_seed(1234)
D = torch.float64


def randn(*shape, scale=1.0):
    return torch.randn(*shape, dtype=D) * scale


def probs(*shape, dim=1):
    return torch.softmax(torch.randn(*shape, dtype=D) * 2, dim)


def encode(t):
    if t is None:
        return None
    kind = "int32" if not t.is_floating_point() else "float64"
    return dict(dtype=kind, shape=list(t.shape), values=[float(v) if kind == "float64" else int(v) for v in t.flatten()])


CASES = []


def case(name, fn, torch_fn, x, target, options=None, torch_options=None, **extra):
    """extra: tensors passed both to torch (snake_case key in torch_options) and to nabla (options)."""
    options = dict(options or {})
    torch_options = dict(torch_options or {})
    tensors = {}
    for key, (torch_key, value) in extra.items():
        torch_options[torch_key] = value
        tensors[key] = encode(value)
    x = x.clone().requires_grad_()
    out = torch_fn(x, target, **torch_options)
    out.sum().backward()
    CASES.append(
        dict(
            name=name,
            fn=fn,
            options=options,
            tensors=tensors,
            input=encode(x.detach()),
            target=encode(target),
            output=encode(out.detach()),
            grad=encode(x.grad),
        )
    )


REDUCTIONS = ["mean", "sum", "none"]

# ---- cross entropy, class indices -----------------------------------------------------------
x = randn(6, 4, scale=2)
t = torch.tensor([0, 3, 1, 2, 3, 0])
w = torch.tensor([0.5, 2.0, 1.0, 0.25], dtype=D)
t_ign = torch.tensor([0, -100, 1, 2, -100, 0])
t_ign2 = torch.tensor([0, 2, 1, 2, 3, 2])
for r in REDUCTIONS:
    ro = dict(reduction=r)
    case(f"ce_index_{r}", "crossEntropy", F.cross_entropy, x, t, ro, ro)
    case(f"ce_index_weight_{r}", "crossEntropy", F.cross_entropy, x, t, ro, ro, weight=("weight", w))
    case(f"ce_index_ignore_{r}", "crossEntropy", F.cross_entropy, x, t_ign, ro, ro, weight=("weight", w))
    case(f"ce_index_ignore2_{r}", "crossEntropy", F.cross_entropy, x, t_ign2, dict(ro, ignoreIndex=2),
         dict(ro, ignore_index=2))
    case(f"ce_index_smooth_{r}", "crossEntropy", F.cross_entropy, x, t_ign, dict(ro, labelSmoothing=0.1),
         dict(ro, label_smoothing=0.1))
    case(f"ce_index_smooth_weight_{r}", "crossEntropy", F.cross_entropy, x, t_ign, dict(ro, labelSmoothing=0.2),
         dict(ro, label_smoothing=0.2), weight=("weight", w))
xs = randn(2, 3, 2, 3, scale=2)
ts = torch.tensor([[[0, 1, 2], [2, -100, 1]], [[1, 1, 0], [-100, 2, 0]]])
w3 = torch.tensor([1.5, 0.5, 1.0], dtype=D)
for r in REDUCTIONS:
    ro = dict(reduction=r)
    case(f"ce_index_spatial_{r}", "crossEntropy", F.cross_entropy, xs, ts, dict(ro, labelSmoothing=0.05),
         dict(ro, label_smoothing=0.05), weight=("weight", w3))
case("ce_index_unbatched", "crossEntropy", F.cross_entropy, randn(5), torch.tensor(3))
case("ce_index_extreme", "crossEntropy", F.cross_entropy, torch.tensor([[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4]], dtype=D),
     torch.tensor([1, 2]), dict(labelSmoothing=0.1), dict(label_smoothing=0.1))

# ---- cross entropy, probabilities -------------------------------------------------------------
p = probs(6, 4)
for r in REDUCTIONS:
    ro = dict(reduction=r)
    case(f"ce_prob_{r}", "crossEntropy", F.cross_entropy, x, p, ro, ro)
    case(f"ce_prob_weight_smooth_{r}", "crossEntropy", F.cross_entropy, x, p, dict(ro, labelSmoothing=0.3),
         dict(ro, label_smoothing=0.3), weight=("weight", w))
    case(f"ce_prob_spatial_{r}", "crossEntropy", F.cross_entropy, xs, probs(2, 3, 2, 3), dict(ro, labelSmoothing=0.1),
         dict(ro, label_smoothing=0.1), weight=("weight", w3))

# ---- nll --------------------------------------------------------------------------------------
lp = torch.log_softmax(x, 1)
for r in REDUCTIONS:
    ro = dict(reduction=r)
    case(f"nll_{r}", "nllLoss", F.nll_loss, lp, t_ign, ro, ro, weight=("weight", w))
    case(f"nll_spatial_{r}", "nllLoss", F.nll_loss, torch.log_softmax(xs, 1), ts, ro, ro)

# ---- regression -------------------------------------------------------------------------------
a = randn(3, 5, scale=2)
b = randn(3, 5, scale=2)
for r in REDUCTIONS:
    ro = dict(reduction=r)
    case(f"mse_{r}", "mseLoss", F.mse_loss, a, b, ro, ro)
    case(f"l1_{r}", "l1Loss", F.l1_loss, a, b, ro, ro)
    case(f"smooth_l1_{r}", "smoothL1Loss", F.smooth_l1_loss, a, b, ro, ro)
    case(f"huber_{r}", "huberLoss", F.huber_loss, a, b, ro, ro)
for beta in [0.0, 0.5, 3.0]:
    case(f"smooth_l1_beta{beta}", "smoothL1Loss", F.smooth_l1_loss, a, b, dict(beta=beta), dict(beta=beta))
for delta in [0.3, 2.5]:
    case(f"huber_delta{delta}", "huberLoss", F.huber_loss, a, b, dict(delta=delta), dict(delta=delta))

# ---- binary cross entropy ------------------------------------------------------------------------
q = torch.sigmoid(randn(4, 3, scale=2))
y = torch.rand(4, 3, dtype=D)
yb = (torch.rand(4, 3, dtype=D) > 0.5).to(D)
wb = torch.rand(4, 3, dtype=D) + 0.5
for r in REDUCTIONS:
    ro = dict(reduction=r)
    case(f"bce_{r}", "bceLoss", F.binary_cross_entropy, q, y, ro, ro)
    case(f"bce_weight_{r}", "bceLoss", F.binary_cross_entropy, q, yb, ro, ro, weight=("weight", wb))
case("bce_saturated", "bceLoss", F.binary_cross_entropy, torch.tensor([0.0, 1.0, 0.0, 1.0, 0.5], dtype=D),
     torch.tensor([0.0, 1.0, 1.0, 0.0, 0.5], dtype=D), dict(reduction="none"), dict(reduction="none"))
z = randn(4, 3, scale=3)
pw = torch.tensor([0.5, 2.0, 3.0], dtype=D)
for r in REDUCTIONS:
    ro = dict(reduction=r)
    case(f"bce_logits_{r}", "bceWithLogitsLoss", F.binary_cross_entropy_with_logits, z, y, ro, ro)
    case(f"bce_logits_weight_pos_{r}", "bceWithLogitsLoss", F.binary_cross_entropy_with_logits, z, yb, ro, ro,
         weight=("weight", wb), posWeight=("pos_weight", pw))
case("bce_logits_extreme", "bceWithLogitsLoss", F.binary_cross_entropy_with_logits,
     torch.tensor([[1e4, -1e4, 0.0], [-1e4, 1e4, 30.0]], dtype=D), torch.tensor([[1.0, 1.0, 0.5], [0.0, 0.0, 1.0]], dtype=D),
     dict(reduction="none"), dict(reduction="none"), posWeight=("pos_weight", pw))

# ---- KL divergence ------------------------------------------------------------------------------
li = torch.log_softmax(randn(3, 4), 1)
tp = probs(3, 4)
tp[0, 1] = 0.0  # a zero target: contributes exactly 0
for r in REDUCTIONS + ["batchmean"]:
    ro = dict(reduction=r)
    case(f"kl_{r}", "klDiv", F.kl_div, li, tp, ro, ro)
    case(f"kl_log_target_{r}", "klDiv", F.kl_div, li, torch.log_softmax(randn(3, 4), 1), dict(ro, logTarget=True),
         dict(ro, log_target=True))


def main():
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(dict(generator="scripts/torch/losses_reference.py", torch_version=torch.__version__, cases=CASES), f,
                  separators=(",", ":"))
    print(f"{len(CASES)} cases -> {OUT}")


if __name__ == "__main__":
    main()
