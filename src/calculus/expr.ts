// The expression core: immutable, hash-consed nodes in canonical form.
//
// Every node is built through the constructors below (add, mul, pow, call, fn ...). They put the
// node into canonical form right away — sums and products flattened, numbers folded exactly, like
// terms and like powers combined, factors and terms sorted — and then intern it: two structurally
// equal expressions are the same object, so `a === b` is structural equality and a node's `id`
// can key memo tables.
import * as Q from "./rational.js";
import type { Rational } from "./rational.js";
import { MathError } from "./errors.js";

interface NodeBase {
  /** Interning id: equal ids ⇔ structurally equal expressions (within one process). */
  readonly id: number;
}

/** An exact rational number. */
export interface Num extends NodeBase {
  readonly kind: "num";
  readonly value: Rational;
}

/** The constants e and pi. */
export interface Const extends NodeBase {
  readonly kind: "const";
  readonly name: "e" | "pi";
}

/** A variable. */
export interface Sym extends NodeBase {
  readonly kind: "sym";
  readonly name: string;
}

/** A sum of at least two terms; a numeric term, if any, comes last. */
export interface Add extends NodeBase {
  readonly kind: "add";
  readonly args: readonly Expr[];
}

/** A product of at least two factors; a numeric coefficient, if any, comes first. */
export interface Mul extends NodeBase {
  readonly kind: "mul";
  readonly args: readonly Expr[];
}

/** base^exp. Division is a power with exponent -1; exp(u) is e^u; sqrt(u) is u^(1/2). */
export interface Pow extends NodeBase {
  readonly kind: "pow";
  readonly base: Expr;
  readonly exp: Expr;
}

/** An elementary function from the table in functions.ts (ln, sin, arctan, abs ...). */
export interface Call extends NodeBase {
  readonly kind: "call";
  readonly name: string;
  readonly args: readonly Expr[];
}

/**
 * An abstract function f(args) — or, when `slots` is not empty, its partial derivative by argument
 * slots (1-based, sorted: [1, 1, 2] is f_112), evaluated at `args`.
 */
export interface Fn extends NodeBase {
  readonly kind: "fn";
  readonly name: string;
  readonly args: readonly Expr[];
  readonly slots: readonly number[];
}

/** Notation only, for the steps: the symbol ∂z/∂u (or dz/du when `total`). Not differentiable. */
export interface Partial extends NodeBase {
  readonly kind: "partial";
  readonly of: string;
  readonly wrt: readonly string[];
  readonly total: boolean;
}

export type Expr = Num | Const | Sym | Add | Mul | Pow | Call | Fn | Partial;

// ---------------------------------------------------------------------------------------------
// Interning

const table = new Map<string, Expr>();
let nextId = 1;

type Body<T> = T extends Expr ? Omit<T, "id"> : never;

function intern<T extends Expr>(key: string, body: Body<T>): T {
  const found = table.get(key);
  if (found) return found as T;
  const node = Object.freeze({ ...body, id: nextId++ }) as unknown as T;
  table.set(key, node);
  return node;
}

const ids = (xs: readonly Expr[]): string => xs.map((x) => x.id).join(",");

// ---------------------------------------------------------------------------------------------
// Leaves

export function num(value: Rational): Num {
  return intern<Num>(`n${value.num}/${value.den}`, { kind: "num", value });
}

export const int = (n: number | bigint): Num => num(Q.rat(n));
export const ZERO = int(0);
export const ONE = int(1);
export const MINUS_ONE = int(-1);
export const TWO = int(2);
export const HALF = num(Q.rat(1, 2));

export const E = intern<Const>("ce", { kind: "const", name: "e" });
export const PI = intern<Const>("cpi", { kind: "const", name: "pi" });

export function sym(name: string): Sym {
  return intern<Sym>(`s${name}`, { kind: "sym", name });
}

export function partial(of: string, wrt: readonly string[], total = false): Partial {
  return intern<Partial>(`P${of}|${wrt.join(",")}|${total}`, { kind: "partial", of, wrt: [...wrt], total });
}

