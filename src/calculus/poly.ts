// Sparse multivariate polynomials with exact rational coefficients, over numbered "atoms" (the
// simplifier decides what an atom is: a symbol, sin(x), f_1, e^(x*y) ...). Just what the
// simplifier needs: add, multiply, integer powers, exact division, content.
import * as Q from "./rational.js";
import type { Rational } from "./rational.js";

/** Exponent of atom i at index i; no trailing zeros. */
export type Monomial = readonly number[];

export interface Term {
  readonly c: Rational;
  readonly m: Monomial;
}

/** Terms sorted by descending lex order of monomials, no zero coefficients. */
export type Poly = readonly Term[];

/** Raised when an expansion would get too large to be worth it; the simplifier then gives up on that form. */
export class TooLarge extends Error {}

export const MAX_TERMS = 400;

const trim = (m: number[]): number[] => {
  let n = m.length;
  while (n > 0 && m[n - 1] === 0) n--;
  m.length = n;
  return m;
};

export const monoKey = (m: Monomial): string => m.join(",");

/** Descending lex: positive when a comes first. */
export function compareMono(a: Monomial, b: Monomial): number {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

export function monoMul(a: Monomial, b: Monomial): number[] {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) out[i] = (a[i] ?? 0) + (b[i] ?? 0);
  return trim(out);
}

/** a / b when b divides a, else undefined. */
export function monoDiv(a: Monomial, b: Monomial): number[] | undefined {
  const out = [...a];
  for (let i = 0; i < b.length; i++) {
    const d = (a[i] ?? 0) - b[i]!;
    if (d < 0) return undefined;
    out[i] = d;
  }
  return trim(out);
}

function fromMap(map: Map<string, Term>): Poly {
  const terms = [...map.values()].filter((t) => !Q.isZero(t.c));
  if (terms.length > MAX_TERMS) throw new TooLarge();
  return terms.sort((a, b) => compareMono(b.m, a.m));
}

function accumulate(map: Map<string, Term>, c: Rational, m: Monomial): void {
  const k = monoKey(m);
  const t = map.get(k);
  map.set(k, { c: t ? Q.add(t.c, c) : c, m });
}

export const constant = (c: Rational): Poly => (Q.isZero(c) ? [] : [{ c, m: [] }]);

export function atom(index: number, exp = 1): Poly {
  const m = new Array<number>(index + 1).fill(0);
  m[index] = exp;
  return [{ c: Q.ONE, m }];
}

export function add(a: Poly, b: Poly): Poly {
  const map = new Map<string, Term>();
  for (const t of a) accumulate(map, t.c, t.m);
  for (const t of b) accumulate(map, t.c, t.m);
  return fromMap(map);
}

export function scale(a: Poly, c: Rational): Poly {
  if (Q.isZero(c)) return [];
  return a.map((t) => ({ c: Q.mul(t.c, c), m: t.m }));
}

export function mul(a: Poly, b: Poly): Poly {
  if (a.length * b.length > MAX_TERMS * 4) throw new TooLarge();
  const map = new Map<string, Term>();
  for (const s of a) for (const t of b) accumulate(map, Q.mul(s.c, t.c), monoMul(s.m, t.m));
  return fromMap(map);
}

export function power(a: Poly, n: number): Poly {
  let out: Poly = constant(Q.ONE);
  for (let i = 0; i < n; i++) out = mul(out, a);
  return out;
}

/** a / b when the division is exact, else undefined. */
export function divideExact(a: Poly, b: Poly): Poly | undefined {
  const lead = b[0];
  if (!lead) return undefined;
  let rem = a;
  const quotient = new Map<string, Term>();
  for (let steps = 0; rem.length > 0; steps++) {
    if (steps > 4 * MAX_TERMS) return undefined;
    const top = rem[0]!;
    const m = monoDiv(top.m, lead.m);
    if (!m) return undefined;
    const c = Q.div(top.c, lead.c);
    accumulate(quotient, c, m);
    rem = add(rem, scale(mul(b, [{ c, m }]), Q.MINUS_ONE));
  }
  return fromMap(quotient);
}

/** The gcd of the coefficients, signed so that the leading coefficient of a / content is positive. */
export function content(a: Poly): Rational {
  let g = a[0]!.c;
  for (const t of a) g = Q.gcdRational(g, t.c);
  g = Q.abs(g);
  return Q.isNegative(a[0]!.c) ? Q.neg(g) : g;
}

/** The largest monomial dividing every term. */
export function monomialContent(a: Poly): number[] {
  let g = [...a[0]!.m];
  for (const t of a) {
    g = g.map((e, i) => Math.min(e, t.m[i] ?? 0));
  }
  return trim(g);
}

export function divideMonomial(a: Poly, m: Monomial): Poly {
  return a.map((t) => ({ c: t.c, m: monoDiv(t.m, m)! }));
}

export function polyKey(a: Poly): string {
  return a.map((t) => `${t.c.num}/${t.c.den}:${monoKey(t.m)}`).join(";");
}

export const isConstant = (a: Poly): boolean => a.length === 1 && a[0]!.m.length === 0;
