// Optimizer behaviour beyond the PyTorch trajectories: stateDict round trips (bitwise equal to an
// uninterrupted run), param groups, zeroGrad, broadcast gradients, closures, argument checks.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fromArray, tensor, zeros, ones } from "../../src/tensor/creation.js";
import type { Tensor } from "../../src/tensor/tensor.js";
import { Parameter } from "../../src/nn/parameter.js";
import { DTypeError, FormatError, ValueError } from "../../src/errors.js";
import { SGD, Adam, AdamW, RMSprop, type Optimizer, type BaseOptions } from "../../src/optim/index.js";

interface Case {
  name: string;
  optimizer: "SGD" | "Adam" | "AdamW" | "RMSprop";
  groups: ({ params: number[] } & Record<string, unknown>)[];
}
const data = JSON.parse(readFileSync(new URL("./data/optim_trajectories.json", import.meta.url), "utf8")) as {
  initial: number[][];
  grads: number[][][];
  cases: Case[];
};
const CTORS = { SGD, Adam, AdamW, RMSprop };

function make(c: Case, params: Tensor[]): Optimizer<BaseOptions> {
  const groups = c.groups.map((g) => ({ ...g, params: g.params.map((i) => params[i]!) }));
  return new (CTORS[c.optimizer] as unknown as new (p: unknown, o: unknown) => Optimizer<BaseOptions>)(
    groups,
    { lr: 0 },
  );
}

function paramsFrom(values: number[][]): Parameter[] {
  return values.map((v) => new Parameter(fromArray(Float32Array.from(v), [v.length])));
}

function stepWith(opt: Optimizer<BaseOptions>, params: Tensor[], step: number): void {
  params.forEach((p, k) => (p.grad = fromArray(Float32Array.from(data.grads[step]![k]!), p.shape)));
  opt.step();
}

test("stateDict → JSON → loadStateDict into a fresh optimizer continues bitwise identically", () => {
  for (const c of data.cases) {
    const a = paramsFrom(data.initial);
    const optA = make(c, a);
    for (let s = 0; s < 5; s++) stepWith(optA, a, s);
    const saved = JSON.parse(JSON.stringify(optA.stateDict()));
    const savedParams = a.map((p) => Array.from(p.data));
    for (let s = 5; s < 12; s++) stepWith(optA, a, s);

    // A fresh optimizer with default hyper-parameters: everything must come from the state dict.
    const b = paramsFrom(savedParams);
    const optB = new (
      CTORS[c.optimizer] as unknown as new (p: unknown, o: unknown) => Optimizer<BaseOptions>
    )(
      c.groups.map((g) => ({ params: g.params.map((i) => b[i]!) })),
      { lr: 123 },
    );
    optB.loadStateDict(saved);
    for (let s = 5; s < 12; s++) stepWith(optB, b, s);
    a.forEach((p, k) => assert.deepEqual(b[k]!.data, p.data, `${c.name}: param ${k}`));
  }
});

test("stateDict holds PyTorch-style per-index state and group hyper-parameters", () => {
  const [p, q] = paramsFrom([[1, 2], [3]]);
  const opt = new Adam([{ params: [p!] }, { params: [q!], lr: 0.5, amsgrad: true }], { lr: 0.1 });
  p!.grad = tensor([0.5, -1]);
  q!.grad = tensor([2]);
  opt.step();
  const sd = opt.stateDict();
  assert.deepEqual(Object.keys(sd.state), ["0", "1"]);
  assert.equal(sd.state["0"]!.step, 1);
  assert.deepEqual(Object.keys(sd.state["1"]!).sort(), ["expAvg", "expAvgSq", "maxExpAvgSq", "step"]);
  assert.ok(Math.abs((sd.state["0"]!.expAvg as number[])[0]! - 0.05) < 1e-8);
  assert.deepEqual(sd.paramGroups[1], {
    params: [1],
    lr: 0.5,
    betas: [0.9, 0.999],
    eps: 1e-8,
    weightDecay: 0,
    amsgrad: true,
    maximize: false,
  });
  // The saved dict is a copy: later steps do not change it.
  opt.step();
  assert.equal(sd.state["0"]!.step, 1);
});

test("loadStateDict rejects a dict that does not fit", () => {
  const [p, q] = paramsFrom([[1, 2], [3]]);
  const opt = new SGD([p!, q!], { lr: 0.1, momentum: 0.9 });
  p!.grad = tensor([1, 1]);
  opt.step();
  const sd = opt.stateDict();
  const one = new SGD([p!], { lr: 0.1 });
  assert.throws(() => one.loadStateDict(sd), /group 0 has 2 saved parameters/);
  const twoGroups = new SGD([{ params: [p!] }, { params: [q!] }], { lr: 0.1 });
  assert.throws(() => twoGroups.loadStateDict(sd), /1 parameter groups, optimizer has 2/);
  const [r, s] = paramsFrom([[1, 2, 3], [3]]);
  assert.throws(() => new SGD([r!, s!], { lr: 0.1 }).loadStateDict(sd), FormatError);
});

