"""Reference values for nabla's layer tests, computed with PyTorch (float64, fixed inputs).

Run: /usr/bin/python3 scripts/torch/nn_reference.py
  -> test/nn/data/batchnorm.json   BatchNorm1d/2d train/eval outputs and running-stat updates
  -> test/nn/data/activations.json activation functions on a fixed grid
Inputs are generated deterministically here and stored in the JSON, so nabla reads the same ones.
"""
import json
import math
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "test", "nn", "data")
torch.set_default_dtype(torch.float64)


def fixed(shape, seed):
    """Deterministic values in [-2, 2) that nabla can read back from the JSON."""
    n = math.prod(shape)
    vals = [((i * 7919 + seed * 104729) % 1000) / 250.0 - 2.0 for i in range(n)]
    return torch.tensor(vals).reshape(shape)


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def batchnorm_case(name, layer, shapes, steps_train=3):
    """Train for a few batches (recording outputs and running stats), then run in eval mode."""
    if layer.affine:
        layer.weight.data = fixed([layer.num_features], 11)
        layer.bias.data = fixed([layer.num_features], 12) * 0.5
    case = {"name": name, "num_features": layer.num_features, "momentum": layer.momentum,
            "eps": layer.eps, "affine": layer.affine, "weight": flat(layer.weight) if layer.affine else None,
            "bias": flat(layer.bias) if layer.affine else None, "train": [], "eval": None}
    for step in range(steps_train):
        x = fixed(shapes, 20 + step) * (1 + step)
        x.requires_grad_(True)
        y = layer(x)
        # Gradient of a fixed weighted sum, to compare the backward pass too.
        g = fixed(list(y.shape), 40 + step)
        (y * g).sum().backward()
        case["train"].append({
            "x": flat(x), "shape": list(x.shape), "y": flat(y), "g": flat(g), "dx": flat(x.grad),
            "running_mean": flat(layer.running_mean), "running_var": flat(layer.running_var),
            "num_batches_tracked": int(layer.num_batches_tracked),
        })
    layer.eval()
    x = fixed(shapes, 30)
    case["eval"] = {"x": flat(x), "shape": list(x.shape), "y": flat(layer(x))}
    return case


def main():
    os.makedirs(OUT, exist_ok=True)
    cases = [
        batchnorm_case("bn2d", nn.BatchNorm2d(3), [4, 3, 2, 3]),
        batchnorm_case("bn2d_momentum_none", nn.BatchNorm2d(3, momentum=None), [4, 3, 2, 2]),
        batchnorm_case("bn1d_2d_input", nn.BatchNorm1d(5, momentum=0.3, eps=1e-3), [6, 5]),
        batchnorm_case("bn1d_3d_input", nn.BatchNorm1d(2, affine=False), [3, 2, 4]),
    ]
    with open(os.path.join(OUT, "batchnorm.json"), "w") as f:
        json.dump(cases, f)

    x = torch.linspace(-5, 5, 41)
    acts = {
        "relu": F.relu(x), "relu6": F.relu6(x * 2), "leaky_relu_0.1": F.leaky_relu(x, 0.1),
        "elu_1.5": F.elu(x, 1.5), "gelu": F.gelu(x), "gelu_tanh": F.gelu(x, approximate="tanh"),
        "silu": F.silu(x), "hardswish": F.hardswish(x), "hardsigmoid": F.hardsigmoid(x),
        "sigmoid": torch.sigmoid(x), "tanh": torch.tanh(x),
    }
    with open(os.path.join(OUT, "activations.json"), "w") as f:
        json.dump({"x": flat(x), "relu6_input_scale": 2, "out": {k: flat(v) for k, v in acts.items()}}, f)
    print("wrote", OUT)


if __name__ == "__main__":
    main()
