// Properties every loss must have, checked with fast-check on random inputs: non-negative, exactly
// 0 at a perfect fit (where one exists), and decreasing along the negative gradient for a small
// step. Plus gradcheck and gradgradcheck (float64) for every loss, and numerical stability with
// ±1e4 logits in float32 (no NaN or Inf in values or gradients).
import { test } from "node:test";
import assert from "node:assert/strict";
import { fc } from "../support/fuzz.js";
import { fromArray, tensor } from "../../src/tensor/creation.js";
import type { Tensor } from "../../src/tensor/tensor.js";
import { grad, gradcheck, gradgradcheck, noGrad } from "../../src/autograd/index.js";
import * as L from "../../src/nn/losses.js";

const N = 3;
const C = 4;
const f64 = (values: number[], shape: number[]) => fromArray(Float64Array.from(values), shape);
const i32 = (values: number[], shape: number[]) => fromArray(Int32Array.from(values), shape);

const reals = (n: number, min = -4, max = 4) =>
  fc.array(fc.double({ min, max, noNaN: true }), { minLength: n, maxLength: n });
const reduction = fc.constantFrom<"mean" | "sum">("mean", "sum");

function softmaxRows(values: number[]): number[] {
  return Array.from(f64(values, [N, C]).softmax(1).data);
}

/** A loss with its random problem: `loss(x)` is scalar; x is the differentiated input. */
interface Problem {
  x: number[];
  shape: number[];
  loss: (x: Tensor) => Tensor;
  /** Inputs keep a constraint (bce: probabilities) — steps stay inside it. */
  domain?: [number, number];
}

interface Spec {
  name: string;
  problem: fc.Arbitrary<Problem>;
  /** A problem whose input fits the target perfectly (loss exactly 0), if the loss has one. */
  perfect?: fc.Arbitrary<Problem>;
}

const classTargets = fc.array(fc.integer({ min: 0, max: C - 1 }), { minLength: N, maxLength: N });
const weights = fc.array(fc.double({ min: 0.1, max: 3, noNaN: true }), { minLength: C, maxLength: C });

