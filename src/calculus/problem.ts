// A problem string → a structured problem: definitions (the dependency graph), equations (implicit
// unknowns), independent variables and the derivatives to find.
//
//   z = u^2*ln(v); u = y/x; v = x^2 + y^2; find: dz/dx, d2z/dxdy
//
// How clauses are classified (the design decisions, in one place):
//
// * `NAME = expr` is a DEFINITION of NAME when NAME is not on the right side, is not named in
//   `indep:`, is not a variable we differentiate by in `find:`, and is not defined twice.
//   Definitions that refer to each other in a cycle (u = x*v + y; v = u^2 - x) are equations.
//   Every other `lhs = rhs` is an EQUATION lhs - rhs = 0 (so z = f(x+y+z, x*y*z) is one).
// * Definitions form a dependency graph (u = f(x, y, z); y = g(x, t); t = v(x, z)): they are
//   substituted into each other in topological order, so every quantity is finally an expression
//   in the independent variables (and the implicit unknowns). A called name is always a function:
//   `v(x, z)` is an abstract function v even when another clause has a variable v... which would be
//   an error: one name, one role.
// * UNKNOWNS of the equations (as many as there are equations): with `indep:`, the symbols of the
//   equations not listed there (extra ones, if any, are constant parameters); without it, the
//   symbols of the equations that are not differentiation variables, preferring find targets, then
//   the customary dependent names z, w, v, u, s, then others, then x, y, t — in order of first
//   appearance. When that choice was a guess, a note says so; `indep:` makes it explicit.
// * INDEPENDENT variables: `indep:` if given, else every symbol left once definitions are
//   substituted and the unknowns removed (x, y, z first, then alphabetical).
// * Abstract functions: f_1, f_12 ... are partials by argument slot, always evaluated at the
//   arguments the function is applied to in the problem. If the same function is applied to
//   different argument tuples, answers print them with arguments: f_1(x, y) + f_2(y, x).
import { ParseError, ProblemError } from "./errors.js";
import { abstractFunctions, freeSymbols, substitute, sub, type Expr } from "./expr.js";
import { newParseContext, parseEquation, tokenize } from "./parser.js";

export interface Definition {
  readonly name: string;
  /** The right side as written (canonicalized). */
  readonly expr: Expr;
  /** With all other definitions substituted: an expression in independents and unknowns. */
  readonly expanded: Expr;
}

export interface Equation {
  readonly text: string;
  readonly lhs: Expr;
  readonly rhs: Expr;
  /** lhs - rhs with definitions substituted; the equation says residual = 0. */
  readonly residual: Expr;
}

export interface FindSpec {
  /** As written, e.g. "d2z/dxdy". */
  readonly text: string;
  readonly target: string;
  /** Differentiation variables in written order: d3z/dx2dy → ["x", "x", "y"]. */
  readonly vars: readonly string[];
}

export interface Problem {
  readonly input: string;
  /** In dependency order: each refers only to earlier definitions. */
  readonly definitions: readonly Definition[];
  readonly equations: readonly Equation[];
  readonly unknowns: readonly string[];
  readonly independents: readonly string[];
  /** Symbols that are neither independent nor unknown (constants), only when `indep:` is given. */
  readonly parameters: readonly string[];
  readonly finds: readonly FindSpec[];
  /** Abstract function names with their arities. */
  readonly functions: ReadonlyMap<string, number>;
  /** Assumptions made while reading the problem (e.g. which symbols the equations determine). */
  readonly notes: readonly string[];
}

interface Relation {
  readonly lhs: Expr;
  readonly rhs: Expr;
  readonly text: string;
  readonly start: number;
}

interface RawFind {
  readonly text: string;
  readonly start: number;
}

