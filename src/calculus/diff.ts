// Differentiation of one expression by one variable.
//
// Sums, products and powers have their node-local rules. Every function application — elementary
// (sin, ln ...) or abstract (f, F, phi ...) — goes through ONE generic multivariate chain rule:
//
//     d/dx f(u₁, …, uₙ) = Σᵢ ∂f/∂uᵢ (u₁, …, uₙ) · duᵢ/dx
//
// where ∂f/∂uᵢ comes from the table in functions.ts for elementary functions, and for an abstract
// function is the node f_i (its partial by argument slot i, evaluated at the same arguments).
// Because f_i is again an application of the same kind, higher derivatives (f_12, f_112 ...) fall
// out of the same rule.
//
// Variables other than x are either independent of x (derivative 0) or dependent: implicit
// unknowns z(x, y), whose derivative the caller supplies (see implicit.ts).
import { ProblemError } from "./errors.js";
import { add, call, fn, mul, ONE, pow, recip, sub, ZERO, type Expr } from "./expr.js";
import { ELEMENTARY } from "./functions.js";

/** The derivative of a dependent variable w.r.t. the variable being differentiated by, or undefined if independent. */
export type DependentDerivative = (name: string) => Expr | undefined;

const independent: DependentDerivative = () => undefined;

export function differentiate(e: Expr, x: string, dependent: DependentDerivative = independent): Expr {
  const memo = new Map<number, Expr>();
  const d = (u: Expr): Expr => {
    const seen = memo.get(u.id);
    if (seen) return seen;
    const out = rule(u);
    memo.set(u.id, out);
    return out;
  };

  const rule = (u: Expr): Expr => {
    switch (u.kind) {
      case "num":
      case "const":
        return ZERO;
      case "sym":
        return u.name === x ? ONE : (dependent(u.name) ?? ZERO);
      case "add":
        return add(...u.args.map(d));
      case "mul": {
        // Product rule: Σᵢ (Πⱼ≠ᵢ uⱼ) · duᵢ.
        const terms: Expr[] = [];
        u.args.forEach((factor, i) => {
          const df = d(factor);
          if (df !== ZERO) terms.push(mul(...u.args.filter((_, j) => j !== i), df));
        });
        return add(...terms);
      }
      case "pow": {
        const { base, exp } = u;
        const db = d(base);
        const de = d(exp);
        if (de === ZERO) return db === ZERO ? ZERO : mul(exp, pow(base, sub(exp, ONE)), db);
        if (db === ZERO) return mul(u, call("ln", [base]), de);
        // General case d(b^e) = b^e · (e' ln b + e b'/b).
        return mul(u, add(mul(de, call("ln", [base])), mul(exp, db, recip(base))));
      }
      case "call": {
        const table = ELEMENTARY.get(u.name);
        if (!table) throw new ProblemError(`no derivative rule for ${u.name}`);
        return chainRule(u.args, table.partials(u.args), d);
      }
      case "fn":
        return chainRule(
          u.args,
          u.args.map((_, i) => fn(u.name, u.args, [...u.slots, i + 1])),
          d,
        );
      case "partial":
        throw new ProblemError("a derivative symbol cannot be differentiated");
    }
  };
  return d(e);
}

/** Σᵢ ∂f/∂uᵢ · duᵢ/dx — skipping arguments that do not depend on x. */
function chainRule(args: readonly Expr[], partials: readonly Expr[], d: (u: Expr) => Expr): Expr {
  const terms: Expr[] = [];
  args.forEach((arg, i) => {
    const da = d(arg);
    if (da !== ZERO) terms.push(mul(partials[i]!, da));
  });
  return add(...terms);
}

/** Whether e depends on x, directly or through dependent variables. */
export function dependsOn(e: Expr, x: string, dependents: ReadonlySet<string> = new Set()): boolean {
  const memo = new Map<number, boolean>();
  const go = (u: Expr): boolean => {
    const seen = memo.get(u.id);
    if (seen !== undefined) return seen;
    let out: boolean;
    if (u.kind === "sym") out = u.name === x || dependents.has(u.name);
    else if (u.kind === "add" || u.kind === "mul" || u.kind === "call" || u.kind === "fn")
      out = u.args.some(go);
    else if (u.kind === "pow") out = go(u.base) || go(u.exp);
    else out = false;
    memo.set(u.id, out);
    return out;
  };
  return go(e);
}
