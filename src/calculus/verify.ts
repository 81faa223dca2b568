// Numeric proof of symbolic answers.
//
// Abstract functions get concrete, smooth stand-ins with random (seeded) coefficients, e.g.
//     f(a, b) = sin(0.6a + 1.1b + 0.3) + exp((0.4a + 0.9b)/3) + 0.5a − 0.2b.
// The "true" derivative is then computed without any symbolic differentiation of the problem:
// the composed function is evaluated numerically (definitions in order; implicit unknowns by
// Newton's method on the equations) and differentiated by nested central differences with
// Richardson extrapolation. The symbolic answer is evaluated at the same point with f_1, f_12 …
// replaced by the stand-in's partials. The report gives the largest relative error,
// |symbolic − numeric| / max(1, |numeric|).
//
// Implicit problems: the equations with stand-ins rarely pass through a chosen point, so each
// equation F = 0 is checked as F = F(point) — the same level-set family with the same partial
// derivatives, hence the same derivative formulas — unless a true solution is found or given.
import { differentiate } from "./diff.js";
import { EvaluationError, MathError } from "./errors.js";
import { add, call, E, mul, num, pow, substitute, sym, transform, type Expr } from "./expr.js";
import { evaluate, type FunctionValues } from "./evaluate.js";
import type { FindSpec, Problem } from "./problem.js";
import { rat } from "./rational.js";
import { toAscii } from "./print-ascii.js";

export interface VerifyOptions {
  /** Values of (some) variables; the rest are chosen at random. */
  readonly point?: Readonly<Record<string, number>>;
  /** Number of random points (default 3; with `point` given, just that one). */
  readonly points?: number;
  readonly seed?: number;
}

export interface VerifyCheck {
  readonly find: string;
  readonly point: Readonly<Record<string, number>>;
  readonly symbolic: number;
  readonly numeric: number;
  readonly relError: number;
}

export interface VerifyReport {
  readonly maxRelError: number;
  readonly checks: readonly VerifyCheck[];
  /** The concrete stand-ins used for abstract functions, in answer syntax. */
  readonly standIns: Readonly<Record<string, string>>;
  /** Whether some equation was checked as F = F(point) (see above). */
  readonly shifted: boolean;
}

export interface VerifiedAnswer {
  readonly find: FindSpec;
  readonly expr: Expr;
}

/** A small seeded PRNG (mulberry32), so verification is reproducible. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const param = (i: number): string => `#${i + 1}`;

/** A smooth concrete function of n arguments with all partials (mixed too) nonzero in general. */
function standIn(arity: number, rnd: () => number): Expr {
  const coef = (lo: number, hi: number): Expr => num(rat(Math.round((lo + (hi - lo) * rnd()) * 16), 16));
  const linear = (lo: number, hi: number): Expr =>
    add(...Array.from({ length: arity }, (_, i) => mul(coef(lo, hi), sym(param(i)))));
  return add(
    call("sin", [add(linear(0.3, 1.2), coef(0, 1))]),
    pow(E, mul(num(rat(1, 3)), linear(0.2, 1))),
    linear(-0.6, 0.6),
  );
}

