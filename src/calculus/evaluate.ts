// Numeric evaluation in float64. Abstract functions need concrete values: the caller passes
// `functions(name, slots, args)`, the value of f (slots = []) or of its partial f_12 (slots = [1, 2]).
import { EvaluationError } from "./errors.js";
import type { Expr } from "./expr.js";
import { ELEMENTARY } from "./functions.js";
import { toNumber } from "./rational.js";

export type FunctionValues = (name: string, slots: readonly number[], args: readonly number[]) => number;

export type Point = ReadonlyMap<string, number>;

export function evaluate(e: Expr, point: Point, functions?: FunctionValues): number {
  const memo = new Map<number, number>();
  const go = (u: Expr): number => {
    const seen = memo.get(u.id);
    if (seen !== undefined) return seen;
    const out = value(u);
    memo.set(u.id, out);
    return out;
  };
  const value = (u: Expr): number => {
    switch (u.kind) {
      case "num":
        return toNumber(u.value);
      case "const":
        return u.name === "e" ? Math.E : Math.PI;
      case "sym": {
        const v = point.get(u.name);
        if (v === undefined) throw new EvaluationError(`no value for '${u.name}'`);
        return v;
      }
      case "add":
        return u.args.reduce((s, t) => s + go(t), 0);
      case "mul":
        return u.args.reduce((p, f) => p * go(f), 1);
      case "pow": {
        if (u.base.kind === "const" && u.base.name === "e") return Math.exp(go(u.exp));
        const b = go(u.base);
        const x = go(u.exp);
        // Odd roots of negative numbers are real: (-8)^(1/3) = -2.
        if (b < 0 && u.exp.kind === "num" && u.exp.value.den % 2n === 1n && u.exp.value.den !== 1n) {
          const r = Math.pow(-b, x);
          return u.exp.value.num % 2n === 0n ? r : -r;
        }
        return Math.pow(b, x);
      }
      case "call": {
        const f = ELEMENTARY.get(u.name);
        if (!f) throw new EvaluationError(`unknown function '${u.name}'`);
        return f.evaluate(u.args.map(go));
      }
      case "fn": {
        if (!functions)
          throw new EvaluationError(
            `'${u.name}' is an abstract function: give it a concrete stand-in to evaluate (verify does this)`,
          );
        return functions(u.name, u.slots, u.args.map(go));
      }
      case "partial":
        throw new EvaluationError("a derivative symbol has no value");
    }
  };
  return go(e);
}
