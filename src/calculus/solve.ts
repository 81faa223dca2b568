// The engine: derivatives of the problem's targets, any order, through the dependency graph and
// the implicit equations.
//
// A target is reduced to one expression in the independent variables and the implicit unknowns
// (definitions substituted, see problem.ts). Differentiating it by x then needs only the first
// derivatives of the unknowns by x, which come from the linear system in implicit.ts. Higher
// orders differentiate the previous (simplified) result again: any unknown z it contains is
// differentiated as z(x, y), i.e. replaced by the first derivative again — the textbook way to
// get ∂²z/∂x² of an implicit function. d2z/dxdy = ∂/∂x (∂z/∂y): variables apply right to left.
import { differentiate, type DependentDerivative } from "./diff.js";
import { sym, type Expr } from "./expr.js";
import { implicitSystem, solveFirstOrder, type FirstOrder, type ImplicitSystem } from "./implicit.js";
import type { Problem } from "./problem.js";
import { simplify } from "./simplify.js";

export class Solver {
  private system: ImplicitSystem | undefined;
  private readonly firstOrders = new Map<string, FirstOrder>();
  private readonly memo = new Map<string, Expr>();
  readonly unknowns: ReadonlySet<string>;
  private readonly expanded: ReadonlyMap<string, Expr>;

  constructor(readonly problem: Problem) {
    this.unknowns = new Set(problem.unknowns);
    this.expanded = new Map(problem.definitions.map((d) => [d.name, d.expanded]));
  }

  /** The implicit system (Jacobian and its determinant), built on first use. */
  implicit(): ImplicitSystem {
    this.system ??= implicitSystem(
      this.problem.equations.map((e) => e.residual),
      this.problem.unknowns,
    );
    return this.system;
  }

  /** ∂F/∂x and ∂y/∂x for every unknown y. */
  firstOrder(x: string): FirstOrder {
    let f = this.firstOrders.get(x);
    if (!f) {
      f = solveFirstOrder(this.implicit(), x);
      this.firstOrders.set(x, f);
    }
    return f;
  }

  /** How unknowns change with x while differentiating by x. */
  dependentDerivative(x: string): DependentDerivative {
    if (this.unknowns.size === 0) return () => undefined;
    return (name) => (this.unknowns.has(name) ? this.firstOrder(x).derivatives.get(name) : undefined);
  }

  /** The target as one expression in independents and unknowns. */
  base(target: string): Expr {
    return this.expanded.get(target) ?? sym(target);
  }

  /** ∂ⁿ target / ∂vars[0] … ∂vars[n-1], simplified; the last variable is applied first. */
  derivative(target: string, vars: readonly string[]): Expr {
    if (vars.length === 0) return this.base(target);
    const key = `${target}|${vars.join(",")}`;
    const seen = this.memo.get(key);
    if (seen) return seen;
    const inner = this.derivative(target, vars.slice(1));
    const x = vars[0]!;
    const out = simplify(differentiate(inner, x, this.dependentDerivative(x)));
    this.memo.set(key, out);
    return out;
  }

  /** The unsimplified result of one more differentiation (for the steps). */
  rawDerivative(target: string, vars: readonly string[]): Expr {
    const inner = this.derivative(target, vars.slice(1));
    return differentiate(inner, vars[0]!, this.dependentDerivative(vars[0]!));
  }
}
