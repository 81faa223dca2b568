"""Reference state-dict keys, shapes and parameter counts of the model zoo, from torchvision and
shared/bench/models.py (no weights are downloaded: every model is built with weights=None).

Also records forward MACs (shared/bench/models.py's count_forward_macs) for a few small cases.

Run: /usr/bin/python3 scripts/torch/zoo_keys.py   -> test/models/data/zoo_keys.json
"""
import json
import os
import sys

import torchvision.models as tvm

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(os.path.dirname(ROOT), "shared", "bench"))
import models as bench  # noqa: E402  (FmnistCNN, ResNet20)

BUILDERS = {
    "resnet18": lambda: tvm.resnet18(weights=None),
    "resnet34": lambda: tvm.resnet34(weights=None),
    "resnet50": lambda: tvm.resnet50(weights=None),
    "vgg11": lambda: tvm.vgg11(weights=None),
    "vgg11_bn": lambda: tvm.vgg11_bn(weights=None),
    "vgg16": lambda: tvm.vgg16(weights=None),
    "vgg16_bn": lambda: tvm.vgg16_bn(weights=None),
    "densenet121": lambda: tvm.densenet121(weights=None),
    "mobilenet_v2": lambda: tvm.mobilenet_v2(weights=None),
    "resnext50_32x4d": lambda: tvm.resnext50_32x4d(weights=None),
    "fmnist-cnn": bench.FmnistCNN,
    "resnet20": bench.ResNet20,
}


# Forward MACs (conv + linear, one sample) for the models cheap enough to summarise in tests.
MACS_INPUT = {"fmnist-cnn": (1, 28, 28), "resnet20": (3, 32, 32), "mobilenet_v2": (3, 32, 32)}


def describe(name, model):
    out = {
        "params": sum(p.numel() for p in model.parameters()),
        "keys": [[k, list(v.shape)] for k, v in model.state_dict().items()],
    }
    if name in MACS_INPUT:
        out["macs"] = {"input": list(MACS_INPUT[name]), "macs": bench.count_forward_macs(model, MACS_INPUT[name])}
    return out


def main():
    out = {}
    for name, build in BUILDERS.items():
        out[name] = describe(name, build())
        print(f"{name}: {out[name]['params']:,} params, {len(out[name]['keys'])} keys")
    path = os.path.join(ROOT, "test", "models", "data", "zoo_keys.json")
    with open(path, "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")
    print("wrote", path)


if __name__ == "__main__":
    main()
