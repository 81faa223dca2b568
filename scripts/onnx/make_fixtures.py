"""Write the small ONNX fixtures committed under test/io/onnx/ (each a few KB; random weights).

- small_cnn.onnx: a Fashion-MNIST-shaped CNN (1×28×28 → 10) exported from PyTorch with its
  BatchNormalization nodes and parameter names kept (TrainingMode.PRESERVE in eval mode), dynamic
  batch (so the flatten is a Shape → Gather → Unsqueeze → Concat → Reshape subgraph). Tests import
  it, compare with ONNX Runtime, fine-tune it, and check its state-dict keys.
- ops_opset{11,13,17}.onnx: one module using many ops whose attributes moved to inputs across
  opsets (Split/Squeeze/Unsqueeze/ReduceSum axes, Clip bounds, Pad pads, Resize, Slice steps,
  ConvTranspose, 1-D conv/pool, Gather, Expand/Tile, softmax on a middle axis...), one output each.
- opset18.onnx: hand-built with onnx.helper for opset-18 forms PyTorch 1.13 cannot emit
  (ReduceMean axes input, Split num_outputs, Pad axes input, Resize with sizes).

Run: /usr/bin/python3 scripts/onnx/make_fixtures.py
"""
import os

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F
from onnx import TensorProto, helper, numpy_helper

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "test", "io", "onnx")


class SmallCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(16)
        self.fc = nn.Linear(16 * 7 * 7, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
        x = F.max_pool2d(F.relu(self.bn2(self.conv2(x))), 2)
        return self.fc(x.view(x.size(0), -1))


class OpsNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(4, 6, 3, stride=2, padding=1, groups=2)
        self.deconv = nn.ConvTranspose2d(6, 4, 3, stride=2, padding=1, output_padding=1, groups=2)
        self.conv1d = nn.Conv1d(4, 5, 3, padding=2, dilation=2)
        self.bn1d = nn.BatchNorm1d(5)
        self.lin = nn.Linear(12, 7)

    def forward(self, x):  # x: [N, 4, 12, 12]
        outs = []
        y = self.conv(x)  # [N, 6, 6, 6]
        outs.append(self.deconv(F.leaky_relu(y, 0.2)))  # [N, 4, 12, 12]
        outs.append(F.interpolate(y, scale_factor=2, mode="nearest"))
        outs.append(F.interpolate(y, size=(9, 5), mode="bilinear", align_corners=False))
        outs.append(F.interpolate(y, size=(7, 7), mode="bilinear", align_corners=True))
        outs.append(F.pad(x, (1, 2, 0, 3), value=0.5))
        a, b, c = torch.split(x, [1, 1, 2], dim=1)
        outs.append(torch.cat([c, a * b, F.hardsigmoid(a), F.hardswish(b)], dim=1))
        outs.append(x.sum(dim=(2, 3), keepdim=False).unsqueeze(-1).squeeze(1))
        outs.append(torch.softmax(x, dim=1) + torch.log_softmax(x, dim=-1))
        outs.append(torch.clamp(x, min=-0.5, max=0.7) + F.relu6(x))
        outs.append(torch.sqrt(x.pow(2) + 1.0) * torch.exp(-x.abs()) + torch.log(x.abs() + 1))
        outs.append(F.gelu(x) + torch.sigmoid(x) * torch.tanh(x))
        outs.append(F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False))
        outs.append(F.max_pool2d(x, 3, stride=2, ceil_mode=True))
        outs.append(x[:, :, 1:10:3, ::2])
        outs.append(torch.flip(x, dims=[3]))
        outs.append(x[:, [0, 2]] + x[:, 1:2])
        outs.append(x.mean(dim=1, keepdim=True).expand(-1, 3, -1, -1) + x[:, :1].repeat(1, 3, 1, 1))
        outs.append(torch.matmul(x, x.transpose(2, 3)))
        outs.append(self.lin(x))
        seq = x.flatten(2)[:, :, :12]  # [N, 4, 12]
        outs.append(F.max_pool1d(self.bn1d(self.conv1d(seq)), 2) + F.avg_pool1d(self.conv1d(seq), 2))
        outs.append(x.permute(0, 2, 3, 1).reshape(x.size(0), -1, 4).mean(1))
        return tuple(outs)


def randomize_bn(model, seed):
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.weight.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.bias.copy_(torch.randn(m.num_features, generator=g) * 0.1)


def export(model, x, name, opset, outputs, keep_bn=False):
    path = os.path.join(OUT, name)
    torch.onnx.export(
        model,
        x,
        path,
        opset_version=opset,
        input_names=["input"],
        output_names=outputs,
        dynamic_axes={"input": {0: "batch"}, **{o: {0: "batch"} for o in outputs}},
        training=torch.onnx.TrainingMode.PRESERVE if keep_bn else torch.onnx.TrainingMode.EVAL,
    )
    print("wrote", path, os.path.getsize(path), "bytes")


def opset18():
    """ReduceMean/Split/Pad/Resize in their opset-18 forms, built by hand."""
    rng = np.random.default_rng(0)
    w = numpy_helper.from_array(rng.standard_normal((3, 3, 1, 1)).astype(np.float32), "w")
    ints = lambda name, vals: numpy_helper.from_array(np.array(vals, dtype=np.int64), name)
    nodes = [
        helper.make_node("Conv", ["input", "w"], ["c"]),
        helper.make_node("ReduceMean", ["c", "axes_hw"], ["mean"], keepdims=1),
        helper.make_node("Split", ["c"], ["s0", "s1"], axis=1, num_outputs=2),
        helper.make_node("Pad", ["s1", "pads", "pad_value", "pad_axes"], ["padded"], mode="constant"),
        helper.make_node("Resize", ["s0", "", "", "sizes"], ["resized"], mode="linear", axes=[2, 3]),
        helper.make_node("ReduceSum", ["s0", "axes_c"], ["rsum"], keepdims=0),
        helper.make_node("ReduceMax", ["c", "axes_hw"], ["rmax"], keepdims=0),
    ]
    inits = [
        w,
        ints("axes_hw", [2, 3]),
        ints("axes_c", [1]),
        ints("pads", [1, 0, 2, 3]),
        ints("pad_axes", [2, 3]),
        ints("sizes", [5, 7]),
        numpy_helper.from_array(np.array(0.25, dtype=np.float32), "pad_value"),
    ]
    inp = helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 3, 4, 6])
    outs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in ["mean", "s0", "padded", "resized", "rsum", "rmax"]]
    graph = helper.make_graph(nodes, "opset18", [inp], outs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], producer_name="make_fixtures")
    model.ir_version = 8
    path = os.path.join(OUT, "opset18.onnx")
    onnx.save(model, path)
    print("wrote", path, os.path.getsize(path), "bytes")


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)
    cnn = SmallCNN()
    randomize_bn(cnn, 1)
    export(cnn.eval(), torch.randn(1, 1, 28, 28), "small_cnn.onnx", 13, ["logits"], keep_bn=True)
    ops = OpsNet()
    randomize_bn(ops, 2)
    names = [f"out{i}" for i in range(21)]
    for opset in (11, 13, 17):
        export(ops.eval(), torch.randn(1, 4, 12, 12), f"ops_opset{opset}.onnx", opset, names)
    opset18()


if __name__ == "__main__":
    with torch.no_grad():
        main()