const SPECS: Spec[] = [
  {
    name: "crossEntropy (class indices, weights, ignoreIndex, labelSmoothing)",
    problem: fc
      .record({
        x: reals(N * C),
        t: classTargets,
        w: weights,
        ls: fc.double({ min: 0, max: 0.5, noNaN: true }),
        r: reduction,
      })
      .map(({ x, t, w, ls, r }) => ({
        x,
        shape: [N, C],
        loss: (xt) =>
          L.crossEntropy(xt, i32([t[0]!, -100, t[2]!], [N]), {
            weight: f64(w, [C]),
            labelSmoothing: ls,
            reduction: r,
          }),
      })),
    // Logits one-hot at ±1e4 give log-probabilities of exactly 0 at the target.
    perfect: fc.record({ t: classTargets, r: reduction }).map(({ t, r }) => ({
      x: t.flatMap((c) => Array.from({ length: C }, (_, j) => (j === c ? 1e4 : -1e4))),
      shape: [N, C],
      loss: (xt) => L.crossEntropy(xt, i32(t, [N]), { reduction: r }),
    })),
  },
  {
    name: "crossEntropy (probabilities, weights, labelSmoothing)",
    problem: fc
      .record({
        x: reals(N * C),
        p: reals(N * C),
        w: weights,
        ls: fc.double({ min: 0, max: 0.5, noNaN: true }),
        r: reduction,
      })
      .map(({ x, p, w, ls, r }) => ({
        x,
        shape: [N, C],
        loss: (xt) =>
          L.crossEntropy(xt, f64(softmaxRows(p), [N, C]), {
            weight: f64(w, [C]),
            labelSmoothing: ls,
            reduction: r,
          }),
      })),
  },
  {
    name: "nllLoss",
    problem: fc
      .record({ x: reals(N * C), t: classTargets, w: weights, r: reduction })
      .map(({ x, t, w, r }) => ({
        x,
        shape: [N, C],
        loss: (xt) => L.nllLoss(xt.logSoftmax(1), i32(t, [N]), { weight: f64(w, [C]), reduction: r }),
      })),
    perfect: fc.record({ t: classTargets, r: reduction }).map(({ t, r }) => ({
      x: t.flatMap((c) => Array.from({ length: C }, (_, j) => (j === c ? 0 : -5))),
      shape: [N, C],
      loss: (xt) => L.nllLoss(xt, i32(t, [N]), { reduction: r }),
    })),
  },
  ...(
    [
      ["mseLoss", (a: Tensor, b: Tensor, r: L.Reduction) => L.mseLoss(a, b, { reduction: r })],
      ["l1Loss", (a: Tensor, b: Tensor, r: L.Reduction) => L.l1Loss(a, b, { reduction: r })],
      [
        "smoothL1Loss",
        (a: Tensor, b: Tensor, r: L.Reduction) => L.smoothL1Loss(a, b, { beta: 0.7, reduction: r }),
      ],
      [
        "huberLoss",
        (a: Tensor, b: Tensor, r: L.Reduction) => L.huberLoss(a, b, { delta: 1.3, reduction: r }),
      ],
    ] as const
  ).map(([name, fn]): Spec => ({
    name,
    // Targets at least 0.01 away from the input: the step (length 1e-4) never crosses |d| = 0,
    // where l1 has a kink.
    problem: fc
      .record({
        x: reals(N * C),
        d: reals(N * C, 0.01, 4),
        s: fc.array(fc.boolean(), { minLength: N * C, maxLength: N * C }),
        r: reduction,
      })
      .map(({ x, d, s, r }) => ({
        x,
        shape: [N, C],
        loss: (xt) =>
          fn(
            xt,
            f64(
              x.map((v, i) => v + (s[i] ? d[i]! : -d[i]!)),
              [N, C],
            ),
            r,
          ),
      })),
    perfect: fc.record({ y: reals(N * C), r: reduction }).map(({ y, r }) => ({
      x: y,
      shape: [N, C],
      loss: (xt) => fn(xt, f64(y, [N, C]), r),
    })),
  })),
  {
    name: "bceLoss",
    problem: fc
      .record({ x: reals(N * C, 0.05, 0.95), y: reals(N * C, 0, 1), w: reals(N * C, 0.1, 2), r: reduction })
      .map(({ x, y, w, r }) => ({
        x,
        shape: [N, C],
        domain: [0, 1],
        loss: (xt) => L.bceLoss(xt, f64(y, [N, C]), { weight: f64(w, [N, C]), reduction: r }),
      })),
    perfect: fc
      .record({ y: fc.array(fc.constantFrom(0, 1), { minLength: N * C, maxLength: N * C }), r: reduction })
      .map(({ y, r }) => ({
        x: y,
        shape: [N, C],
        loss: (xt) => L.bceLoss(xt, f64(y, [N, C]), { reduction: r }),
      })),
  },
  {
    name: "bceWithLogitsLoss (weight, posWeight)",
    problem: fc
      .record({
        x: reals(N * C, -8, 8),
        y: reals(N * C, 0, 1),
        w: reals(N * C, 0.1, 2),
        pw: reals(C, 0.2, 4),
        r: reduction,
      })
      .map(({ x, y, w, pw, r }) => ({
        x,
        shape: [N, C],
        loss: (xt) =>
          L.bceWithLogitsLoss(xt, f64(y, [N, C]), {
            weight: f64(w, [N, C]),
            posWeight: f64(pw, [C]),
            reduction: r,
          }),
      })),
    perfect: fc
      .record({ y: fc.array(fc.constantFrom(0, 1), { minLength: N * C, maxLength: N * C }), r: reduction })
      .map(({ y, r }) => ({
        x: y.map((v) => (v === 1 ? 1e4 : -1e4)),
        shape: [N, C],
        loss: (xt) => L.bceWithLogitsLoss(xt, f64(y, [N, C]), { reduction: r }),
      })),
  },
  {
    name: "klDiv (log-probability input, batchmean / sum, logTarget)",
    problem: fc
      .record({
        x: reals(N * C),
        p: reals(N * C),
        logTarget: fc.boolean(),
        r: fc.constantFrom<"batchmean" | "sum">("batchmean", "sum"),
      })
      .map(({ x, p, logTarget, r }) => ({
        x,
        shape: [N, C],
        loss: (xt) => {
          const target = f64(p, [N, C]).logSoftmax(1);
          return L.klDiv(xt.logSoftmax(1), logTarget ? target : target.exp(), { reduction: r, logTarget });
        },
      })),
    perfect: fc.record({ p: reals(N * C), logTarget: fc.boolean() }).map(({ p, logTarget }) => {
      const logp = Array.from(f64(p, [N, C]).logSoftmax(1).data);
      return {
        x: logp,
        shape: [N, C],
        loss: (xt) =>
          L.klDiv(xt, logTarget ? f64(logp, [N, C]) : f64(logp, [N, C]).exp(), {
            reduction: "batchmean",
            logTarget,
          }),
      };
    }),
  },
];

