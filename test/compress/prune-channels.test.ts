// Structured channel pruning: the dependency analysis finds the groups tied by residual
// additions, the pruned model is a smaller dense model that runs, and when the removed channels
// carry zeros the pruned model computes exactly what the original did (so every dependent
// layer — BN, next conv, Flatten→Linear, residual adds, DenseNet concatenations, depthwise
// convs — was rewired to the right channels).
import { test } from "node:test";
import assert from "node:assert/strict";
import { pruneChannels } from "../../src/compress/prune-channels.js";
import { analyzeChannels } from "../../src/compress/channels.js";
import { summary } from "../../src/compress/summary.js";
import { createModel } from "../../src/models/index.js";
import { densenetBc } from "../../src/models/densenet.js";
import { mobilenetV2 } from "../../src/models/mobilenetv2.js";
import { randn } from "../../src/tensor/creation.js";
import { Generator } from "../../src/tensor/random.js";
import { noGrad } from "../../src/autograd/engine.js";
import type { Module } from "../../src/nn/module.js";
import { Conv2d } from "../../src/nn/layers/conv.js";
import type { Tensor } from "../../src/tensor/tensor.js";

/** Zero the odd-numbered output channels of every prunable group (all sources alike). */
function zeroOddChannels(model: Module, shape: readonly number[]): number {
  const graph = analyzeChannels(model, shape);
  for (const group of graph.groups) {
    for (const s of group) {
      const w = s.module.weight.data;
      const per = w.length / s.channels;
      for (let o = 1; o < s.channels; o += 2) {
        w.fill(0, o * per, (o + 1) * per);
        if (s.module.bias) s.module.bias.data[o] = 0;
      }
    }
  }
  return graph.groups.length;
}

function maxAbsDiff(a: Tensor, b: Tensor): number {
  let d = 0;
  for (let i = 0; i < a.numel; i++) d = Math.max(d, Math.abs(a.data[i]! - b.data[i]!));
  return d;
}

const cases: [string, () => Module, number[]][] = [
  ["fmnist-cnn", () => createModel("fmnist-cnn"), [1, 28, 28]],
  ["resnet20", () => createModel("resnet20"), [3, 16, 16]],
  ["mobilenet_v2 (width 0.35)", () => mobilenetV2({ numClasses: 10, widthMult: 0.35 }), [3, 32, 32]],
  ["densenet-bc-16", () => densenetBc({ depth: 16 }), [3, 16, 16]],
];

for (const [name, build, shape] of cases) {
  test(`${name}: pruning zeroed channels leaves the output unchanged`, () => {
    const model = build();
    model.eval();
    const groups = zeroOddChannels(model, shape);
    assert.ok(groups > 0);
    const x = randn([2, ...shape], { generator: new Generator(3) });
    const before = noGrad(() => model.call(x));
    const macsBefore = summary(model, shape).macs;
    const result = pruneChannels(model, shape, { ratio: 0.5 });
    assert.equal(result.groups.length, groups);
    const after = noGrad(() => model.call(x));
    assert.deepEqual(after.shape, before.shape);
    assert.ok(maxAbsDiff(before, after) < 1e-5, `max diff ${maxAbsDiff(before, after)}`);
    assert.ok(summary(model, shape).macs < 0.5 * macsBefore);
  });
}

test("resnet20: channels tied by residual additions form one group per stage", () => {
  const graph = analyzeChannels(createModel("resnet20"), [3, 16, 16]);
  const tied = graph.groups.filter((g) => g.length > 1).map((g) => g.map((s) => s.name));
  assert.equal(tied.length, 3);
  assert.ok(tied[0]!.includes("stem.0") && tied[0]!.includes("layers.0.conv2"));
  assert.ok(tied[1]!.includes("layers.3.shortcut.0"));
  // The classifier feeds the output: never pruned.
  assert.ok(graph.sources.find((s) => s.name === "fc")!.fixed);
});

test("fmnist-cnn at 50%: Flatten→Linear rewired, MACs ≤ 30% of the original", () => {
  const model = createModel("fmnist-cnn");
  const before = summary(model, [1, 28, 28]).macs;
  pruneChannels(model, [1, 28, 28], { ratio: 0.5 });
  const convs = [...model.modules()].filter((m): m is Conv2d => m instanceof Conv2d);
  assert.deepEqual(
    convs.map((c) => [c.inChannels, c.outChannels]),
    [
      [1, 16],
      [16, 32],
    ],
  );
  assert.deepEqual(model.stateDict().get("classifier.1.weight")!.shape, [64, 32 * 7 * 7]);
  assert.ok(summary(model, [1, 28, 28]).macs <= 0.3 * before);
});