export const isNum = (e: Expr): e is Num => e.kind === "num";
export const isZero = (e: Expr): boolean => e === ZERO;
export const isOne = (e: Expr): boolean => e === ONE;

// ---------------------------------------------------------------------------------------------
// Ordering. Factors sort by base (numbers, then symbols and abstract functions by name, then
// elementary functions, then powers of compound bases); terms sort like a dictionary with higher
// powers first (x^2 + x*y + y^2 + 1). The order is structural, so it does not depend on the order
// in which nodes happened to be created.

function rank(e: Expr): number {
  switch (e.kind) {
    case "num":
      return 0;
    case "sym":
    case "const":
    case "fn":
    case "partial":
      return 1;
    case "call":
      return 2;
    case "pow":
      return e.base === E ? 2 : 3;
    case "mul":
      return 4;
    case "add":
      return 5;
  }
}

function nameOf(e: Expr): string {
  switch (e.kind) {
    case "sym":
    case "const":
    case "fn":
    case "call":
      return e.name;
    case "partial":
      return e.of;
    case "pow":
      return "exp"; // only asked for e^u
    default:
      return "";
  }
}

const cmpStr = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function cmpList(a: readonly Expr[], b: readonly Expr[]): number {
  for (let i = 0; i < a.length && i < b.length; i++) {
    const c = compare(a[i]!, b[i]!);
    if (c !== 0) return c;
  }
  return a.length - b.length;
}

const kindOrder = ["sym", "const", "fn", "partial"];

/** A total structural order on expressions. */
export function compare(a: Expr, b: Expr): number {
  if (a === b) return 0;
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return ra - rb;
  if (a.kind === "num" && b.kind === "num") return Q.compare(a.value, b.value);
  if (ra === 1 || ra === 2) {
    const c = cmpStr(nameOf(a), nameOf(b));
    if (c !== 0) return c;
    if (a.kind !== b.kind) return kindOrder.indexOf(a.kind) - kindOrder.indexOf(b.kind);
    if (a.kind === "fn" && b.kind === "fn") {
      const s = a.slots.length - b.slots.length || cmpNumbers(a.slots, b.slots);
      if (s !== 0) return s;
    }
    return cmpList(children(a), children(b));
  }
  if (a.kind === "pow" && b.kind === "pow") return compare(a.base, b.base) || compare(a.exp, b.exp);
  return cmpList(children(a), children(b));
}