function evaluate(p: Problem, x: number[]): { value: number; gradient: number[] } {
  const xt = f64(x, p.shape).requiresGrad_();
  const out = p.loss(xt);
  const [g] = grad([out], [xt]);
  return { value: out.item(), gradient: Array.from(g!.data) };
}

for (const spec of SPECS) {
  test(`${spec.name}: non-negative`, () => {
    fc.assert(
      fc.property(spec.problem, (p) => noGrad(() => p.loss(f64(p.x, p.shape)).item()) >= -1e-12),
      { numRuns: 40 },
    );
  });

  if (spec.perfect) {
    test(`${spec.name}: exactly 0 at a perfect fit`, () => {
      fc.assert(
        fc.property(spec.perfect!, (p) => Math.abs(noGrad(() => p.loss(f64(p.x, p.shape)).item())) <= 1e-12),
        { numRuns: 20 },
      );
    });
  }

  test(`${spec.name}: decreases along the negative gradient`, () => {
    fc.assert(
      fc.property(spec.problem, (p) => {
        const { value, gradient } = evaluate(p, p.x);
        const norm = Math.hypot(...gradient);
        if (norm < 1e-4) return true; // (near) stationary: the decrease would drown in rounding
        // A step of length at most 1e-4, and a small learning rate so curvature cannot dominate.
        const eta = Math.min(1e-4 / norm, 1e-4);
        const next = p.x.map((v, i) => v - eta * gradient[i]!);
        if (p.domain && next.some((v) => v <= p.domain![0] || v >= p.domain![1])) return true;
        const after = noGrad(() => p.loss(f64(next, p.shape)).item());
        // First-order prediction of the decrease is eta·|g|²; ask for at least half of it.
        return after < value - 0.5 * eta * norm * norm;
      }),
      { numRuns: 40 },
    );
  });
}

// ---- gradcheck / gradgradcheck (float64) ------------------------------------------------------

const X = f64([0.3, -1.2, 0.8, 2.0, -0.5, 0.1, 1.5, -2.2, 0.9, 0.4, -0.7, 1.1], [N, C]);
const Y = f64([0.5, -1.0, 0.2, 1.0, 0.9, 0.6, -1.4, -2.0, 1.7, 0.1, -0.1, 2.3], [N, C]);
const P = X.softmax(1).detach();
const PROB = f64([0.2, 0.45, 0.7, 0.9, 0.05, 0.3, 0.55, 0.8, 0.35, 0.6, 0.15, 0.95], [N, C]);
const PROB2 = f64([0.9, 0.1, 0.4, 0.6, 0.25, 0.8, 0.5, 0.05, 0.7, 0.3, 0.95, 0.2], [N, C]);
const W = f64([0.5, 2, 1, 0.25], [C]);
const T = i32([1, -100, 3], [N]);

