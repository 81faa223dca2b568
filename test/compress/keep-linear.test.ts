// Structured pruning with and without the hidden units of Linear layers.
import { test } from "node:test";
import assert from "node:assert/strict";
import { fmnistCnn } from "../../src/models/index.js";
import { pruneChannels } from "../../src/compress/prune-channels.js";
import { manualSeed, randn } from "../../src/index.js";
import { noGrad } from "../../src/autograd/engine.js";

function hiddenUnits(linear: boolean): { hidden: number; conv2: number; out: readonly number[] } {
  manualSeed(0);
  const model = fmnistCnn({ inputSize: 8 });
  model.eval();
  pruneChannels(model, [1, 8, 8], { ratio: 0.5, linear });
  const sd = model.stateDict();
  const out = noGrad(() => model.call(randn([2, 1, 8, 8]))).shape;
  return {
    hidden: sd.get("classifier.1.weight")!.shape[0]!,
    conv2: sd.get("features.4.weight")!.shape[0]!,
    out,
  };
}

test("linear: false prunes conv channels only; the default also prunes hidden Linear units", () => {
  const kept = hiddenUnits(false);
  assert.equal(kept.hidden, 128);
  assert.equal(kept.conv2, 32);
  assert.deepEqual(kept.out, [2, 10]);
  const pruned = hiddenUnits(true);
  assert.equal(pruned.hidden, 64);
  assert.deepEqual(pruned.out, [2, 10]);
});
