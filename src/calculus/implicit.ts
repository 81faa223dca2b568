// Implicit functions. Equations F₁ = 0, …, Fₘ = 0 determine unknowns y₁, …, yₘ as functions of the
// independent variables. Differentiating every equation by x (each yⱼ depending on x) gives a
// linear system for the derivatives:
//
//     Σⱼ ∂Fₖ/∂yⱼ · ∂yⱼ/∂x = −∂Fₖ/∂x        k = 1 … m
//
// whose matrix, the Jacobian J = ∂(F₁…Fₘ)/∂(y₁…yₘ), is the same for every x. It is solved by
// Cramer's rule (∂yⱼ/∂x = det Jⱼ / det J, Jⱼ = J with column j replaced by the right side): for
// one equation that is the familiar ∂z/∂x = −F_x / F_z. The partials ∂F/∂yⱼ and ∂F/∂x treat all
// other symbols as constants.
import { MathError, ProblemError } from "./errors.js";
import { add, mul, neg, recip, ZERO, type Expr } from "./expr.js";
import { differentiate } from "./diff.js";
import { simplify } from "./simplify.js";

export interface ImplicitSystem {
  readonly residuals: readonly Expr[];
  readonly unknowns: readonly string[];
  /** jacobian[k][j] = ∂F_k/∂y_j, simplified. */
  readonly jacobian: readonly (readonly Expr[])[];
  readonly determinant: Expr;
}

export interface FirstOrder {
  /** ∂F_k/∂x for each equation. */
  readonly partials: readonly Expr[];
  /** ∂y_j/∂x for each unknown, simplified. */
  readonly derivatives: ReadonlyMap<string, Expr>;
}

const MAX_EQUATIONS = 6;

export function implicitSystem(residuals: readonly Expr[], unknowns: readonly string[]): ImplicitSystem {
  if (residuals.length > MAX_EQUATIONS)
    throw new ProblemError(
      `at most ${MAX_EQUATIONS} simultaneous equations are supported, got ${residuals.length}`,
    );
  const jacobian = residuals.map((F) => unknowns.map((y) => simplify(differentiate(F, y))));
  const determinant = simplify(det(jacobian));
  if (determinant === ZERO)
    throw new MathError(
      unknowns.length === 1
        ? `the equation does not determine ${unknowns[0]}: its derivative by ${unknowns[0]} is zero`
        : `the equations do not determine ${unknowns.join(", ")}: their Jacobian determinant is zero`,
    );
  return { residuals, unknowns, jacobian, determinant };
}

/** First derivatives of all unknowns by x. */
export function solveFirstOrder(system: ImplicitSystem, x: string): FirstOrder {
  const partials = system.residuals.map((F) => simplify(differentiate(F, x)));
  const rhs = partials.map(neg);
  const derivatives = new Map<string, Expr>();
  system.unknowns.forEach((y, j) => {
    const replaced = system.jacobian.map((row, k) => row.map((entry, col) => (col === j ? rhs[k]! : entry)));
    derivatives.set(y, simplify(mul(det(replaced), recip(system.determinant))));
  });
  return { partials, derivatives };
}

/** Determinant by cofactor expansion along the first row (m ≤ 6, entries symbolic). */
export function det(m: readonly (readonly Expr[])[]): Expr {
  const n = m.length;
  if (n === 0) return ZERO;
  if (n === 1) return m[0]![0]!;
  if (n === 2) return add(mul(m[0]![0]!, m[1]![1]!), neg(mul(m[0]![1]!, m[1]![0]!)));
  const terms: Expr[] = [];
  for (let j = 0; j < n; j++) {
    const a = m[0]![j]!;
    if (a === ZERO) continue;
    const minor = m.slice(1).map((row) => row.filter((_, c) => c !== j));
    const t = mul(a, det(minor));
    terms.push(j % 2 === 0 ? t : neg(t));
  }
  return add(...terms);
}
