// The simplifier. Canonical construction (expr.ts) already folds numbers and merges like terms
// and powers; this file does what needs a global view:
//
//   1. together + cancel: the expression becomes coeff · Π Pᵢ^kᵢ, a product of integer powers of
//      polynomials over "atoms" (symbols, e, function applications, f_1, fractional powers).
//      Adding two such products pulls out their common factors first (like SymPy's gcd_terms),
//      expands only what is left, and then tries to divide the new sum by the denominator factors
//      (exact multivariate division), which is where cancellations like (x²−y²)/(x+y) happen.
//   2. collect: inside each sum, greedily pull out the atom shared by most terms
//      (f₁ + f₂·g₁ + f₂·g₂·v₁ → f₁ + f₂·(g₁ + g₂·v₁)).
//   3. choose: of the candidate forms (as given, together-expanded, together-collected), keep the
//      one with the fewest nodes — the same measure the SymPy comparison uses.
//
// Function arguments and fractional-power bases are simplified first, recursively. All rewrites
// hold for real values where the expression is defined (no ln(x²) → 2·ln(x) style rewrites).
import {
  add,
  call,
  children,
  compare,
  int,
  mul,
  nodeCount,
  num,
  ONE,
  pow,
  rebuild,
  splitCoefficient,
  type Expr,
} from "./expr.js";
import * as P from "./poly.js";
import type { Poly } from "./poly.js";
import * as Q from "./rational.js";
import type { Rational } from "./rational.js";

interface Factor {
  readonly poly: Poly;
  readonly exp: number;
}

/** coeff · Π factor.poly^factor.exp, factors keyed by polynomial; every poly is primitive with a positive leading coefficient. */
interface Factored {
  readonly coeff: Rational;
  readonly factors: ReadonlyMap<string, Factor>;
}

const ZERO_F: Factored = { coeff: Q.ZERO, factors: new Map() };

// Simplification is a pure function of an interned node, so results can be cached by id.
const cache = new Map<number, Expr>();
const CACHE_LIMIT = 200_000;

/** Forget cached results (benchmarks use this so every problem is timed from scratch). */
export function clearSimplifyCache(): void {
  cache.clear();
}

export function simplify(e: Expr): Expr {
  const seen = cache.get(e.id);
  if (seen) return seen;
  const out = simplifyUncached(e);
  if (cache.size > CACHE_LIMIT) cache.clear();
  cache.set(e.id, out);
  cache.set(out.id, out);
  return out;
}

function simplifyUncached(e: Expr): Expr {
  if (e.kind === "num" || e.kind === "sym" || e.kind === "const" || e.kind === "partial") return e;
  const ctx = new Context();
  let factored: Factored;
  try {
    factored = ctx.toFactored(e);
  } catch (err) {
    if (err instanceof P.TooLarge) return simplifyInside(e);
    throw err;
  }
  factored = cancelFactors(factored);
  const candidates = [ctx.fromFactored(factored, true), ctx.fromFactored(factored, false), simplifyInside(e)];
  let best = candidates[0]!;
  let bestCount = nodeCount(best);
  for (const c of candidates.slice(1)) {
    const n = nodeCount(c);
    if (n < bestCount) {
      best = c;
      bestCount = n;
    }
  }
  return best;
}

/** Simplify only the children (used when the global forms get too large). */
function simplifyInside(e: Expr): Expr {
  const kids = children(e);
  if (kids.length === 0) return e;
  const next = kids.map(simplify);
  return next.every((k, i) => k === kids[i]) ? e : rebuild(e, next);
}

class Context {
  private readonly atoms: Expr[] = [];
  private readonly atomIndex = new Map<number, number>();

  // ---- Expr → Factored ---------------------------------------------------------------------

  toFactored(e: Expr): Factored {
    switch (e.kind) {
      case "num":
        return { coeff: e.value, factors: new Map() };
      case "add":
        return e.args.map((t) => this.toFactored(t)).reduce((a, b) => this.addF(a, b));
      case "mul":
        return e.args.map((f) => this.toFactored(f)).reduce(mulF);
      case "pow": {
        const { base, exp } = e;
        if (exp.kind === "num") {
          const v = exp.value;
          if (Q.isInteger(v)) return powF(this.toFactored(base), Number(v.num));
          // x^(5/2) = x^2 · x^(1/2): the integer part can cancel, the fractional part is an atom.
          const whole = v.num >= 0n ? v.num / v.den : -((-v.num + v.den - 1n) / v.den);
          const rest = Q.sub(v, Q.rat(whole));
          return mulF(
            powF(this.toFactored(base), Number(whole)),
            this.atomic(pow(simplify(base), num(rest))),
          );
        }
        // b^(u + c) = b^u · b^c, so the numeric part of an exponent can meet other powers of b.
        const last = exp.kind === "add" ? exp.args[exp.args.length - 1]! : undefined;
        if (exp.kind === "add" && last?.kind === "num") {
          const symbolic = add(...exp.args.slice(0, -1));
          return mulF(this.atomic(pow(base, symbolic)), this.toFactored(pow(base, last)));
        }
        return this.atomic(e);
      }
      default:
        return this.atomic(e);
    }
  }