export function verify(
  problem: Problem,
  answers: readonly VerifiedAnswer[],
  options: VerifyOptions = {},
): VerifyReport {
  const rnd = random(options.seed ?? 12345);
  const standIns = new Map<string, Expr>();
  for (const [name, arity] of problem.functions) standIns.set(name, standIn(arity, rnd));
  const partialCache = new Map<string, Expr>();
  const functions: FunctionValues = (name, slots, args) => {
    const key = `${name}|${slots.join(",")}`;
    let e = partialCache.get(key);
    if (!e) {
      e = standIns.get(name);
      if (!e) throw new EvaluationError(`no stand-in for '${name}'`);
      for (const s of slots) e = differentiate(e, param(s - 1));
      partialCache.set(key, e);
    }
    return evaluate(e, new Map(args.map((a, i) => [param(i), a])), undefined);
  };
  // The problem with stand-ins substituted for the abstract functions.
  const concrete = (e: Expr): Expr =>
    transform(e, (x) => {
      if (x.kind !== "fn" || x.slots.length > 0) return undefined;
      const body = standIns.get(x.name)!;
      return substitute(body, new Map(x.args.map((a, i) => [param(i), concrete(a)])));
    });
  const bases = new Map<string, Expr>();
  for (const d of problem.definitions) bases.set(d.name, concrete(d.expanded));
  const residuals = problem.equations.map((e) => concrete(e.residual));
  const unknowns = problem.unknowns;

  const checks: VerifyCheck[] = [];
  let shifted = false;
  const count = options.point ? 1 : (options.points ?? 3);
  for (let p = 0; p < count; p++) {
    // A random point can fall outside the domain (asin(1.2)) or near a singular Jacobian where
    // Newton fails: then try another one. A point the user gave is checked as it is.
    for (let attempt = 0; ; attempt++) {
      const base = choosePoint(problem, residuals, options.point, rnd, p + attempt);
      let pointChecks: VerifyCheck[] | undefined;
      try {
        pointChecks = checkAt(base);
      } catch (err) {
        if (options.point || !(err instanceof MathError || err instanceof EvaluationError)) throw err;
      }
      const ok = pointChecks?.every((c) => Number.isFinite(c.symbolic) && Number.isFinite(c.numeric));
      if (pointChecks && (ok || options.point)) {
        checks.push(...pointChecks);
        if (base.shifts.some((s) => s !== 0)) shifted = true;
        break;
      }
      if (attempt >= 12) throw new EvaluationError("could not find a point where the answers are defined");
    }
  }

  function checkAt(base: BasePoint): VerifyCheck[] {
    const solve = (values: Map<string, number>): Map<string, number> => {
      if (unknowns.length === 0) return values;
      const start = unknowns.map((u) => base.values.get(u)!);
      const y = newton((ys) => {
        const at = new Map(values);
        unknowns.forEach((u, i) => at.set(u, ys[i]!));
        return residuals.map((r, k) => evaluate(r, at) - base.shifts[k]!);
      }, start);
      if (!y) throw new MathError("Newton's method did not converge near the point");
      const out = new Map(values);
      unknowns.forEach((u, i) => out.set(u, y[i]!));
      return out;
    };
    return answers.map(({ find, expr }) => {
      const target = bases.get(find.target) ?? sym(find.target);
      const f = (values: Map<string, number>): number => evaluate(target, solve(values));
      const numeric = finiteDifference(f, base.values, find.vars);
      const symbolic = evaluate(expr, base.values, functions);
      const relError = Math.abs(symbolic - numeric) / Math.max(1, Math.abs(numeric));
      return {
        find: find.text,
        point: Object.fromEntries(base.values),
        symbolic,
        numeric,
        relError: Number.isNaN(relError) ? Infinity : relError,
      };
    });
  }
  return {
    maxRelError: checks.reduce((m, c) => Math.max(m, c.relError), 0),
    checks,
    standIns: Object.fromEntries(
      [...standIns].map(([name, e]) => [
        `${name}(${Array.from({ length: problem.functions.get(name)! }, (_, i) => `a${i + 1}`).join(", ")})`,
        toAscii(substitute(e, new Map(Array.from({ length: 9 }, (_, i) => [param(i), sym(`a${i + 1}`)])))),
      ]),
    ),
    shifted,
  };
}

interface BasePoint {
  readonly values: Map<string, number>;
  /** Equation k is F_k = shifts[k]. */
  readonly shifts: number[];
}

const RANGES: [number, number][] = [
  [0.4, 1.4],
  [0.15, 0.7],
  [1.2, 2.5],
  [-1.4, -0.4],
];