function cmpNumbers(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < a.length && i < b.length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/** The base and exponent a factor contributes to a product (e^u stays whole: it sorts like exp(u)). */
function baseExp(e: Expr): [Expr, Expr] {
  return e.kind === "pow" && e.base !== E ? [e.base, e.exp] : [e, ONE];
}

function compareFactors(a: Expr, b: Expr): number {
  const [ba, ea] = baseExp(a);
  const [bb, eb] = baseExp(b);
  return compare(ba, bb) || compare(ea, eb);
}

/** Higher exponent first, then structural. */
function compareExponentsDescending(a: Expr, b: Expr): number {
  if (a.kind === "num" && b.kind === "num") return Q.compare(b.value, a.value);
  return compare(a, b);
}

function monomial(e: Expr): readonly Expr[] {
  if (e.kind === "num") return [];
  if (e.kind === "mul") return e.args[0]!.kind === "num" ? e.args.slice(1) : e.args;
  return [e];
}

function compareTerms(a: Expr, b: Expr): number {
  const fa = monomial(a);
  const fb = monomial(b);
  for (let i = 0; i < fa.length && i < fb.length; i++) {
    const [ba, ea] = baseExp(fa[i]!);
    const [bb, eb] = baseExp(fb[i]!);
    const c = compare(ba, bb) || compareExponentsDescending(ea, eb);
    if (c !== 0) return c;
  }
  if (fa.length !== fb.length) return fb.length - fa.length; // x*y before x, x before a constant
  return compare(a, b);
}

// ---------------------------------------------------------------------------------------------
// Sums

/** Split a term into its numeric coefficient and the rest: 3*x*y → [3, x*y]. */
export function splitCoefficient(e: Expr): [Rational, Expr] {
  if (e.kind === "num") return [e.value, ONE];
  const first = e.kind === "mul" ? e.args[0]! : undefined;
  if (e.kind === "mul" && first?.kind === "num") {
    const rest = e.args.slice(1);
    return [
      first.value,
      rest.length === 1 ? rest[0]! : intern<Mul>(`*${ids(rest)}`, { kind: "mul", args: rest }),
    ];
  }
  return [Q.ONE, e];
}

/** c * rest where rest is already a canonical coefficient-free term. */
function scaleTerm(c: Rational, rest: Expr): Expr {
  if (Q.isOne(c)) return rest;
  const args = rest.kind === "mul" ? [num(c), ...rest.args] : [num(c), rest];
  return intern<Mul>(`*${ids(args)}`, { kind: "mul", args });
}

export function add(...xs: Expr[]): Expr {
  const terms = new Map<number, { rest: Expr; c: Rational }>();
  let constant = Q.ZERO;
  const visit = (e: Expr): void => {
    if (e.kind === "add") for (const t of e.args) visit(t);
    else if (e.kind === "num") constant = Q.add(constant, e.value);
    else {
      const [c, rest] = splitCoefficient(e);
      const seen = terms.get(rest.id);
      if (seen) seen.c = Q.add(seen.c, c);
      else terms.set(rest.id, { rest, c });
    }
  };
  for (const x of xs) visit(x);
  const out: Expr[] = [];
  for (const { rest, c } of terms.values()) if (!Q.isZero(c)) out.push(scaleTerm(c, rest));
  out.sort(compareTerms);
  if (!Q.isZero(constant)) out.push(num(constant));
  if (out.length === 0) return ZERO;
  if (out.length === 1) return out[0]!;
  return intern<Add>(`+${ids(out)}`, { kind: "add", args: out });
}

// ---------------------------------------------------------------------------------------------
// Products

export function mul(...xs: Expr[]): Expr {
  let coeff = Q.ONE;
  const groups = new Map<number, { base: Expr; exps: Expr[] }>();
  const visit = (e: Expr): void => {
    if (e.kind === "num") coeff = Q.mul(coeff, e.value);
    else if (e.kind === "mul") for (const f of e.args) visit(f);
    else {
      const [base, exp] = e.kind === "pow" ? [e.base, e.exp] : [e, ONE];
      const g = groups.get(base.id);
      if (g) g.exps.push(exp);
      else groups.set(base.id, { base, exps: [exp] });
    }
  };
  for (const x of xs) visit(x);
  if (Q.isZero(coeff)) return ZERO;

  const factors: Expr[] = [];
  const again: Expr[] = [];
  for (const { base, exps } of groups.values()) {
    const p = pow(base, exps.length === 1 ? exps[0]! : add(...exps));
    if (p.kind === "num") coeff = Q.mul(coeff, p.value);
    else if (p.kind === "mul")
      again.push(p); // e.g. (x*y)^(1/2) * (x*y)^(1/2) = x*y: merge once more
    else factors.push(p);
  }
  if (again.length > 0) return mul(num(coeff), ...factors, ...again);
  if (Q.isZero(coeff)) return ZERO;
  if (factors.length === 0) return num(coeff);
  factors.sort(compareFactors);
  if (factors.length === 1) {
    const only = factors[0]!;
    if (Q.isOne(coeff)) return only;
    // A number times a sum distributes (2*(x + y) = 2*x + 2*y), so like terms can meet.
    if (only.kind === "add") return add(...only.args.map((t) => mul(num(coeff), t)));
  }
  const args = Q.isOne(coeff) ? factors : [num(coeff), ...factors];
  return intern<Mul>(`*${ids(args)}`, { kind: "mul", args });
}

/**
 * Display only (the steps): a product or sum that keeps the written order, ∂z/∂u·∂u/∂x rather than
 * the canonical ∂u/∂x·∂z/∂u. Not canonical — never feed it back into the algebra.
 */
export function writtenProduct(factors: readonly Expr[]): Expr {
  const kept = factors.filter((f) => f !== ONE);
  if (kept.length === 1) return kept[0]!;
  return intern<Mul>(`w*${ids(kept)}`, { kind: "mul", args: kept });
}

export function writtenSum(terms: readonly Expr[]): Expr {
  const kept = terms.filter((t) => t !== ZERO);
  if (kept.length === 0) return ZERO;
  if (kept.length === 1) return kept[0]!;
  return intern<Add>(`w+${ids(kept)}`, { kind: "add", args: kept });
}

export const neg = (e: Expr): Expr => mul(MINUS_ONE, e);
export const sub = (a: Expr, b: Expr): Expr => add(a, neg(b));
export const div = (a: Expr, b: Expr): Expr => mul(a, pow(b, MINUS_ONE));
export const recip = (a: Expr): Expr => pow(a, MINUS_ONE);

// ---------------------------------------------------------------------------------------------
// Powers

const MAX_INTEGER_POWER = 1000n;

export function pow(base: Expr, exp: Expr): Expr {
  if (exp.kind === "num") {
    const e = exp.value;
    if (Q.isZero(e)) return ONE;
    if (Q.isOne(e)) return base;
    if (base.kind === "num") return numericPower(base, e);
    if (Q.isInteger(e)) {
      // (x^a)^n = x^(a*n) and (x*y)^n = x^n * y^n hold for integer n.
      if (base.kind === "pow") return pow(base.base, mul(base.exp, exp));
      if (base.kind === "mul") return mul(...base.args.map((f) => pow(f, exp)));
    }
  }
  if (base === ONE) return ONE;
  if (base === E) {
    // e^ln(u) = u and e^(c*ln(u)) = u^c.
    if (exp.kind === "call" && exp.name === "ln") return exp.args[0]!;
    const [c, l] = exp.kind === "mul" && exp.args.length === 2 ? exp.args : [];
    if (c?.kind === "num" && l?.kind === "call" && l.name === "ln") return pow(l.args[0]!, c);
  }
  // (e^u)^v = e^(u*v) for real u, v.
  if (base.kind === "pow" && base.base === E) return pow(E, mul(base.exp, exp));
  return intern<Pow>(`^${base.id},${exp.id}`, { kind: "pow", base, exp });
}

function numericPower(base: Num, e: Rational): Expr {
  const b = base.value;
  if (Q.isZero(b)) {
    if (Q.isNegative(e)) throw new MathError("division by zero");
    return ZERO;
  }
  if (Q.isOne(b)) return ONE;
  if (Q.isInteger(e) && (e.num < 0n ? -e.num : e.num) <= MAX_INTEGER_POWER) return num(Q.powInt(b, e.num));
  if (!Q.isInteger(e) && !Q.isNegative(b)) {
    // 4^(1/2) = 2, (8/27)^(2/3) = 4/9; anything else stays a power.
    const n = Q.exactRoot(b.num, e.den);
    const d = Q.exactRoot(b.den, e.den);
    if (n !== undefined && d !== undefined) return num(Q.powInt(Q.rat(n, d), e.num));
  }
  return intern<Pow>(`^${base.id},${num(e).id}`, { kind: "pow", base, exp: num(e) });
}

export const sqrt = (e: Expr): Expr => pow(e, HALF);
export const exp = (e: Expr): Expr => pow(E, e);

// ---------------------------------------------------------------------------------------------
// Function applications

const ODD_AT_ZERO = new Set(["sin", "tan", "asin", "atan", "sinh", "tanh"]);
const ONE_AT_ZERO = new Set(["cos", "cosh", "sec"]);

/** An elementary function; the few evaluations that are always exact happen here. */
export function call(name: string, args: readonly Expr[]): Expr {
  const a = args[0];
  if (args.length === 1 && a) {
    if (a === ZERO && ODD_AT_ZERO.has(name)) return ZERO;
    if (a === ZERO && ONE_AT_ZERO.has(name)) return ONE;
    if (name === "ln") {
      if (a === ONE) return ZERO;
      if (a === E) return ONE;
      if (a.kind === "pow" && a.base === E) return a.exp; // ln(e^u) = u for real u
      if (a.kind === "num" && Q.isZero(a.value)) throw new MathError("ln(0) is undefined");
    }
    if (name === "abs") {
      if (a.kind === "num") return num(Q.abs(a.value));
      if (a.kind === "call" && a.name === "abs") return a;
      if (a.kind === "pow" && a.base === E) return a;
    }
  }
  return intern<Call>(`C${name}(${ids(args)})`, { kind: "call", name, args: [...args] });
}

/** An abstract function application, or its partial by `slots` (any order; stored sorted). */
export function fn(name: string, args: readonly Expr[], slots: readonly number[] = []): Fn {
  const sorted = [...slots].sort((x, y) => x - y);
  return intern<Fn>(`F${name}[${sorted.join(",")}](${ids(args)})`, {
    kind: "fn",
    name,
    args: [...args],
    slots: sorted,
  });
}

// ---------------------------------------------------------------------------------------------
// Generic traversal

export function children(e: Expr): readonly Expr[] {
  switch (e.kind) {
    case "add":
    case "mul":
    case "call":
    case "fn":
      return e.args;
    case "pow":
      return [e.base, e.exp];
    default:
      return [];
  }
}

/** The same kind of node over new children, re-canonicalized. */
export function rebuild(e: Expr, kids: readonly Expr[]): Expr {
  switch (e.kind) {
    case "add":
      return add(...kids);
    case "mul":
      return mul(...kids);
    case "pow":
      return pow(kids[0]!, kids[1]!);
    case "call":
      return call(e.name, kids);
    case "fn":
      return fn(e.name, kids, e.slots);
    default:
      return e;
  }
}

/** Bottom-up rewrite with memoization by node id (shared subtrees are visited once). */
export function transform(e: Expr, visit: (node: Expr) => Expr | undefined): Expr {
  const memo = new Map<number, Expr>();
  const go = (x: Expr): Expr => {
    const seen = memo.get(x.id);
    if (seen) return seen;
    const replaced = visit(x);
    let out: Expr;
    if (replaced !== undefined) out = replaced;
    else {
      const kids = children(x);
      const next = kids.map(go);
      out = next.every((k, i) => k === kids[i]) ? x : rebuild(x, next);
    }
    memo.set(x.id, out);
    return out;
  };
  return go(e);
}

/** Replace variables by expressions (simultaneously). */
export function substitute(e: Expr, values: ReadonlyMap<string, Expr>): Expr {
  if (values.size === 0) return e;
  return transform(e, (x) => (x.kind === "sym" ? (values.get(x.name) ?? x) : undefined));
}

export function freeSymbols(e: Expr, into: Set<string> = new Set()): Set<string> {
  const seen = new Set<number>();
  const go = (x: Expr): void => {
    if (seen.has(x.id)) return;
    seen.add(x.id);
    if (x.kind === "sym") into.add(x.name);
    for (const k of children(x)) go(k);
  };
  go(e);
  return into;
}

export function contains(e: Expr, test: (x: Expr) => boolean): boolean {
  const seen = new Set<number>();
  const go = (x: Expr): boolean => {
    if (seen.has(x.id)) return false;
    seen.add(x.id);
    return test(x) || children(x).some(go);
  };
  return go(e);
}

/** Abstract function names with their arities, in order of appearance. */
export function abstractFunctions(e: Expr, into: Map<string, number> = new Map()): Map<string, number> {
  const seen = new Set<number>();
  const go = (x: Expr): void => {
    if (seen.has(x.id)) return;
    seen.add(x.id);
    if (x.kind === "fn" && !into.has(x.name)) into.set(x.name, x.args.length);
    for (const k of children(x)) go(k);
  };
  go(e);
  return into;
}

/**
 * Size of the expression tree as written: every number, symbol, operator and function counts one
 * (a negative coefficient -1 counts as one node). Used to pick the most compact form and to
 * compare answers with SymPy's.
 */
export function nodeCount(e: Expr): number {
  let n = 1;
  for (const k of children(e)) n += nodeCount(k);
  return n;
}