  /** An atom: its insides simplified, then numbered. */
  private atomic(e: Expr): Factored {
    const inner = simplifyInside(e);
    const isAtom =
      inner.kind === "sym" ||
      inner.kind === "const" ||
      inner.kind === "call" ||
      inner.kind === "fn" ||
      inner.kind === "partial" ||
      (inner.kind === "pow" && !(inner.exp.kind === "num" && Q.isInteger(inner.exp.value)));
    if (!isAtom) return this.toFactored(inner);
    let index = this.atomIndex.get(inner.id);
    if (index === undefined) {
      index = this.atoms.length;
      this.atoms.push(inner);
      this.atomIndex.set(inner.id, index);
    }
    return single(P.atom(index), 1, Q.ONE);
  }

  /** a + b: pull out common factors, expand the rest, then normalize and cancel the new sum. */
  private addF(a: Factored, b: Factored): Factored {
    if (Q.isZero(a.coeff)) return b;
    if (Q.isZero(b.coeff)) return a;
    const common = new Map<string, Factor>();
    for (const [k, fa] of a.factors) {
      const fb = b.factors.get(k);
      const e = Math.min(fa.exp, fb?.exp ?? 0);
      if (e !== 0) common.set(k, { poly: fa.poly, exp: e });
    }
    for (const [k, fb] of b.factors) {
      if (a.factors.has(k)) continue;
      if (fb.exp < 0) common.set(k, { poly: fb.poly, exp: fb.exp });
    }
    const sum = P.add(expandOver(a, common), expandOver(b, common));
    if (sum.length === 0) return ZERO_F;
    return this.withSum({ coeff: Q.ONE, factors: common }, sum);
  }

  /** g · s for a freshly added polynomial s: take out its content and monomial part, cancel, store. */
  private withSum(g: Factored, sum: Poly): Factored {
    const s = this.pythagoras(sum);
    if (s.length === 0) return ZERO_F;
    const c = P.content(s);
    let rest = P.scale(s, Q.div(Q.ONE, c));
    const mono = P.monomialContent(rest);
    rest = P.divideMonomial(rest, mono);
    let out = mulF(g, { coeff: c, factors: new Map() });
    mono.forEach((e, i) => {
      if (e > 0) out = mulF(out, single(P.atom(i), e, Q.ONE));
    });
    if (P.isConstant(rest)) return out;
    // Cancel against the denominator factors.
    const factors = new Map(out.factors);
    for (const [k, f] of factors) {
      if (f.exp >= 0 || f.poly.length < 2) continue;
      let exp = f.exp;
      while (exp < 0) {
        const q = P.divideExact(rest, f.poly);
        if (!q) break;
        rest = q;
        exp++;
      }
      if (exp === 0) factors.delete(k);
      else factors.set(k, { poly: f.poly, exp });
      if (P.isConstant(rest)) break;
    }
    out = { coeff: out.coeff, factors };
    if (P.isConstant(rest)) return mulF(out, { coeff: rest[0]!.c, factors: new Map() });
    return mulF(out, polyFactor(rest));
  }

  /**
   * sin² + cos² = 1 and cosh² − sinh² = 1: rewrite the square of one function of a pair in terms of
   * the other (both ways) and keep whichever polynomial has the fewest terms.
   */
  private pythagoras(poly: Poly): Poly {
    let best = poly;
    const present = new Set<number>();
    for (const t of poly) t.m.forEach((e, i) => e > 0 && present.add(i));
    for (const i of present) {
      const a = this.atoms[i]!;
      if (a.kind !== "call" || !(a.name in PARTNER)) continue;
      const [partnerName, sign, constant] = PARTNER[a.name]!;
      const j = this.atomIndex.get(call(partnerName, a.args).id);
      if (j === undefined || !present.has(j)) continue;
      // a² = constant + sign · partner²
      const square = P.add(P.constant(Q.rat(constant)), P.scale(P.atom(j, 2), Q.rat(sign)));
      let current = poly;
      for (let guard = 0; guard < 20 && current.some((t) => (t.m[i] ?? 0) >= 2); guard++) {
        let next: Poly = [];
        for (const t of current) {
          const k = t.m[i] ?? 0;
          if (k < 2) next = P.add(next, [t]);
          else {
            const m = [...t.m];
            m[i] = k - 2;
            next = P.add(next, P.mul([{ c: t.c, m: trimmed(m) }], square));
          }
        }
        current = next;
      }
      if (current.length < best.length) best = current;
    }
    return best;
  }

