// Module mechanics: registration, traversal, modes, state dicts, hooks, dtype conversion, repr.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as nb from "../../src/index.js";
import * as nn from "../../src/nn/index.js";
import type { Tensor } from "../../src/tensor/tensor.js";

class Block extends nn.Module {
  conv = this.registerModule("conv", new nn.Conv2d(2, 4, 3, { padding: 1 }));
  bn = this.registerModule("bn", new nn.BatchNorm2d(4));
  scale = this.registerParameter("scale", new nn.Parameter(nb.ones([1])));
  steps = this.registerBuffer("steps", nb.zeros([1]));
  scratch = this.registerBuffer("scratch", nb.zeros([2]), false);
  forward(x: Tensor): Tensor {
    return this.bn.call(this.conv.call(x)).mul(this.scale);
  }
}

class Net extends nn.Module {
  block = this.registerModule("block", new Block());
  head = this.registerModule("head", new nn.Sequential(new nn.Flatten(), new nn.Linear(4 * 3 * 3, 5)));
  forward(x: Tensor): Tensor {
    return this.head.call(this.block.call(x));
  }
}

const EXPECTED_KEYS = [
  "block.scale",
  "block.steps",
  "block.conv.weight",
  "block.conv.bias",
  "block.bn.weight",
  "block.bn.bias",
  "block.bn.running_mean",
  "block.bn.running_var",
  "block.bn.num_batches_tracked",
  "head.1.weight",
  "head.1.bias",
];

test("stateDict keys follow PyTorch's order: own params, own buffers, then children", () => {
  const net = new Net();
  assert.deepEqual([...net.stateDict().keys()], EXPECTED_KEYS);
  assert.equal(net.stateDict().get("block.bn.num_batches_tracked")!.dtype, "int32");
  assert.deepEqual(net.stateDict().get("block.bn.num_batches_tracked")!.shape, []);
});

test("parameters, buffers, children and modules are enumerated with dotted names", () => {
  const net = new Net();
  assert.deepEqual(
    [...net.namedParameters()].map(([k]) => k),
    [
      "block.scale",
      "block.conv.weight",
      "block.conv.bias",
      "block.bn.weight",
      "block.bn.bias",
      "head.1.weight",
      "head.1.bias",
    ],
  );
  assert.deepEqual(
    [...net.namedBuffers()].map(([k]) => k),
    [
      "block.steps",
      "block.scratch",
      "block.bn.running_mean",
      "block.bn.running_var",
      "block.bn.num_batches_tracked",
    ],
  );
  assert.deepEqual(
    [...net.namedModules()].map(([k]) => k),
    ["", "block", "block.conv", "block.bn", "head", "head.0", "head.1"],
  );
  assert.deepEqual(
    [...net.namedChildren()].map(([k]) => k),
    ["block", "head"],
  );
  assert.deepEqual([...net.block.parameters(false)], [net.block.scale]);
  assert.equal(net.numParameters(), 1 + 2 * 4 * 9 + 4 + 4 + 4 + 36 * 5 + 5);
});

test("a shared parameter is listed once", () => {
  const a = new nn.Linear(3, 3);
  const seq = new nn.Sequential(a, a);
  assert.equal([...seq.parameters()].length, 2);
  assert.equal([...seq.modules()].length, 2);
});

test("registration rejects dotted names and kind clashes", () => {
  const m = new nn.Identity();
  assert.throws(() => m.registerParameter("a.b", null), nb.ValueError);
  m.registerBuffer("x", nb.zeros([1]));
  assert.throws(() => m.registerParameter("x", null), /already registered/);
});

test("train()/eval() set the flag recursively; Dropout and BatchNorm follow it", () => {
  const net = new Net();
  net.eval();
  assert.ok([...net.modules()].every((m) => !m.training));
  net.train();
  assert.ok([...net.modules()].every((m) => m.training));
  const drop = new nn.Dropout(0.5).eval();
  const x = nb.ones([100]);
  assert.deepEqual(drop.call(x).toArray(), x.toArray());
});

test("zeroGrad clears gradients; requiresGrad_ freezes", () => {
  const net = new Net();
  net
    .call(nb.randn([2, 2, 3, 3]))
    .sum()
    .backward();
  assert.ok([...net.parameters()].every((p) => p.grad !== null));
  net.zeroGrad();
  assert.ok([...net.parameters()].every((p) => p.grad === null));
  net.requiresGrad_(false);
  assert.equal(net.numParameters(true), 0);
});