/** Pick values for independents, parameters and unknowns where everything is finite. */
function choosePoint(
  problem: Problem,
  residuals: readonly Expr[],
  given: Readonly<Record<string, number>> | undefined,
  rnd: () => number,
  which: number,
): BasePoint {
  for (let attempt = 0; attempt < 40; attempt++) {
    const [lo, hi] = RANGES[Math.floor(attempt / 10) % RANGES.length]!;
    const pick = (): number => Math.round((lo + (hi - lo) * rnd()) * 1000) / 1000;
    const values = new Map<string, number>();
    for (const v of [...problem.independents, ...problem.parameters]) values.set(v, given?.[v] ?? pick());
    const unknowns = problem.unknowns;
    let shifts = residuals.map(() => 0);
    if (unknowns.length > 0) {
      const fixed = unknowns.every((u) => given?.[u] !== undefined);
      let solved: number[] | undefined;
      if (fixed) solved = unknowns.map((u) => given![u]!);
      else {
        // Try to land on the actual surface first.
        for (const start of [0.7, 1.3, 0.3, 2, -0.7]) {
          solved = newton(
            (ys) => {
              const at = new Map(values);
              unknowns.forEach((u, i) => at.set(u, ys[i]!));
              return residuals.map((r) => evaluate(r, at));
            },
            unknowns.map((_, i) => start + 0.1 * i),
          );
          if (solved) break;
        }
      }
      const ys = solved ?? unknowns.map(() => pick());
      unknowns.forEach((u, i) => values.set(u, ys[i]!));
      shifts = residuals.map((r) => (solved ? 0 : evaluate(r, values)));
      if (!fixed && solved && which > 0 && attempt === 0) {
        // Vary the points: later points use the shifted family at random unknown values.
        unknowns.forEach((u) => values.set(u, pick()));
        shifts = residuals.map((r) => evaluate(r, values));
      }
    }
    if (![...values.values(), ...shifts].every(Number.isFinite)) continue;
    // Near a singular Jacobian the implicit function (and finite differences) are ill-conditioned.
    if (unknowns.length > 0 && !wellConditioned(residuals, unknowns, values)) continue;
    return { values, shifts };
  }
  throw new EvaluationError("could not find a point where the problem is defined");
}

/** |det J| not tiny compared with the size of J's rows (J = ∂residuals/∂unknowns, numerically). */
function wellConditioned(
  residuals: readonly Expr[],
  unknowns: readonly string[],
  at: ReadonlyMap<string, number>,
): boolean {
  const slope = (r: Expr, v: string): number => {
    const y = at.get(v)!;
    const h = 1e-6 * Math.max(1, Math.abs(y));
    return (evaluate(r, new Map(at).set(v, y + h)) - evaluate(r, new Map(at).set(v, y - h))) / (2 * h);
  };
  const jac = residuals.map((r) => unknowns.map((u) => slope(r, u)));
  // Compare det J with the size of each equation's whole gradient (all variables).
  const scale = residuals.reduce(
    (p, r) => p * Math.max(...[...at.keys()].map((v) => Math.abs(slope(r, v)))),
    1,
  );
  if (!Number.isFinite(scale) || scale === 0) return false;
  return Math.abs(determinant(jac)) > Math.pow(0.2, unknowns.length) * scale;
}

function determinant(a: number[][]): number {
  const n = a.length;
  const m = a.map((r) => [...r]);
  let d = 1;
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r]![c]!) > Math.abs(m[p]![c]!)) p = r;
    if (m[p]![c] === 0) return 0;
    if (p !== c) {
      [m[c], m[p]] = [m[p]!, m[c]!];
      d = -d;
    }
    d *= m[c]![c]!;
    for (let r = c + 1; r < n; r++) {
      const f = m[r]![c]! / m[c]![c]!;
      for (let k = c; k < n; k++) m[r]![k]! -= f * m[c]![k]!;
    }
  }
  return d;
}

/**
 * Values of answers at a point (for `--at`). Unknowns of implicit problems not given are solved for
 * by Newton's method. Answers with abstract functions have no value: undefined.
 */
export function valuesAt(
  problem: Problem,
  answers: readonly VerifiedAnswer[],
  point: Readonly<Record<string, number>>,
): { values: (number | undefined)[]; point: Record<string, number> } {
  const values = new Map(Object.entries(point));
  for (const v of [...problem.independents, ...problem.parameters])
    if (!values.has(v)) throw new EvaluationError(`no value for '${v}' in the point`);
  const missing = problem.unknowns.filter((u) => !values.has(u));
  if (missing.length > 0) {
    if (problem.functions.size > 0)
      throw new EvaluationError(
        `give values for ${missing.join(", ")}: the equations contain abstract functions`,
      );
    const residuals = problem.equations.map((e) => e.residual);
    let solved: number[] | undefined;
    for (const start of [1, 0.5, 2, -1, 0.1, 5]) {
      solved = newton(
        (ys) => {
          const at = new Map(values);
          missing.forEach((u, i) => at.set(u, ys[i]!));
          return residuals.map((r) => evaluate(r, at));
        },
        missing.map(() => start),
      );
      if (solved) break;
    }
    if (!solved)
      throw new EvaluationError(`could not solve the equations for ${missing.join(", ")} at this point`);
    missing.forEach((u, i) => values.set(u, solved[i]!));
  }
  return {
    values: answers.map((a) => (hasAbstract(a.expr) ? undefined : evaluate(a.expr, values))),
    point: Object.fromEntries(values),
  };
}