  // ---- Factored → Expr ---------------------------------------------------------------------

  /** Build the expression; `collect` pulls shared atoms out of sums when that is not longer. */
  fromFactored(f: Factored, collect: boolean): Expr {
    if (Q.isZero(f.coeff)) return int(0);
    const parts: Expr[] = [];
    const oddSums: { expr: Expr; exp: number; negated: Expr }[] = [];
    for (const { poly, exp } of f.factors.values()) {
      const base = this.polyExpr(poly, collect);
      if (poly.length > 1 && exp > 0 && exp % 2 === 1)
        oddSums.push({ expr: base, exp, negated: this.polyExpr(P.scale(poly, Q.MINUS_ONE), collect) });
      parts.push(pow(base, int(exp)));
    }
    const plain = mul(num(f.coeff), ...parts);
    if (!Q.isNegative(f.coeff) || oddSums.length === 0) return plain;
    // −(x − y)·… is one node longer than (y − x)·…: move the sign into a numerator sum when shorter.
    let best = plain;
    for (const s of oddSums) {
      const flipped = mul(
        num(Q.neg(f.coeff)),
        ...parts.map((p) => (p === pow(s.expr, int(s.exp)) ? pow(s.negated, int(s.exp)) : p)),
      );
      if (nodeCount(flipped) < nodeCount(best)) best = flipped;
    }
    return best;
  }

  private termExpr(t: P.Term): Expr {
    return mul(num(t.c), ...t.m.map((e, i) => (e === 0 ? ONE : pow(this.atoms[i]!, int(e)))));
  }

  private polyExpr(poly: Poly, collect: boolean): Expr {
    const expanded = add(...poly.map((t) => this.termExpr(t)));
    if (!collect || poly.length < 3) return expanded;
    const collected = this.collect(poly);
    return nodeCount(collected) <= nodeCount(expanded) ? collected : expanded;
  }

  /** Greedy factoring: pull out the atom that most terms share, recursively. */
  private collect(terms: Poly): Expr {
    if (terms.length < 2) return add(...terms.map((t) => this.termExpr(t)));
    let bestAtom = -1;
    let bestScore = 1;
    const width = Math.max(...terms.map((t) => t.m.length));
    for (let i = 0; i < width; i++) {
      const count = terms.filter((t) => (t.m[i] ?? 0) > 0).length;
      if (count < 2) continue;
      const score = count * nodeCount(this.atoms[i]!);
      // Ties go to the structurally first atom, so equal inputs collect the same way.
      const tie = score === bestScore && bestAtom >= 0 && compare(this.atoms[i]!, this.atoms[bestAtom]!) < 0;
      if (score > bestScore || tie) {
        bestScore = score;
        bestAtom = i;
      }
    }
    if (bestAtom < 0) return add(...terms.map((t) => this.termExpr(t)));
    const having = terms.filter((t) => (t.m[bestAtom] ?? 0) > 0);
    const others = terms.filter((t) => (t.m[bestAtom] ?? 0) === 0);
    const e = Math.min(...having.map((t) => t.m[bestAtom]!));
    const unit = new Array<number>(bestAtom + 1).fill(0);
    unit[bestAtom] = e;
    const inner = P.divideMonomial(having, unit);
    // A shared numeric factor of the inner sum stays outside: 2*x*(a + b), not x*(2*a + 2*b).
    const c = P.content(inner);
    const innerExpr = this.collect(P.scale(inner, Q.div(Q.ONE, c)));
    const pulled = mul(num(c), pow(this.atoms[bestAtom]!, int(e)), innerExpr);
    return add(pulled, this.collect(others));
  }
}

