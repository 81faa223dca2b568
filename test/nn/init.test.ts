// Initialisers: gains and fans as PyTorch defines them, sample statistics of every random fill,
// determinism under a seeded Generator, and in-place semantics.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as nb from "../../src/index.js";
import { init } from "../../src/nn/index.js";

function stats(t: nb.Tensor): { mean: number; std: number; min: number; max: number } {
  const v = Array.from(t.data);
  const mean = v.reduce((s, e) => s + e, 0) / v.length;
  const std = Math.sqrt(v.reduce((s, e) => s + (e - mean) ** 2, 0) / v.length);
  return { mean, std, min: Math.min(...v), max: Math.max(...v) };
}

test("calculateGain and calculateFans match torch.nn.init", () => {
  assert.equal(init.calculateGain("linear"), 1);
  assert.equal(init.calculateGain("conv2d"), 1);
  assert.equal(init.calculateGain("sigmoid"), 1);
  assert.equal(init.calculateGain("tanh"), 5 / 3);
  assert.equal(init.calculateGain("relu"), Math.SQRT2);
  assert.equal(init.calculateGain("leaky_relu"), Math.sqrt(2 / (1 + 0.01 ** 2)));
  assert.equal(init.calculateGain("leaky_relu", Math.sqrt(5)), Math.sqrt(1 / 3));
  assert.equal(init.calculateGain("selu"), 0.75);
  assert.deepEqual(init.calculateFans(nb.zeros([16, 8, 3, 3])), { fanIn: 72, fanOut: 144 });
  assert.deepEqual(init.calculateFans(nb.zeros([5, 7])), { fanIn: 7, fanOut: 5 });
  assert.throws(() => init.calculateFans(nb.zeros([5])), nb.ValueError);
});

test("constant, zeros and ones fill in place and return the tensor", () => {
  const t = nb.randn([3, 2]);
  assert.equal(init.constant(t, 2.5), t);
  assert.deepEqual(Array.from(t.data), [2.5, 2.5, 2.5, 2.5, 2.5, 2.5]);
  init.zeros(t);
  assert.ok(Array.from(t.data).every((v) => v === 0));
  init.ones(t);
  assert.ok(Array.from(t.data).every((v) => v === 1));
  assert.throws(() => init.ones(nb.zeros([2], { dtype: "int32" })), nb.DTypeError);
  assert.throws(() => init.ones(nb.zeros([2, 3]).t()), /contiguous/);
});

test("uniform and normal have the requested distribution", () => {
  const u = init.uniform(nb.zeros([200, 100]), -2, 3, { generator: new nb.Generator(1) });
  const su = stats(u);
  assert.ok(su.min >= -2 && su.max < 3);
  assert.ok(Math.abs(su.mean - 0.5) < 0.05);
  assert.ok(Math.abs(su.std - 5 / Math.sqrt(12)) < 0.03);
  const n = init.normal(nb.zeros([200, 100], { dtype: "float64" }), 1, 2, { generator: new nb.Generator(2) });
  const sn = stats(n);
  assert.ok(Math.abs(sn.mean - 1) < 0.05);
  assert.ok(Math.abs(sn.std - 2) < 0.03);
  // Tails: about 0.27% of standard-normal draws lie beyond 3σ (the ziggurat's tail branch).
  const big = init.normal(nb.zeros([400000]), 0, 1, { generator: new nb.Generator(3) });
  const beyond3 = Array.from(big.data).filter((v) => Math.abs(v) > 3).length / 400000;
  assert.ok(Math.abs(beyond3 - 0.0027) < 0.0005, `P(|z| > 3) = ${beyond3}`);
  const beyond4 = Array.from(big.data).filter((v) => Math.abs(v) > 4).length;
  assert.ok(beyond4 > 0 && beyond4 < 60, `${beyond4} draws beyond 4σ`);
});

test("kaiming and xavier use PyTorch's bounds and standard deviations", () => {
  const w = nb.zeros([64, 32, 3, 3]);
  const fanIn = 32 * 9;
  const fanOut = 64 * 9;
  init.kaimingUniform(w, { a: Math.sqrt(5), generator: new nb.Generator(4) });
  const ku = stats(w);
  assert.ok(ku.max <= 1 / Math.sqrt(fanIn) && ku.min >= -1 / Math.sqrt(fanIn));
  init.kaimingNormal(w, { mode: "fan_out", nonlinearity: "relu", generator: new nb.Generator(5) });
  assert.ok(Math.abs(stats(w).std / Math.sqrt(2 / fanOut) - 1) < 0.03);
  init.kaimingNormal(w, { generator: new nb.Generator(5) });
  assert.ok(Math.abs(stats(w).std / Math.sqrt(2 / fanIn) - 1) < 0.03);
  const bound = Math.sqrt(6 / (fanIn + fanOut));
  init.xavierUniform(w, { gain: 2, generator: new nb.Generator(6) });
  const xu = stats(w);
  assert.ok(xu.max <= 2 * bound && xu.max > 1.9 * bound);
  init.xavierNormal(w, { generator: new nb.Generator(7) });
  assert.ok(Math.abs(stats(w).std / Math.sqrt(2 / (fanIn + fanOut)) - 1) < 0.03);
});

test("random fills are reproducible and continue the generator's stream", () => {
  const a = init.normal(nb.zeros([1000]), 0, 1, { generator: new nb.Generator(9) });
  const b = init.normal(nb.zeros([1000]), 0, 1, { generator: new nb.Generator(9) });
  assert.deepEqual(a.toArray(), b.toArray());
  // fillUniform consumes exactly one 32-bit word per element.
  const g1 = new nb.Generator(11);
  const g2 = new nb.Generator(11);
  init.uniform(nb.zeros([10000]), 0, 1, { generator: g1 });
  for (let i = 0; i < 10000; i++) g2.nextUint32();
  assert.equal(g1.nextUint32(), g2.nextUint32());
  // Two consecutive fills differ, and the default generator is used without one.
  const g = new nb.Generator(12);
  const first = init.normal(nb.zeros([5000]), 0, 1, { generator: g }).toArray();
  const second = init.normal(nb.zeros([5000]), 0, 1, { generator: g }).toArray();
  assert.notDeepEqual(first, second);
  nb.manualSeed(13);
  const d1 = init.uniform(nb.zeros([4])).toArray();
  nb.manualSeed(13);
  assert.deepEqual(init.uniform(nb.zeros([4])).toArray(), d1);
});
