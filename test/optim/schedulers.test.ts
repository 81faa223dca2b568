// LR schedulers against PyTorch: each scheduler's learning rates (and OneCycleLR's momentum)
// over 30 steps for a two-group SGD optimizer, from test/optim/data/lr_schedules.json (made by
// scripts/torch/optim_trajectories.py). Plus stateDict round trips and argument checks.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { zeros } from "../../src/tensor/creation.js";
import { ValueError } from "../../src/errors.js";
import {
  SGD,
  Adam,
  StepLR,
  MultiStepLR,
  ExponentialLR,
  CosineAnnealingLR,
  LinearLR,
  OneCycleLR,
  SequentialLR,
  type LRScheduler,
  type Optimizer,
  type BaseOptions,
} from "../../src/optim/index.js";

type Spec = Record<string, unknown> & { type: string };
interface Case {
  name: string;
  spec: Spec;
  groups: { lr: number; momentum: number }[];
  lrs: number[][];
  momenta?: number[][];
}
const data = JSON.parse(readFileSync(new URL("./data/lr_schedules.json", import.meta.url), "utf8")) as {
  cases: Case[];
};

function build(opt: Optimizer<BaseOptions>, spec: Spec): LRScheduler {
  const { type, ...o } = spec;
  switch (type) {
    case "StepLR":
      return new StepLR(opt, o as { stepSize: number; gamma: number });
    case "MultiStepLR":
      return new MultiStepLR(opt, o as { milestones: number[]; gamma: number });
    case "ExponentialLR":
      return new ExponentialLR(opt, o as { gamma: number });
    case "CosineAnnealingLR":
      return new CosineAnnealingLR(opt, o as { tMax: number; etaMin?: number });
    case "LinearLR":
      return new LinearLR(opt, o);
    case "OneCycleLR":
      return new OneCycleLR(opt, o as { maxLr: number });
    case "SequentialLR": {
      const subs = (o.schedulers as Spec[]).map((s) => build(opt, s));
      return new SequentialLR(opt, { schedulers: subs, milestones: o.milestones as number[] });
    }
  }
  throw new Error(`unknown scheduler ${type}`);
}

function makeOptimizer(c: Case): SGD {
  const p = zeros([3], { requiresGrad: true });
  const q = zeros([2], { requiresGrad: true });
  return new SGD(
    c.groups.map((g, i) => ({ params: [[p, q][i]!], ...g })),
    { lr: 0.1 },
  );
}

/** Equal up to the last bit or two of a double (Math.cos may differ from C's cos by an ulp). */
function close(a: number, e: number, what: string): void {
  assert.ok(Math.abs(a - e) <= 1e-14 * Math.abs(e) + 1e-300, `${what}: got ${a}, PyTorch ${e}`);
}

for (const c of data.cases) {
  test(`${c.spec.type} ${c.name}: 30 steps match PyTorch`, () => {
    const opt = makeOptimizer(c);
    const sched = build(opt, c.spec);
    c.lrs.forEach((expected, step) => {
      if (step > 0) {
        opt.step();
        sched.step();
      }
      sched.getLastLr().forEach((lr, g) => close(lr, expected[g]!, `step ${step}, group ${g} lr`));
      opt.paramGroups.forEach((group, g) =>
        close(group.lr, expected[g]!, `step ${step}, group ${g} group.lr`),
      );
      c.momenta?.[step]!.forEach((m, g) => close(opt.paramGroups[g]!.momentum, m, `step ${step} momentum`));
    });
  });
}

test("scheduler stateDict round trip: a restored scheduler continues the same sequence", () => {
  for (const c of data.cases) {
    const optA = makeOptimizer(c);
    const a = build(optA, c.spec);
    for (let i = 0; i < 9; i++) a.step();
    const saved = JSON.parse(JSON.stringify({ opt: optA.stateDict(), sched: a.stateDict() }));
    const optB = makeOptimizer(c);
    const b = build(optB, c.spec);
    optB.loadStateDict(saved.opt);
    b.loadStateDict(saved.sched);
    for (let i = 0; i < 15; i++) {
      a.step();
      b.step();
      assert.deepEqual(b.getLastLr(), a.getLastLr(), `${c.name} after ${10 + i} steps`);
    }
  }
});

test("OneCycleLR cycles Adam's beta1 and refuses to step past totalSteps", () => {
  const p = zeros([2], { requiresGrad: true });
  const opt = new Adam([p], { lr: 0.1, betas: [0.9, 0.99] });
  const s = new OneCycleLR(opt, { maxLr: 1, epochs: 2, stepsPerEpoch: 5 });
  assert.equal(opt.paramGroups[0]!.betas[0], 0.95);
  assert.equal(opt.paramGroups[0]!.betas[1], 0.99);
  assert.ok(Math.abs(s.getLastLr()[0]! - 1 / 25) < 1e-12);
  for (let i = 0; i < 9; i++) s.step();
  assert.ok(Math.abs(s.getLastLr()[0]! - 1 / 25 / 1e4) < 1e-12);
  assert.equal(opt.paramGroups[0]!.betas[0], 0.95);
  s.step(); // step 10 == totalSteps is allowed (PyTorch checks stepNum > totalSteps)
  assert.throws(() => s.step(), ValueError);
});

test("schedulers reject bad arguments with ValueError", () => {
  const opt = new SGD([zeros([1], { requiresGrad: true })], { lr: 0.1 });
  assert.throws(() => new StepLR(opt, { stepSize: 0 }), ValueError);
  assert.throws(() => new LinearLR(opt, { startFactor: 2 }), ValueError);
  assert.throws(() => new CosineAnnealingLR(opt, { tMax: 0 }), ValueError);
  assert.throws(() => new OneCycleLR(opt, { maxLr: 1 }), /totalSteps/);
  assert.throws(() => new OneCycleLR(opt, { maxLr: [1, 2], totalSteps: 10 }), /expected 1 values/);
  const other = new SGD([zeros([1], { requiresGrad: true })], { lr: 0.1 });
  assert.throws(
    () => new SequentialLR(opt, { schedulers: [new ExponentialLR(other, { gamma: 0.9 })], milestones: [] }),
    /different optimizer/,
  );
  assert.throws(
    () => new SequentialLR(opt, { schedulers: [new ExponentialLR(opt, { gamma: 0.9 })], milestones: [3] }),
    /milestones/,
  );
});