test("loadStateDict copies values in place and round-trips", () => {
  const a = new Net();
  const b = new Net();
  a.call(nb.randn([2, 2, 3, 3])); // moves running stats
  const weightBefore = b.block.conv.weight;
  const result = b.loadStateDict(a.stateDict());
  assert.deepEqual(result, { missingKeys: [], unexpectedKeys: [] });
  assert.equal(b.block.conv.weight, weightBefore, "parameters keep their identity");
  for (const [k, v] of a.stateDict()) assert.deepEqual(b.stateDict().get(k)!.toArray(), v.toArray(), k);
  assert.equal(b.block.bn.numBatchesTracked!.item(), 1);
  // A plain record works too.
  b.loadStateDict(Object.fromEntries(a.stateDict()));
});

test("loadStateDict reports missing, unexpected and mis-shaped keys with a typed error", () => {
  const net = new Net();
  const sd = net.stateDict();
  sd.delete("head.1.bias");
  sd.set("head.2.weight", nb.zeros([1]));
  sd.set("block.conv.weight", nb.zeros([4, 2, 1, 1]));
  const before = net.block.bn.weight!.toArray();
  sd.set("block.bn.weight", nb.full([4], 7));
  const err = (() => {
    try {
      net.loadStateDict(sd);
    } catch (e) {
      return e;
    }
    return null;
  })();
  assert.ok(err instanceof nn.StateDictError);
  assert.ok(err instanceof nb.ValueError);
  assert.deepEqual(err.missingKeys, ["head.1.bias"]);
  assert.deepEqual(err.unexpectedKeys, ["head.2.weight"]);
  assert.deepEqual(err.shapeMismatches, [
    { key: "block.conv.weight", expected: [4, 2, 3, 3], got: [4, 2, 1, 1] },
  ]);
  assert.match(err.message, /Missing key\(s\).*"head\.1\.bias"/);
  assert.match(err.message, /Unexpected key\(s\).*"head\.2\.weight"/);
  assert.match(err.message, /size mismatch for block\.conv\.weight: .*\[4, 2, 1, 1\].*\[4, 2, 3, 3\]/);
  assert.deepEqual(net.block.bn.weight!.toArray(), before, "nothing is copied when loading fails");

  sd.set("block.conv.weight", nb.zeros([4, 2, 3, 3]));
  const res = net.loadStateDict(sd, { strict: false });
  assert.deepEqual(res, { missingKeys: ["head.1.bias"], unexpectedKeys: ["head.2.weight"] });
  assert.deepEqual(net.block.bn.weight!.toArray(), [7, 7, 7, 7]);
});

test("loadStateDict converts dtypes (float64 checkpoint into a float32 model)", () => {
  const src = new nn.Linear(2, 2).double();
  const dst = new nn.Linear(2, 2);
  dst.loadStateDict(src.stateDict());
  assert.equal(dst.weight.dtype, "float32");
  const expected = Array.from(src.weight.data, (v) => Math.fround(v));
  assert.deepEqual(Array.from(dst.weight.data), expected);
});

test("forward hooks and pre-hooks run around forward through call(), and can be removed", () => {
  const lin = new nn.Linear(2, 2);
  const seen: string[] = [];
  const pre = lin.registerForwardPreHook((_m, [x]) => {
    seen.push("pre");
    return [x.mul(0)];
  });
  const post = lin.registerForwardHook((m, inputs, out) => {
    seen.push(`post:${inputs[0].shape.join("x")}`);
    assert.equal(m, lin);
    return out.add(1);
  });
  const y = lin.call(nb.ones([3, 2]));
  assert.deepEqual(seen, ["pre", "post:3x2"]);
  // Input zeroed by the pre-hook, so y = bias + 1.
  const bias = Array.from(lin.bias!.data);
  assert.deepEqual(
    Array.from(y.data),
    [0, 1, 2].flatMap(() => bias.map((b) => Math.fround(b + 1))),
  );
  pre.remove();
  post.remove();
  seen.length = 0;
  lin.call(nb.ones([1, 2]));
  assert.equal(seen.length, 0);
  // forward() itself never runs hooks.
  lin.registerForwardHook(() => {
    seen.push("hook");
  });
  lin.forward(nb.ones([1, 2]));
  assert.equal(seen.length, 0);
});

