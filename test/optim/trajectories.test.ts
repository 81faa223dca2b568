// Optimizer updates against PyTorch: fixed initial parameters and a fixed sequence of gradients
// (test/optim/data/optim_trajectories.json, made by scripts/torch/optim_trajectories.py), each
// optimizer and option combination run for 12 steps; every parameter value after every step must
// equal PyTorch's float32 result to within 1e-6 relative, and in fact all are bitwise equal: the
// update loops round where PyTorch's float32 kernels round (including its fused multiply-adds).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fromArray } from "../../src/tensor/creation.js";
import type { Tensor } from "../../src/tensor/tensor.js";
import { Parameter } from "../../src/nn/parameter.js";
import { SGD, Adam, AdamW, RMSprop, type Optimizer } from "../../src/optim/index.js";

interface Case {
  name: string;
  optimizer: "SGD" | "Adam" | "AdamW" | "RMSprop";
  groups: ({ params: number[] } & Record<string, unknown>)[];
  trajectory: number[][][];
}
interface Data {
  initial: number[][];
  grads: number[][][];
  cases: Case[];
}

const data = JSON.parse(
  readFileSync(new URL("./data/optim_trajectories.json", import.meta.url), "utf8"),
) as Data;

export function makeOptimizer(c: Case, params: Tensor[]): Optimizer<{ lr: number }> {
  const groups = c.groups.map((g) => ({ ...g, params: g.params.map((i) => params[i]!) }));
  const ctor = { SGD, Adam, AdamW, RMSprop }[c.optimizer];
  // Every hyper-parameter is given per group, so the constructor defaults do not matter here.
  return new (ctor as unknown as new (p: unknown, o: unknown) => Optimizer<{ lr: number }>)(groups, {
    lr: 0,
  });
}

function freshParams(): Parameter[] {
  return data.initial.map((v) => new Parameter(fromArray(Float32Array.from(v), [v.length])));
}

function setGrads(params: Tensor[], step: number): void {
  params.forEach((p, k) => (p.grad = fromArray(Float32Array.from(data.grads[step]![k]!), p.shape)));
}

let exact = 0;
let total = 0;
for (const c of data.cases) {
  test(`${c.optimizer} ${c.name}: 12 steps match PyTorch`, () => {
    const params = freshParams();
    const opt = makeOptimizer(c, params);
    c.trajectory.forEach((expected, step) => {
      setGrads(params, step);
      opt.step();
      params.forEach((p, k) => {
        const got = p.data;
        expected[k]!.forEach((e, i) => {
          const a = got[i]!;
          total++;
          if (a === e) exact++;
          assert.ok(
            Math.abs(a - e) <= 1e-6 * Math.abs(e) + 1e-12,
            `step ${step + 1}, param ${k}[${i}]: got ${a}, PyTorch ${e}`,
          );
        });
      });
    });
  });
}

test("every trajectory value is bitwise equal to PyTorch's", () => {
  assert.ok(total === data.cases.length * 12 * 47, `checked ${total} values`);
  assert.equal(exact, total, `only ${exact}/${total} values are bitwise equal`);
});
