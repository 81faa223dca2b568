// Cross-check of symbolic answers against nabla's tensor autograd engine (float64), for concrete
// explicit problems (no abstract functions, no implicit unknowns). The target expression is
// rebuilt from tensor ops on leaf tensors for the independent variables, and differentiated with
// grad(..., { createGraph: true }) once per variable, so higher orders go through double backward.
//
// Kept apart from the rest of src/calculus on purpose: the calculus core does not depend on the
// tensor engine; only this file (and the CLI's --verify) does.
import { grad, tensor, type Tensor } from "../core.js";
import { EvaluationError } from "./errors.js";
import type { Expr } from "./expr.js";
import { evaluate } from "./evaluate.js";
import type { Problem } from "./problem.js";
import { toNumber } from "./rational.js";
import type { VerifiedAnswer } from "./verify.js";

export interface AutogradReport {
  readonly maxRelError: number;
  readonly checks: readonly { find: string; symbolic: number; autograd: number; relError: number }[];
}

/** Whether the problem can be checked this way. */
export function autogradApplicable(problem: Problem): boolean {
  return problem.functions.size === 0 && problem.unknowns.length === 0;
}

export function autogradCheck(
  problem: Problem,
  answers: readonly VerifiedAnswer[],
  point: Readonly<Record<string, number>>,
): AutogradReport {
  if (!autogradApplicable(problem))
    throw new EvaluationError(
      "the autograd check needs a concrete explicit problem (no abstract functions or equations)",
    );
  const expanded = new Map(problem.definitions.map((d) => [d.name, d.expanded]));
  const values = new Map(Object.entries(point));
  const checks = answers.map(({ find, expr }) => {
    const leaves = new Map<string, Tensor>();
    for (const [name, v] of values) leaves.set(name, tensor([v], { dtype: "float64", requiresGrad: true }));
    let out = toTensor(expanded.get(find.target) ?? symbolOf(find.target), leaves);
    for (const v of [...find.vars].reverse()) {
      const leaf = leaves.get(v);
      if (!leaf) throw new EvaluationError(`no value for '${v}'`);
      const [g] = grad([out], [leaf], { createGraph: true, allowUnused: true });
      out = g ?? tensor([0], { dtype: "float64", requiresGrad: true });
      if (!out.requiresGrad) out = out.add(leaf.mul(0)); // keep it in the graph for the next order
    }
    const autograd = out.item();
    const symbolic = evaluate(expr, values);
    const relError = Math.abs(symbolic - autograd) / Math.max(1, Math.abs(autograd));
    return { find: find.text, symbolic, autograd, relError: Number.isNaN(relError) ? Infinity : relError };
  });
  return { maxRelError: checks.reduce((m, c) => Math.max(m, c.relError), 0), checks };
}

const symbolOf = (name: string): Expr => ({ kind: "sym", name, id: -1 }) as Expr;

/** The expression as tensor ops (float64, shape [1]). */
function toTensor(e: Expr, leaves: ReadonlyMap<string, Tensor>): Tensor {
  const constant = (v: number): Tensor => tensor([v], { dtype: "float64" });
  const go = (u: Expr): Tensor => {
    switch (u.kind) {
      case "num":
        return constant(toNumber(u.value));
      case "const":
        return constant(u.name === "e" ? Math.E : Math.PI);
      case "sym": {
        const t = leaves.get(u.name);
        if (!t) throw new EvaluationError(`no value for '${u.name}'`);
        return t;
      }
      case "add":
        return u.args.map(go).reduce((a, b) => a.add(b));
      case "mul":
        return u.args.map(go).reduce((a, b) => a.mul(b));
      case "pow": {
        if (u.base.kind === "const" && u.base.name === "e") return go(u.exp).exp();
        if (u.exp.kind === "num") return go(u.base).pow(toNumber(u.exp.value));
        // b^e = exp(e·ln b) for a symbolic exponent.
        return go(u.exp).mul(go(u.base).log()).exp();
      }
      case "call": {
        const a = go(u.args[0]!);
        switch (u.name) {
          case "ln":
            return a.log();
          case "sin":
            return a.sin();
          case "cos":
            return a.cos();
          case "tan":
            return a.sin().div(a.cos());
          case "cot":
            return a.cos().div(a.sin());
          case "sec":
            return a.cos().reciprocal();
          case "csc":
            return a.sin().reciprocal();
          case "tanh":
            return a.tanh();
          case "sinh":
            return a.exp().sub(a.neg().exp()).mul(0.5);
          case "cosh":
            return a.exp().add(a.neg().exp()).mul(0.5);
          case "abs":
            return a.abs();
          default:
            throw new EvaluationError(`the tensor engine has no ${u.name}`);
        }
      }
      default:
        throw new EvaluationError(`cannot build a tensor for a ${u.kind} node`);
    }
  };
  return go(e);
}
