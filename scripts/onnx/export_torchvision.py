"""Export torchvision architectures (random weights) to ONNX for nabla's import checks.

The .onnx files are large, so they are never committed: tests and bench/onnx/import_check.ts run
this script into a cache folder (default: <tmpdir>/nabla-onnx-fixtures) when /usr/bin/python3 has
torch and torchvision, and skip with a stated reason otherwise.

Run: /usr/bin/python3 scripts/onnx/export_torchvision.py [--out DIR] [--only name,name]
Prints one JSON line per model: {"name", "path", "input": [N, C, H, W], "opset"}.
"""
import argparse
import json
import os
import tempfile

import torch
import torchvision

# name, input shape, opset, keep BatchNormalization (TrainingMode.PRESERVE keeps BN nodes and
# PyTorch's parameter names; the default EVAL export folds BN into the convolutions).
MODELS = [
    ("resnet18", [1, 3, 64, 64], 11, True),
    ("mobilenet_v2", [1, 3, 64, 64], 17, False),
    ("densenet121", [1, 3, 64, 64], 13, False),
    # VGG's AdaptiveAvgPool2d(7) is only exportable when the features are a multiple of 7 × 7.
    ("vgg11", [1, 3, 224, 224], 13, False),
    ("resnext50_32x4d", [1, 3, 64, 64], 13, False),
    ("efficientnet_b0", [1, 3, 64, 64], 13, False),
    ("shufflenet_v2_x0_5", [1, 3, 64, 64], 13, False),
    ("squeezenet1_1", [1, 3, 64, 64], 12, False),
    ("googlenet", [1, 3, 64, 64], 13, False),
    ("mobilenet_v3_small", [1, 3, 64, 64], 14, True),
]


def build(name):
    kwargs = {"weights": None}
    if name == "googlenet":
        kwargs.update(aux_logits=False, init_weights=True)
    model = getattr(torchvision.models, name)(**kwargs)
    # Random but non-trivial running statistics, so BatchNormalization is really exercised.
    g = torch.Generator().manual_seed(1)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
    return model.eval()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=os.path.join(tempfile.gettempdir(), "nabla-onnx-fixtures"))
    parser.add_argument("--only", default="")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    only = set(filter(None, args.only.split(",")))
    torch.manual_seed(0)
    for name, shape, opset, keep_bn in MODELS:
        if only and name not in only:
            continue
        path = os.path.join(args.out, f"{name}-opset{opset}.onnx")
        if not os.path.exists(path):
            model = build(name)
            x = torch.randn(*shape)
            tmp = path + ".part"
            torch.onnx.export(
                model,
                x,
                tmp,
                opset_version=opset,
                input_names=["input"],
                output_names=["logits"],
                dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
                training=torch.onnx.TrainingMode.PRESERVE if keep_bn else torch.onnx.TrainingMode.EVAL,
                do_constant_folding=True,
            )
            os.replace(tmp, path)
        print(json.dumps({"name": name, "path": path, "input": shape, "opset": opset}), flush=True)


if __name__ == "__main__":
    with torch.no_grad():
        main()