const IDENTIFIER = /^[\p{L}_][\p{L}\p{N}_']*$/u;
const KEYWORD = /\s*(indep|find)\s*:/iy;
const DEPENDENT_NAMES = ["z", "w", "v", "u", "s"];
const INDEPENDENT_NAMES = ["x", "y", "t"];

/** Split at top-level ';' (never inside parentheses), keeping offsets. */
function splitClauses(input: string): { start: number; end: number }[] {
  const out: { start: number; end: number }[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i <= input.length; i++) {
    const ch = input[i];
    if (ch === "(") depth++;
    else if (ch === ")") depth--;
    if (i === input.length || (ch === ";" && depth <= 0)) {
      if (input.slice(start, i).trim() !== "") out.push({ start, end: i });
      start = i + 1;
    }
  }
  return out;
}

/** Comma-separated items of input[start, end), trimmed, with their offsets. */
function splitList(input: string, start: number, end: number): RawFind[] {
  const out: RawFind[] = [];
  let s = start;
  for (let i = start; i <= end; i++) {
    if (i === end || input[i] === ",") {
      const raw = input.slice(s, i);
      const lead = raw.length - raw.trimStart().length;
      if (raw.trim() !== "") out.push({ text: raw.trim(), start: s + lead });
      else throw new ParseError(input, s + lead, ["a name"], i === end ? "end of clause" : "','");
      s = i + 1;
    }
  }
  return out;
}

export function parseProblem(input: string): Problem {
  if (input.trim() === "")
    throw new ParseError(input, 0, ["a problem such as 'z = x^2*y; find: dz/dx'"], "nothing");
  const context = newParseContext();
  const relations: Relation[] = [];
  const rawFinds: RawFind[] = [];
  const indepList: RawFind[] = [];
  let indepGiven = false;

  for (const { start, end } of splitClauses(input)) {
    KEYWORD.lastIndex = start;
    const kw = KEYWORD.exec(input);
    if (kw && kw.index === start && start + kw[0].length <= end) {
      const bodyStart = start + kw[0].length;
      const items = input.slice(bodyStart, end).trim() === "" ? [] : splitList(input, bodyStart, end);
      if (items.length === 0)
        throw new ParseError(
          input,
          bodyStart,
          [kw[1]!.toLowerCase() === "find" ? "a derivative such as dz/dx" : "a variable name"],
          "nothing",
        );
      if (kw[1]!.toLowerCase() === "find") rawFinds.push(...items);
      else {
        indepGiven = true;
        for (const item of items) {
          if (!IDENTIFIER.test(item.text))
            throw new ParseError(input, item.start, ["a variable name"], `'${item.text}'`);
          indepList.push(item);
        }
      }
      continue;
    }
    const { lhs, rhs } = parseEquation(input, context, start, end);
    relations.push({ lhs, rhs, text: input.slice(start, end).trim(), start });
  }
  if (relations.length === 0)
    throw new ProblemError("no definition or equation: write e.g. 'z = x^2*y; find: dz/dx'");

  // One name, one role: a name called as a function cannot also be a variable.
  const allSymbols = new Set<string>();
  for (const r of relations) {
    freeSymbols(r.lhs, allSymbols);
    freeSymbols(r.rhs, allSymbols);
  }
  const functions = new Map<string, number>();
  for (const r of relations) {
    abstractFunctions(r.lhs, functions);
    abstractFunctions(r.rhs, functions);
  }
  for (const name of [...allSymbols, ...indepList.map((i) => i.text)])
    if (functions.has(name))
      throw new ProblemError(`'${name}' is used both as a variable and as a function ${name}(...)`);

  const indepNames = new Set(indepList.map((i) => i.text));
  const known = new Set([...allSymbols, ...indepNames]);
  const finds = rawFinds.map((f) => parseFind(input, f, known));
  const findVars = new Set(finds.flatMap((f) => f.vars));
  const appearance = appearanceOrder(input);

  // Classify relations into definitions and equations.
  const candidates = new Map<string, Relation>();
  const equations: Relation[] = [];
  for (const r of relations) {
    const name = r.lhs.kind === "sym" ? r.lhs.name : undefined;
    const isDefinition =
      name !== undefined &&
      !freeSymbols(r.rhs).has(name) &&
      !indepNames.has(name) &&
      !findVars.has(name) &&
      !candidates.has(name);
    if (isDefinition) candidates.set(name, r);
    else equations.push(r);
  }
  for (const name of cyclicDefinitions(candidates)) {
    equations.push(candidates.get(name)!);
    candidates.delete(name);
  }
  const definitions = orderDefinitions(candidates);
  const expandedOf = new Map(definitions.map((d) => [d.name, d.expanded]));
  const equationList: Equation[] = equations
    .sort((a, b) => a.start - b.start)
    .map((r) => ({
      text: r.text,
      lhs: r.lhs,
      rhs: r.rhs,
      residual: substitute(sub(r.lhs, r.rhs), expandedOf),
    }));

  // Unknowns of the equations.
  const notes: string[] = [];
  const targets = new Set(finds.map((f) => f.target));
  const equationSymbols = new Set<string>();
  for (const e of equationList) freeSymbols(e.residual, equationSymbols);
  let unknowns: string[] = [];
  let parameters: string[] = [];
  if (equationList.length > 0) {
    const m = equationList.length;
    const pool = [...equationSymbols].filter((s) => (indepGiven ? !indepNames.has(s) : !findVars.has(s)));
    const rank = (s: string): number =>
      targets.has(s) ? 0 : DEPENDENT_NAMES.includes(s) ? 1 : INDEPENDENT_NAMES.includes(s) ? 3 : 2;
    pool.sort((a, b) => rank(a) - rank(b) || (appearance.get(a) ?? 0) - (appearance.get(b) ?? 0));
    if (pool.length < m)
      throw new ProblemError(
        `${m} equation${m > 1 ? "s" : ""} but only ${pool.length} unknown${pool.length === 1 ? "" : "s"} to solve for` +
          (pool.length > 0 ? ` (${pool.join(", ")})` : "") +
          ": every equation needs a dependent variable",
      );
    unknowns = pool.slice(0, m);
    const rest = pool.slice(m);
    if (indepGiven) parameters = rest;
    else if (rest.length > 0 && rank(rest[0]!) === rank(unknowns[m - 1]!) && rank(rest[0]!) > 0)
      notes.push(
        `assumed the equations determine ${unknowns.join(", ")} (not ${rest.join(", ")}); use 'indep:' to choose`,
      );
  }
  const unknownSet = new Set(unknowns);

  // Independent variables.
  let independents: string[];
  if (indepGiven) {
    independents = indepList.map((i) => i.text);
    for (const v of findVars)
      if (!indepNames.has(v))
        throw new ProblemError(`'${v}' is not an independent variable (indep: ${independents.join(", ")})`);
    // Without dependents on the right, any other symbol in the definitions is a parameter.
    const all = new Set<string>();
    for (const d of definitions) freeSymbols(d.expanded, all);
    for (const s of all)
      if (!indepNames.has(s) && !unknownSet.has(s) && !parameters.includes(s)) parameters.push(s);
  } else {
    const all = new Set<string>();
    for (const d of definitions) freeSymbols(d.expanded, all);
    for (const e of equationList) freeSymbols(e.residual, all);
    for (const v of findVars) all.add(v);
    // Conventional order: x, y, z first, then the rest alphabetically.
    const rankOf = (s: string): number => ["x", "y", "z"].indexOf(s) + 1 || 4;
    independents = [...all].filter((s) => !unknownSet.has(s));
    independents.sort((a, b) => rankOf(a) - rankOf(b) || (a < b ? -1 : a > b ? 1 : 0));
  }
  for (const v of findVars)
    if (unknownSet.has(v))
      throw new ProblemError(
        `'${v}' is determined by the equations, so it cannot be a differentiation variable`,
      );

  // Targets.
  const defined = new Set(definitions.map((d) => d.name));
  for (const f of finds) {
    const t = f.target;
    if (!defined.has(t) && !unknownSet.has(t) && !independents.includes(t) && !parameters.includes(t))
      throw new ProblemError(`${f.text}: '${t}' is not defined by the problem`);
  }
  const allFinds = finds.length > 0 ? finds : defaultFinds(definitions, unknowns, independents);
  if (allFinds.length === 0) throw new ProblemError("nothing to differentiate: add 'find: dz/dx'");

  return {
    input,
    definitions,
    equations: equationList,
    unknowns,
    independents,
    parameters,
    finds: allFinds,
    functions,
    notes,
  };
}

/** Without `find:`, every first partial of the top definitions (those nothing else uses) and of the unknowns. */
function defaultFinds(
  definitions: readonly Definition[],
  unknowns: readonly string[],
  independents: readonly string[],
): FindSpec[] {
  const used = new Set<string>();
  for (const d of definitions) freeSymbols(d.expr, used);
  const targets = [...definitions.filter((d) => !used.has(d.name)).map((d) => d.name), ...unknowns];
  return targets.flatMap((t) => independents.map((x) => ({ text: `d${t}/d${x}`, target: t, vars: [x] })));
}

/** Position of each name's first appearance in the input (for a stable, readable variable order). */
function appearanceOrder(input: string): Map<string, number> {
  const out = new Map<string, number>();
  let tokens;
  try {
    tokens = tokenize(input.replace(/[;:]/g, " "));
  } catch {
    return out;
  }
  for (const t of tokens) if (t.kind === "name" && !out.has(t.text)) out.set(t.text, t.start);
  return out;
}

/** Names of definitions that (directly or not) refer to themselves. */
function cyclicDefinitions(candidates: ReadonlyMap<string, Relation>): string[] {
  const refs = new Map(
    [...candidates].map(([n, r]) => [n, [...freeSymbols(r.rhs)].filter((s) => candidates.has(s))]),
  );
  const cyclic: string[] = [];
  for (const start of candidates.keys()) {
    const stack = [...(refs.get(start) ?? [])];
    const seen = new Set<string>();
    while (stack.length > 0) {
      const n = stack.pop()!;
      if (n === start) {
        cyclic.push(start);
        break;
      }
      if (seen.has(n)) continue;
      seen.add(n);
      stack.push(...(refs.get(n) ?? []));
    }
  }
  return cyclic;
}

/** Topological order, substituting earlier definitions into later ones. */
function orderDefinitions(candidates: ReadonlyMap<string, Relation>): Definition[] {
  const out: Definition[] = [];
  const expanded = new Map<string, Expr>();
  const visit = (name: string): void => {
    if (expanded.has(name)) return;
    const r = candidates.get(name)!;
    const deps = [...freeSymbols(r.rhs)].filter((s) => candidates.has(s));
    for (const d of deps) visit(d);
    const e = substitute(r.rhs, expanded);
    expanded.set(name, e);
    out.push({ name, expr: r.rhs, expanded: e });
  };
  for (const name of [...candidates.keys()].reverse()) visit(name);
  return out;
}

// ---- find: specs ------------------------------------------------------------------------------

/**
 * dz/dx, d2z/dxdy, d3z/dx2dy, d^2z/dx^2, ∂z/∂x. Variable names are matched against the problem's
 * symbols (longest first), so multi-letter names work: d2w/dthetadr.
 */
function parseFind(input: string, raw: RawFind, known: ReadonlySet<string>): FindSpec {
  const text = raw.text.replace(/\s+/g, "");
  const fail = (expected: string, hint?: string): never => {
    throw new ParseError(input, raw.start, [expected], `'${raw.text}'`, hint);
  };
  const m = /^[d∂](?:\^?(\d+))?([\p{L}_][\p{L}\p{N}_']*)\/(.+)$/u.exec(text);
  if (!m) return fail("a derivative such as dz/dx or d2z/dxdy");
  const order = m[1] === undefined ? undefined : Number(m[1]);
  const target = m[2]!;
  const vars = matchVariables(m[3]!, known);
  if (!vars) return fail("a derivative such as dz/dx or d2z/dxdy", `cannot read the variables in '${m[3]}'`);
  if (order !== undefined && order !== vars.length)
    return fail(
      `order ${vars.length}`,
      `the order after d is ${order} but ${vars.length} variable${vars.length === 1 ? " is" : "s are"} given`,
    );
  if (order === 0) return fail("an order of at least 1");
  for (const v of vars)
    if (!known.has(v)) fail("a variable of the problem", `'${v}' does not appear in the problem`);
  if (!known.has(target)) fail("a variable of the problem", `'${target}' does not appear in the problem`);
  return { text: raw.text, target, vars };
}

/** "dxdy" → [x, y]; "dx2dy" → [x, x, y]; "dx^2" → [x, x]. Backtracking over known names. */
function matchVariables(s: string, known: ReadonlySet<string>): string[] | undefined {
  const names = [...known].sort((a, b) => b.length - a.length);
  const go = (i: number): string[] | undefined => {
    if (i === s.length) return [];
    if (s[i] !== "d" && s[i] !== "∂") return undefined;
    const options = names.filter((n) => s.startsWith(n, i + 1));
    // Fall back to one letter, so an unknown name gets a clear error later instead of "cannot read".
    const letter = /^[\p{L}_]/u.exec(s.slice(i + 1))?.[0];
    if (letter && !options.includes(letter)) options.push(letter);
    for (const name of options) {
      let j = i + 1 + name.length;
      const count = /^\^?(\d+)/.exec(s.slice(j));
      let k = 1;
      if (count) {
        k = Number(count[1]);
        j += count[0].length;
      }
      if (k < 1 || k > 20) continue;
      const rest = go(j);
      if (rest) return [...new Array<string>(k).fill(name), ...rest];
    }
    return undefined;
  };
  return go(0);
}