function hasAbstract(e: Expr): boolean {
  return (
    e.kind === "fn" ||
    (e.kind === "add" || e.kind === "mul" || e.kind === "call"
      ? e.args.some(hasAbstract)
      : e.kind === "pow"
        ? hasAbstract(e.base) || hasAbstract(e.exp)
        : false)
  );
}

/** Newton's method with a numeric Jacobian; undefined when it does not converge. */
export function newton(g: (y: number[]) => number[], start: number[]): number[] | undefined {
  let y = [...start];
  for (let iter = 0; iter < 60; iter++) {
    const r = g(y);
    if (!r.every(Number.isFinite)) return undefined;
    const n = y.length;
    const jac: number[][] = [];
    for (let j = 0; j < n; j++) {
      const h = 1e-7 * Math.max(1, Math.abs(y[j]!));
      const up = [...y];
      const down = [...y];
      up[j]! += h;
      down[j]! -= h;
      const gu = g(up);
      const gd = g(down);
      for (let k = 0; k < n; k++) (jac[k] ??= [])[j] = (gu[k]! - gd[k]!) / (2 * h);
    }
    const step = solveLinear(jac, r);
    if (!step) return undefined;
    y = y.map((v, i) => v - step[i]!);
    const size = Math.max(...step.map((s, i) => Math.abs(s) / Math.max(1, Math.abs(y[i]!))));
    if (size < 1e-15) return y;
    if (size < 1e-12 && iter > 3) {
      // Converged to rounding level: one more step and stop.
      const last = solveLinear(jac, g(y));
      return last ? y.map((v, i) => v - last[i]!) : y;
    }
  }
  return undefined;
}

/** Gaussian elimination with partial pivoting. */
function solveLinear(a: number[][], b: number[]): number[] | undefined {
  const n = b.length;
  const m = a.map((row, i) => [...row, b[i]!]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r]![c]!) > Math.abs(m[p]![c]!)) p = r;
    if (!(Math.abs(m[p]![c]!) > 1e-300)) return undefined;
    [m[c], m[p]] = [m[p]!, m[c]!];
    for (let r = c + 1; r < n; r++) {
      const f = m[r]![c]! / m[c]![c]!;
      for (let k = c; k <= n; k++) m[r]![k]! -= f * m[c]![k]!;
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let s = m[r]![n]!;
    for (let k = r + 1; k < n; k++) s -= m[r]![k]! * x[k]!;
    x[r] = s / m[r]![r]!;
  }
  return x;
}

/**
 * ∂ⁿf/∂vars by nested central differences. Their error is a series in h², so two Richardson
 * steps over h, h/2, h/4 leave an O(h⁶) error; h grows with the order to keep rounding in check.
 */
export function finiteDifference(
  f: (values: Map<string, number>) => number,
  at: ReadonlyMap<string, number>,
  vars: readonly string[],
): number {
  const order = vars.length;
  const h0 = order === 1 ? 2e-3 : order === 2 ? 8e-3 : 2e-2;
  const nested = (values: Map<string, number>, i: number, h: number): number => {
    if (i === vars.length) return f(values);
    const v = vars[i]!;
    const x = values.get(v)!;
    const step = h * Math.max(1, Math.abs(x));
    const up = new Map(values).set(v, x + step);
    const down = new Map(values).set(v, x - step);
    return (nested(up, i + 1, h) - nested(down, i + 1, h)) / (2 * step);
  };
  const estimate = (h: number): number => {
    const d1 = nested(new Map(at), 0, h);
    const d2 = nested(new Map(at), 0, h / 2);
    const d3 = nested(new Map(at), 0, h / 4);
    const r1 = (4 * d2 - d1) / 3;
    const r2 = (4 * d3 - d2) / 3;
    return (16 * r2 - r1) / 15;
  };
  // Like Ridders' method: of three step sizes, trust the pair of estimates that agree best (too
  // large a step suffers near singularities, too small a step from rounding).
  const e = [estimate(h0 * 2), estimate(h0), estimate(h0 / 2)];
  return Math.abs(e[0]! - e[1]!) < Math.abs(e[1]! - e[2]!) ? e[1]! : e[2]!;
}
