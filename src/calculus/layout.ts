// Shared by the three printers: how a product is laid out as a signed fraction. A product is stored
// as c * Π factor^k; for display, factors with negative numeric exponents go below the bar, and
// the rational coefficient splits into its numerator and denominator.
import { pow, type Expr, num } from "./expr.js";
import * as Q from "./rational.js";

export interface Fraction {
  readonly negative: boolean;
  /** |numerator of the coefficient|; 1 is not shown. */
  readonly numCoeff: bigint;
  readonly denCoeff: bigint;
  readonly numerator: Expr[];
  readonly denominator: Expr[];
}

/** Lay out a product (or a single factor) as a fraction. */
export function fraction(e: Expr): Fraction {
  const factors = e.kind === "mul" ? e.args : [e];
  let coeff = Q.ONE;
  const numerator: Expr[] = [];
  const denominator: Expr[] = [];
  for (const f of factors) {
    if (f.kind === "num") coeff = Q.mul(coeff, f.value);
    else if (f.kind === "pow" && f.exp.kind === "num" && Q.isNegative(f.exp.value))
      denominator.push(pow(f.base, num(Q.neg(f.exp.value))));
    else numerator.push(f);
  }
  return {
    negative: Q.isNegative(coeff),
    numCoeff: coeff.num < 0n ? -coeff.num : coeff.num,
    denCoeff: coeff.den,
    numerator,
    denominator,
  };
}

/** Whether a term of a sum is shown with a leading minus (so the sum prints "a - b"). */
export function isNegativeTerm(e: Expr): boolean {
  if (e.kind === "num") return Q.isNegative(e.value);
  const first = e.kind === "mul" ? e.args[0] : undefined;
  return first?.kind === "num" && Q.isNegative(first.value);
}

/** Terms of a sum in display order: a positive term first when there is one (y - x, not -x + y). */
export function displayTerms(terms: readonly Expr[]): readonly Expr[] {
  if (terms.length < 2 || !isNegativeTerm(terms[0]!)) return terms;
  const i = terms.findIndex((t) => !isNegativeTerm(t));
  if (i < 0) return terms;
  return [terms[i]!, ...terms.slice(0, i), ...terms.slice(i + 1)];
}

/** Names of abstract functions that occur with more than one argument tuple: printing f_1 alone would be ambiguous. */
export function ambiguousFunctions(exprs: readonly Expr[]): Set<string> {
  const tuples = new Map<string, Set<string>>();
  const seen = new Set<number>();
  const go = (x: Expr): void => {
    if (seen.has(x.id)) return;
    seen.add(x.id);
    if (x.kind === "fn") {
      const key = x.args.map((a) => a.id).join(",");
      const s = tuples.get(x.name) ?? new Set<string>();
      s.add(key);
      tuples.set(x.name, s);
    }
    const kids = x.kind === "add" || x.kind === "mul" || x.kind === "call" || x.kind === "fn" ? x.args : [];
    for (const k of x.kind === "pow" ? [x.base, x.exp] : kids) go(k);
  };
  for (const e of exprs) go(e);
  return new Set([...tuples].filter(([, s]) => s.size > 1).map(([name]) => name));
}

export interface PrintOptions {
  /** Abstract functions to print with their arguments, f_1(x, y), because f_1 alone is ambiguous. */
  readonly withArguments?: ReadonlySet<string>;
}