/** Divide numerator sums by denominator sums where that is exact: (x² − y²)/(x + y) → x − y. */
function cancelFactors(f: Factored): Factored {
  const factors = new Map(f.factors);
  let coeff = f.coeff;
  for (const [kTop, top] of [...factors]) {
    if (top.exp <= 0 || top.poly.length < 2) continue;
    let poly = top.poly;
    let exp = top.exp;
    for (const [kBottom, bottom] of [...factors]) {
      if (bottom.exp >= 0 || bottom.poly.length < 2 || exp !== 1) continue;
      let bottomExp = bottom.exp;
      while (bottomExp < 0) {
        const q = P.divideExact(poly, bottom.poly);
        if (!q) break;
        poly = q;
        bottomExp++;
      }
      if (bottomExp === bottom.exp) continue;
      if (bottomExp === 0) factors.delete(kBottom);
      else factors.set(kBottom, { poly: bottom.poly, exp: bottomExp });
    }
    if (poly === top.poly) continue;
    factors.delete(kTop);
    // The quotient may carry a constant: keep the stored polynomial primitive.
    const c = P.content(poly);
    coeff = Q.mul(coeff, c);
    poly = P.scale(poly, Q.div(Q.ONE, c));
    if (!P.isConstant(poly)) {
      const k = P.polyKey(poly);
      factors.set(k, { poly, exp: exp + (factors.get(k)?.exp ?? 0) });
    }
    exp = 0;
  }
  // And the other way round: a denominator sum that a numerator sum divides.
  for (const [kTop, top] of [...factors]) {
    if (top.exp !== 1 || top.poly.length < 2) continue;
    for (const [kBottom, bottom] of [...factors]) {
      if (bottom.exp !== -1 || bottom.poly.length < 2 || !factors.has(kTop)) continue;
      const q = P.divideExact(bottom.poly, top.poly);
      if (!q) continue;
      factors.delete(kTop);
      factors.delete(kBottom);
      const c = P.content(q);
      coeff = Q.div(coeff, c);
      const rest = P.scale(q, Q.div(Q.ONE, c));
      if (!P.isConstant(rest)) {
        const k = P.polyKey(rest);
        const e = (factors.get(k)?.exp ?? 0) - 1;
        if (e === 0) factors.delete(k);
        else factors.set(k, { poly: rest, exp: e });
      }
    }
  }
  return { coeff, factors };
}

/** For a² of the key: [partner, sign, constant] with a² = constant + sign·partner². */
const PARTNER: Record<string, [string, number, number]> = {
  sin: ["cos", -1, 1],
  cos: ["sin", -1, 1],
  cosh: ["sinh", 1, 1],
  sinh: ["cosh", 1, -1],
};

function trimmed(m: number[]): number[] {
  let n = m.length;
  while (n > 0 && m[n - 1] === 0) n--;
  return m.slice(0, n);
}

// ---- Factored arithmetic ---------------------------------------------------------------------

function single(poly: Poly, exp: number, coeff: Rational): Factored {
  return { coeff, factors: new Map([[P.polyKey(poly), { poly, exp }]]) };
}

/** A primitive polynomial as a factor (its content and monomial part already taken out). */
function polyFactor(poly: Poly): Factored {
  return single(poly, 1, Q.ONE);
}

function mulF(a: Factored, b: Factored): Factored {
  const coeff = Q.mul(a.coeff, b.coeff);
  if (Q.isZero(coeff)) return ZERO_F;
  const factors = new Map(a.factors);
  for (const [k, f] of b.factors) {
    const e = (factors.get(k)?.exp ?? 0) + f.exp;
    if (e === 0) factors.delete(k);
    else factors.set(k, { poly: f.poly, exp: e });
  }
  return { coeff, factors };
}

function powF(a: Factored, n: number): Factored {
  if (n === 0) return { coeff: Q.ONE, factors: new Map() };
  if (Q.isZero(a.coeff) && n < 0) return ZERO_F; // cannot happen for canonical input (0^-1 throws)
  const factors = new Map<string, Factor>();
  for (const [k, f] of a.factors) factors.set(k, { poly: f.poly, exp: f.exp * n });
  return { coeff: Q.powInt(a.coeff, BigInt(n)), factors };
}

/** a / common, multiplied out into one polynomial (every remaining exponent is ≥ 0). */
function expandOver(a: Factored, common: ReadonlyMap<string, Factor>): Poly {
  let out: Poly = P.constant(a.coeff);
  for (const [k, f] of a.factors) {
    const e = f.exp - (common.get(k)?.exp ?? 0);
    if (e > 0) out = P.mul(out, P.power(f.poly, e));
  }
  for (const [k, g] of common) {
    if (!a.factors.has(k) && g.exp < 0) out = P.mul(out, P.power(g.poly, -g.exp));
  }
  return out;
}

/** Split a numeric coefficient off a term — exported for printers and tests. */
export const coefficientOf = (e: Expr): Rational => splitCoefficient(e)[0];