const CHECKS: [string, (x: Tensor, y: Tensor) => Tensor, Tensor, Tensor][] = [
  ["crossEntropy indices", (x) => L.crossEntropy(x, T, { weight: W, labelSmoothing: 0.1 }), X, Y],
  [
    "crossEntropy indices, none",
    (x) => L.crossEntropy(x, T, { reduction: "none", labelSmoothing: 0.2 }),
    X,
    Y,
  ],
  ["crossEntropy probabilities", (x, y) => L.crossEntropy(x, y, { weight: W, labelSmoothing: 0.1 }), X, P],
  ["nllLoss", (x) => L.nllLoss(x, T, { weight: W, reduction: "sum" }), X, Y],
  ["mseLoss", (x, y) => L.mseLoss(x, y), X, Y],
  ["l1Loss", (x, y) => L.l1Loss(x, y, { reduction: "sum" }), X, Y],
  ["smoothL1Loss", (x, y) => L.smoothL1Loss(x, y, { beta: 0.45, reduction: "none" }), X, Y],
  ["huberLoss", (x, y) => L.huberLoss(x, y, { delta: 0.7 }), X, Y],
  ["bceLoss", (x, y) => L.bceLoss(x, y, { weight: PROB }), PROB, PROB2],
  ["bceWithLogitsLoss", (x, y) => L.bceWithLogitsLoss(x, y, { posWeight: W }), X, PROB],
  ["klDiv", (x, y) => L.klDiv(x.logSoftmax(1), y, { reduction: "batchmean" }), X, P],
  [
    "klDiv logTarget",
    (x, y) => L.klDiv(x, y, { reduction: "sum", logTarget: true }),
    X.logSoftmax(1),
    Y.logSoftmax(1),
  ],
];

for (const [name, fn, x0, y0] of CHECKS) {
  test(`${name}: gradcheck and gradgradcheck (input and float target)`, () => {
    const x = x0.detach().clone().requiresGrad_();
    const y = y0.detach().clone().requiresGrad_();
    assert.ok(gradcheck(fn, [x, y]));
    assert.ok(gradgradcheck(fn, [x, y]));
  });
}

// ---- stability at ±1e4 (float32) -------------------------------------------------------------

test("losses stay finite (values and gradients) with ±1e4 logits in float32", () => {
  const logits = [1e4, -1e4, 0, 5e3, -1e4, 1e4, -1e4, -1e4, 0, 0, 1e4, -5e3];
  const probs = tensor([0.1, 0.2, 0.3, 0.4, 1, 0, 0, 0, 0, 0, 0.5, 0.5]).reshape([N, C]);
  const fns: [string, (x: Tensor) => Tensor][] = [
    [
      "crossEntropy indices",
      (x) => L.crossEntropy(x, i32([1, 0, 3], [N]), { labelSmoothing: 0.1, weight: tensor([1, 2, 3, 4]) }),
    ],
    ["crossEntropy probabilities", (x) => L.crossEntropy(x, probs, { labelSmoothing: 0.1 })],
    ["nllLoss of logSoftmax", (x) => L.nllLoss(x.logSoftmax(1), i32([1, 0, 3], [N]))],
    ["bceWithLogitsLoss", (x) => L.bceWithLogitsLoss(x, probs, { posWeight: tensor([0.5, 1, 2, 3]) })],
    ["klDiv of logSoftmax", (x) => L.klDiv(x.logSoftmax(1), probs, { reduction: "batchmean" })],
    ["mseLoss", (x) => L.mseLoss(x, probs)],
    ["smoothL1Loss", (x) => L.smoothL1Loss(x, probs)],
    ["huberLoss", (x) => L.huberLoss(x, probs)],
    ["l1Loss", (x) => L.l1Loss(x, probs)],
  ];
  for (const [name, fn] of fns) {
    const x = tensor(logits).reshape([N, C]).requiresGrad_();
    const out = fn(x);
    out.backward();
    assert.ok(Number.isFinite(out.item()), `${name}: value ${out.item()}`);
    assert.ok(Array.from(x.grad!.data).every(Number.isFinite), `${name}: gradient ${x.grad!.toString()}`);
  }
  // And the values are right: −log softmax at the target is the logit gap.
  const ce = L.crossEntropy(tensor([[1e4, -1e4, 0]]), i32([1], [1]));
  assert.equal(ce.item(), 2e4);
  const bce = L.bceWithLogitsLoss(tensor([1e4, -1e4]), tensor([0, 1]), { reduction: "none" });
  assert.deepEqual(Array.from(bce.data), [1e4, 1e4]);
});