test("param groups keep their own hyper-parameters; addParamGroup fills in defaults", () => {
  const [p, q, r] = paramsFrom([[1], [1], [1]]);
  const opt = new SGD([{ params: [p!] }, { params: [q!], lr: 0.5 }], { lr: 0.1 });
  opt.addParamGroup({ params: [r!], weightDecay: 1 });
  for (const t of [p!, q!, r!]) t.grad = tensor([1]);
  opt.step();
  assert.deepEqual(
    [p!.item(), q!.item(), r!.item()],
    [Math.fround(1 - Math.fround(0.1)), 0.5, Math.fround(1 - Math.fround(0.1) * 2)],
  );
  assert.equal(opt.paramGroups[2]!.lr, 0.1);
  assert.throws(() => opt.addParamGroup({ params: [p!] }), /more than one group/);
});

test("zeroGrad sets gradients to null by default, or to fresh zeros", () => {
  const [p] = paramsFrom([[1, 2]]);
  const opt = new SGD([p!], { lr: 0.1 });
  const g = tensor([3, 4]);
  p!.grad = g;
  opt.zeroGrad({ setToNone: false });
  assert.deepEqual(Array.from(p!.grad!.data), [0, 0]);
  assert.deepEqual(Array.from(g.data), [3, 4], "the old gradient tensor is not overwritten");
  opt.zeroGrad();
  assert.equal(p!.grad, null);
  opt.step(); // no gradient: the parameter is skipped
  assert.deepEqual(Array.from(p!.data), [1, 2]);
});

test("a broadcast (stride-0) gradient from backward is read correctly", () => {
  const p = new Parameter(tensor([1, 2, 3]));
  p.sum().mul(2).backward();
  assert.equal(p.grad!.isContiguous, false, "sum's gradient is an expanded view");
  new SGD([p], { lr: 0.25 }).step();
  assert.deepEqual(Array.from(p.data), [0.5, 1.5, 2.5]);
});

test("float64 parameters are updated in double precision", () => {
  const p = new Parameter(tensor([1], { dtype: "float64" }));
  p.grad = tensor([1], { dtype: "float64" });
  new SGD([p], { lr: 0.1 }).step();
  assert.equal(p.item(), 1 - 0.1);
});

test("step(closure) re-evaluates the loss with grad mode on and returns it", () => {
  const p = new Parameter(tensor([3]));
  const opt = new SGD([p], { lr: 0.1 });
  const closure = () => {
    opt.zeroGrad();
    const loss = p.square().sum();
    loss.backward();
    return loss;
  };
  const losses = [0, 1, 2].map(() => opt.step(closure)!);
  assert.deepEqual(
    losses.map((l) => Math.round(l * 1e4) / 1e4),
    [9, 5.76, 3.6864],
  );
});

test("optimizers train: Adam, AdamW, RMSprop and SGD all reduce a quadratic", () => {
  for (const make of [
    (ps: Tensor[]) => new SGD(ps, { lr: 0.1, momentum: 0.9, nesterov: true }),
    (ps: Tensor[]) => new Adam(ps, { lr: 0.1 }),
    (ps: Tensor[]) => new AdamW(ps, { lr: 0.1 }),
    (ps: Tensor[]) => new RMSprop(ps, { lr: 0.01, centered: true, momentum: 0.5 }),
  ]) {
    const w = new Parameter(tensor([2, -3, 1]));
    const opt = make([w]);
    const loss = () =>
      w
        .sub(tensor([0.5, 0.5, 0.5]))
        .square()
        .sum();
    const first = loss().item();
    for (let i = 0; i < 50; i++) {
      opt.zeroGrad();
      loss().backward();
      opt.step();
    }
    assert.ok(loss().item() < first * 0.2, `${opt.constructor.name}: ${first} → ${loss().item()}`);
  }
});

test("optimizers reject bad parameters and hyper-parameters", () => {
  const p = new Parameter(ones([2]));
  assert.throws(() => new SGD([], { lr: 0.1 }), /empty parameter list/);
  assert.throws(() => new SGD([p], { lr: -1 }), ValueError);
  assert.throws(() => new SGD([p], { lr: 0.1, nesterov: true }), /Nesterov/);
  assert.throws(() => new Adam([p], { betas: [1, 0.9] }), /beta1/);
  assert.throws(() => new RMSprop([p], { eps: -1 }), /eps/);
  assert.throws(() => new SGD([zeros([2], { dtype: "int32" })], { lr: 0.1 }), DTypeError);
  const leaf = zeros([2], { requiresGrad: true });
  assert.throws(() => new SGD([leaf.mul(2)], { lr: 0.1 }), /non-leaf/);
  assert.throws(() => new SGD([zeros([2, 3]).t()], { lr: 0.1 }), /contiguous/);
  assert.throws(() => new SGD([{ params: [p] }, { params: [p] }], { lr: 0.1 }), /more than one group/);
  p.grad = zeros([3]);
  assert.throws(() => new SGD([p], { lr: 0.1 }).step(), /gradient has 3 elements/);
});
