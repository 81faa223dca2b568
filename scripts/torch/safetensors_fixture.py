"""Write test/io/data/torch.safetensors: tensors made with PyTorch, encoded with an independent
implementation of the safetensors layout (Debian has no python3-safetensors), so nabla's reader
is checked against bytes it did not produce.

Run: /usr/bin/python3 scripts/torch/safetensors_fixture.py
"""
import json
import struct
from pathlib import Path

import torch

torch.manual_seed(0)
tensors = {
    "conv.weight": torch.randn(4, 3, 3, 3),
    "bn.num_batches_tracked": torch.tensor(7, dtype=torch.int64),
    "half": torch.tensor([1.0, -2.5, 0.0001, 65504.0], dtype=torch.float16),
    "double": torch.arange(6, dtype=torch.float64).reshape(2, 3) / 3,
    "mask": torch.tensor([True, False, True]),
    "bytes": torch.tensor([0, 255, 17], dtype=torch.uint8),
}
names = {torch.float32: "F32", torch.float64: "F64", torch.float16: "F16", torch.int64: "I64",
         torch.bool: "BOOL", torch.uint8: "U8"}
header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
for name, t in tensors.items():
    raw = t.contiguous().numpy().tobytes()
    header[name] = {"dtype": names[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
    blobs.append(raw)
    offset += len(raw)
head = json.dumps(header).encode()
head += b" " * ((8 - (8 + len(head)) % 8) % 8)
out = Path(__file__).resolve().parents[2] / "test" / "io" / "data"
out.mkdir(parents=True, exist_ok=True)
(out / "torch.safetensors").write_bytes(struct.pack("<Q", len(head)) + head + b"".join(blobs))
expected = {k: {"shape": list(v.shape), "values": v.to(torch.float64).flatten().tolist()} for k, v in tensors.items()}
(out / "torch.safetensors.json").write_text(json.dumps(expected, indent=1))
print("wrote", out / "torch.safetensors")