test("hooks fire for submodules inside a model's call", () => {
  const net = new Net();
  const names: string[] = [];
  for (const [name, m] of net.namedModules()) {
    m.registerForwardHook(() => {
      names.push(name);
    });
  }
  net.call(nb.randn([2, 2, 3, 3]));
  assert.deepEqual(names, ["block.conv", "block.bn", "block", "head.0", "head.1", "head", ""]);
});

test("apply visits children before parents", () => {
  const order: string[] = [];
  new Net().apply((m) => order.push(m.constructor.name));
  assert.deepEqual(order, ["Conv2d", "BatchNorm2d", "Block", "Flatten", "Linear", "Sequential", "Net"]);
});

test("double() converts floating parameters and buffers and keeps typed fields in sync", () => {
  const net = new Net().double();
  for (const [k, t] of net.stateDict()) {
    assert.equal(t.dtype, k.endsWith("num_batches_tracked") ? "int32" : "float64", k);
  }
  assert.equal(net.block.conv.weight.dtype, "float64");
  assert.equal(net.block.bn.runningMean!.dtype, "float64");
  assert.equal(net.block.scale.dtype, "float64");
  assert.ok(net.block.conv.weight instanceof nn.Parameter);
  assert.equal([...net.parameters()][1], net.block.conv.weight);
  const y = net.call(nb.randn([2, 2, 3, 3], { dtype: "float64" }));
  assert.equal(y.dtype, "float64");
  net.float();
  assert.equal(net.head.at(1).call(nb.ones([1, 36])).dtype, "float32");
});

test("toString prints a tree like PyTorch's repr", () => {
  assert.equal(
    new Net().toString(),
    [
      "Net(",
      "  (block): Block(",
      "    (conv): Conv2d(2, 4, kernelSize=(3, 3), stride=(1, 1), padding=(1, 1))",
      "    (bn): BatchNorm2d(4, eps=0.00001, momentum=0.1, affine=true, trackRunningStats=true)",
      "  )",
      "  (head): Sequential(",
      "    (0): Flatten(startDim=1, endDim=-1)",
      "    (1): Linear(inFeatures=36, outFeatures=5, bias=true)",
      "  )",
      ")",
    ].join("\n"),
  );
  assert.equal(new nn.ReLU().toString(), "ReLU()");
});

test("Sequential from a record keeps the names; ModuleList and ModuleDict register children", () => {
  const seq = new nn.Sequential({ conv0: new nn.Conv2d(1, 2, 1), relu0: new nn.ReLU() });
  assert.deepEqual([...seq.stateDict().keys()], ["conv0.weight", "conv0.bias"]);
  assert.equal(seq.length, 2);
  assert.ok(seq.at(-1) instanceof nn.ReLU);
  assert.throws(() => seq.at(5), nb.ValueError);

  const list = new nn.ModuleList([new nn.Linear(1, 1), new nn.Linear(1, 2)]);
  assert.deepEqual([...list.stateDict().keys()], ["0.weight", "0.bias", "1.weight", "1.bias"]);
  assert.equal(list.at(1).outFeatures, 2);
  assert.throws(() => list.forward(), nb.NotSupportedError);

  const dict = new nn.ModuleDict({ a: new nn.Linear(1, 1), b: new nn.Linear(1, 1, { bias: false }) });
  dict.set("a", new nn.Linear(1, 3));
  assert.deepEqual([...dict.stateDict().keys()], ["a.weight", "a.bias", "b.weight"]);
  assert.equal(dict.get("a").outFeatures, 3);
  assert.throws(() => dict.get("zz"), /no module under key "zz"/);
});

test("a ModuleList of layers is registered by the owner and iterated in its forward", () => {
  class Stack extends nn.Module {
    layers = this.registerModule("layers", new nn.ModuleList([new nn.Linear(3, 3), new nn.Linear(3, 2)]));
    forward(x: Tensor): Tensor {
      let out = x;
      for (const layer of this.layers) out = layer.call(out);
      return out;
    }
  }
  const stack = new Stack();
  assert.deepEqual(
    [...stack.stateDict().keys()],
    ["layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias"],
  );
  assert.deepEqual(stack.call(nb.ones([4, 3])).shape, [4, 2]);
});
