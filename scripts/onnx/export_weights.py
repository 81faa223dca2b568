"""Write PyTorch state dicts (random weights) as safetensors, with a reference input/output pair,
for nabla's loadWeights tests.

- fmnist8: the zoo's fmnist-cnn at inputSize 8 (same layers and keys as shared/bench's FmnistCNN,
  a small Linear) — committed as test/io/weights/fmnist8.safetensors (~200 KB).
- resnet18: torchvision's resnet18(num_classes=10) — 45 MB, so only written into a cache folder
  by the tests when /usr/bin/python3 has torch and torchvision.

Each model writes <name>.safetensors (the state dict, "format": "pt" metadata, int64 counters as
PyTorch stores them) and <name>.io.safetensors ("input" and PyTorch's eval-mode "output").
The safetensors layout is encoded here independently of nabla's writer.

Run: /usr/bin/python3 scripts/onnx/export_weights.py [--out DIR] [--only name,name]
"""
import argparse
import json
import os
import struct

import torch
import torch.nn as nn
import torchvision

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DTYPES = {torch.float32: "F32", torch.int64: "I64"}


def write_safetensors(path, tensors, metadata):
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for name, t in tensors.items():
        raw = t.detach().contiguous().numpy().tobytes()
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    head = json.dumps(header).encode()
    head += b" " * ((8 - (8 + len(head)) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(head)) + head + b"".join(blobs))


def fmnist_cnn(input_size):
    side = input_size // 2 // 2
    model = nn.Module()
    model.features = nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
    )
    model.classifier = nn.Sequential(nn.Flatten(), nn.Linear(64 * side * side, 128), nn.ReLU(), nn.Linear(128, 10))
    model.forward = lambda x: model.classifier(model.features(x))
    return model


MODELS = {
    "fmnist8": (lambda: fmnist_cnn(8), [2, 1, 8, 8]),
    "resnet18": (lambda: torchvision.models.resnet18(weights=None, num_classes=10), [2, 3, 64, 64]),
}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=os.path.join(ROOT, "test", "io", "weights"))
    parser.add_argument("--only", default="fmnist8")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for name in filter(None, args.only.split(",")):
        build, shape = MODELS[name]
        torch.manual_seed(0)
        model = build()
        g = torch.Generator().manual_seed(1)
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.weight.data.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.num_batches_tracked.fill_(123)
        model.eval()
        x = torch.randn(*shape)
        with torch.no_grad():
            y = model(x)
        write_safetensors(os.path.join(args.out, f"{name}.safetensors"), dict(model.state_dict()), {"format": "pt"})
        write_safetensors(os.path.join(args.out, f"{name}.io.safetensors"), {"input": x, "output": y}, {"format": "pt"})
        print(json.dumps({"name": name, "path": os.path.join(args.out, f"{name}.safetensors")}), flush=True)


if __name__ == "__main__":
    main()
