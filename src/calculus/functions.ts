// The elementary functions, as a table (name → arity, partial derivatives, numeric value) rather
// than a switch spread over the differentiator and the evaluator: adding a function is one entry.
import { add, call, div, E, int, MINUS_ONE, mul, neg, ONE, pow, sub, TWO, HALF, type Expr } from "./expr.js";

export interface ElementaryFunction {
  /** ∂f/∂(argument i) as expressions in the arguments. */
  readonly partials: (args: readonly Expr[]) => Expr[];
  readonly evaluate: (args: readonly number[]) => number;
  readonly arity: number;
}

const unary = (d: (u: Expr) => Expr, f: (u: number) => number): ElementaryFunction => ({
  arity: 1,
  partials: (args) => [d(args[0]!)],
  evaluate: (xs) => f(xs[0]!),
});

const one = (name: string) => (u: Expr) => call(name, [u]);

export const ELEMENTARY: ReadonlyMap<string, ElementaryFunction> = new Map([
  ["ln", unary((u) => pow(u, MINUS_ONE), Math.log)],
  ["sin", unary(one("cos"), Math.sin)],
  ["cos", unary((u) => neg(call("sin", [u])), Math.cos)],
  ["tan", unary((u) => pow(call("sec", [u]), TWO), Math.tan)],
  [
    "cot",
    unary(
      (u) => neg(pow(call("csc", [u]), TWO)),
      (u) => 1 / Math.tan(u),
    ),
  ],
  [
    "sec",
    unary(
      (u) => mul(call("sec", [u]), call("tan", [u])),
      (u) => 1 / Math.cos(u),
    ),
  ],
  [
    "csc",
    unary(
      (u) => neg(mul(call("csc", [u]), call("cot", [u]))),
      (u) => 1 / Math.sin(u),
    ),
  ],
  ["asin", unary((u) => pow(sub(ONE, pow(u, TWO)), neg(HALF)), Math.asin)],
  ["acos", unary((u) => neg(pow(sub(ONE, pow(u, TWO)), neg(HALF))), Math.acos)],
  ["atan", unary((u) => pow(add(ONE, pow(u, TWO)), MINUS_ONE), Math.atan)],
  ["sinh", unary(one("cosh"), Math.sinh)],
  ["cosh", unary(one("sinh"), Math.cosh)],
  ["tanh", unary((u) => pow(call("cosh", [u]), int(-2)), Math.tanh)],
  // d|u|/du = u/|u| (undefined at 0, like the function's derivative itself).
  ["abs", unary((u) => div(u, call("abs", [u])), Math.abs)],
]);

/** Names the parser accepts, mapped to the canonical name (log is natural, asin = arcsin ...). */
export const FUNCTION_ALIASES: ReadonlyMap<string, string> = new Map([
  ["ln", "ln"],
  ["log", "ln"],
  ["sin", "sin"],
  ["cos", "cos"],
  ["tan", "tan"],
  ["cot", "cot"],
  ["sec", "sec"],
  ["csc", "csc"],
  ["asin", "asin"],
  ["acos", "acos"],
  ["atan", "atan"],
  ["arcsin", "asin"],
  ["arccos", "acos"],
  ["arctan", "atan"],
  ["sinh", "sinh"],
  ["cosh", "cosh"],
  ["tanh", "tanh"],
  ["abs", "abs"],
  // exp and sqrt are not nodes of their own: exp(u) = e^u, sqrt(u) = u^(1/2).
  ["exp", "exp"],
  ["sqrt", "sqrt"],
]);

/** Build a known function application by canonical or alias name. */
export function applyKnown(name: string, args: readonly Expr[]): Expr {
  const canonical = FUNCTION_ALIASES.get(name) ?? name;
  if (canonical === "exp") return pow(E, args[0]!);
  if (canonical === "sqrt") return pow(args[0]!, HALF);
  return call(canonical, args);
}
