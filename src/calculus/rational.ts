// Exact rational numbers on BigInt. Coefficients stay exact (1/3 never becomes 0.333...), so
// canonical forms are reliable: x/3 + x/3 + x/3 really is x.

export interface Rational {
  readonly num: bigint; // carries the sign
  readonly den: bigint; // always > 0, gcd(num, den) = 1
}

function gcd(a: bigint, b: bigint): bigint {
  if (a < 0n) a = -a;
  if (b < 0n) b = -b;
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

export function rat(num: bigint | number, den: bigint | number = 1n): Rational {
  let n = BigInt(num);
  let d = BigInt(den);
  if (d === 0n) throw new RangeError("rational with zero denominator");
  if (d < 0n) {
    n = -n;
    d = -d;
  }
  const g = gcd(n, d);
  return g > 1n ? { num: n / g, den: d / g } : { num: n, den: d };
}

export const ZERO = rat(0);
export const ONE = rat(1);
export const MINUS_ONE = rat(-1);

export const isZero = (a: Rational): boolean => a.num === 0n;
export const isOne = (a: Rational): boolean => a.num === 1n && a.den === 1n;
export const isInteger = (a: Rational): boolean => a.den === 1n;
export const isNegative = (a: Rational): boolean => a.num < 0n;
export const equals = (a: Rational, b: Rational): boolean => a.num === b.num && a.den === b.den;

export const add = (a: Rational, b: Rational): Rational => rat(a.num * b.den + b.num * a.den, a.den * b.den);
export const sub = (a: Rational, b: Rational): Rational => rat(a.num * b.den - b.num * a.den, a.den * b.den);
export const mul = (a: Rational, b: Rational): Rational => rat(a.num * b.num, a.den * b.den);
export const neg = (a: Rational): Rational => ({ num: -a.num, den: a.den });
export const abs = (a: Rational): Rational => (a.num < 0n ? neg(a) : a);

export function div(a: Rational, b: Rational): Rational {
  if (b.num === 0n) throw new RangeError("rational division by zero");
  return rat(a.num * b.den, a.den * b.num);
}

export function compare(a: Rational, b: Rational): number {
  const l = a.num * b.den;
  const r = b.num * a.den;
  return l < r ? -1 : l > r ? 1 : 0;
}

/** a^n for an integer n (negative allowed when a ≠ 0). */
export function powInt(a: Rational, n: bigint): Rational {
  if (n < 0n) return div(ONE, powInt(a, -n));
  let result = ONE;
  let base = a;
  let e = n;
  while (e > 0n) {
    if (e & 1n) result = mul(result, base);
    base = mul(base, base);
    e >>= 1n;
  }
  return result;
}

/** The exact q-th root of a non-negative integer, or undefined when it is not a perfect power. */
export function exactRoot(a: bigint, q: bigint): bigint | undefined {
  if (a < 0n) return undefined;
  if (a < 2n) return a;
  const guess = BigInt(Math.round(Math.pow(Number(a), 1 / Number(q))));
  for (const c of [guess - 1n, guess, guess + 1n]) if (c >= 0n && c ** q === a) return c;
  return undefined;
}

/** Greatest common divisor of two rationals: gcd of numerators over lcm of denominators. */
export function gcdRational(a: Rational, b: Rational): Rational {
  const g = gcd(a.num, b.num);
  const l = (a.den / gcd(a.den, b.den)) * b.den;
  return g === 0n ? ONE : rat(g, l);
}

export const toNumber = (a: Rational): number => Number(a.num) / Number(a.den);

export function toString(a: Rational): string {
  return a.den === 1n ? a.num.toString() : `${a.num}/${a.den}`;
}

/** Parse a decimal literal such as "0.25" or "1e-3" exactly. */
export function fromDecimal(text: string): Rational {
  const m = /^(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text);
  if (!m) throw new RangeError(`not a decimal number: ${text}`);
  const intPart = m[1] ?? "";
  const fracPart = m[2] ?? "";
  const exp = Number(m[3] ?? "0");
  let r = rat(BigInt(intPart + fracPart || "0"), 10n ** BigInt(fracPart.length));
  if (exp !== 0) r = mul(r, powInt(rat(10), BigInt(exp)));
  return r;
}
