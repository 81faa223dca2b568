// The working, as a list of steps a student would write down:
//
//   explicit target over a dependency graph     implicit unknowns
//   1. chain rule for this graph                1. the equations as F = 0
//   2. the local partial derivatives            2. differentiate by x (unknowns depend on x)
//   3. substitute them, then the definitions    3. solve the linear system (Cramer / −F_x/F_z)
//   4. simplify                                 4. simplify
//
// and for each further order: differentiate the previous result, replacing ∂z/∂x of any
// unknown z, then simplify. Each line is `lhs = rhs` with expressions, so the same steps print as
// text (Unicode) and as LaTeX. The answers themselves come from Solver.derivative; the steps show
// the chain rule that produces the same function.
import { differentiate, dependsOn } from "./diff.js";
import {
  add,
  freeSymbols,
  mul,
  neg,
  ONE,
  partial,
  recip,
  substitute,
  writtenProduct,
  writtenSum,
  ZERO,
  type Expr,
} from "./expr.js";
import { det } from "./implicit.js";
import type { FindSpec } from "./problem.js";
import { simplify } from "./simplify.js";
import type { Solver } from "./solve.js";

export interface StepLine {
  readonly lhs: Expr;
  readonly rhs: Expr;
  /** Print abstract functions with their arguments (for the equations themselves). */
  readonly showArguments?: boolean;
}

export interface Step {
  readonly title: string;
  readonly lines: readonly StepLine[];
}

export function buildSteps(solver: Solver, find: FindSpec): Step[] {
  const { target, vars } = find;
  const last = vars[vars.length - 1]!;
  const steps = firstOrderSteps(solver, target, last);
  for (let i = vars.length - 2; i >= 0; i--) {
    const x = vars[i]!;
    const done = vars.slice(i + 1);
    const now = vars.slice(i);
    const previous = solver.derivative(target, done);
    const lines: StepLine[] = [
      { lhs: partial(target, now, isTotal(solver)), rhs: solver.rawDerivative(target, now) },
    ];
    const used = [...freeSymbols(previous)].filter((s) => solver.unknowns.has(s));
    for (const u of used)
      lines.push({
        lhs: partial(u, [x], isTotal(solver)),
        rhs: solver.firstOrder(x).derivatives.get(u) ?? ZERO,
      });
    steps.push({
      title: `Differentiate ${describe(target, done)} by ${x}${used.length > 0 ? `, where ${used.join(", ")} depend${used.length === 1 ? "s" : ""} on ${x}` : ""}`,
      lines,
    });
    steps.push({
      title: "Simplify",
      lines: [{ lhs: partial(target, now, isTotal(solver)), rhs: solver.derivative(target, now) }],
    });
  }
  return steps;
}

const isTotal = (solver: Solver): boolean => solver.problem.independents.length === 1;

function describe(target: string, vars: readonly string[]): string {
  return vars.length === 0
    ? target
    : `d${vars.length > 1 ? vars.length : ""}${target}/${vars.map((v) => `d${v}`).join("")}`;
}

function firstOrderSteps(solver: Solver, target: string, x: string): Step[] {
  const { problem } = solver;
  const total = isTotal(solver);
  if (solver.unknowns.has(target)) return implicitSteps(solver, x, target);
  const definition = problem.definitions.find((d) => d.name === target);
  if (!definition)
    return [
      {
        title: `${target} is a variable of its own`,
        lines: [{ lhs: partial(target, [x], total), rhs: target === x ? ONE : ZERO }],
      },
    ];

  // The part of the dependency graph between the target and x.
  const defs = new Map(problem.definitions.map((d) => [d.name, d]));
  const dependsOnX = (s: string): boolean =>
    s === x ||
    solver.unknowns.has(s) ||
    (defs.has(s) && dependsOn(defs.get(s)!.expanded, x, solver.unknowns));
  const direct = (name: string): string[] => [...freeSymbols(defs.get(name)!.expr)].filter(dependsOnX);
  const order: string[] = [];
  const visit = (name: string): void => {
    if (order.includes(name)) return;
    order.push(name);
    for (const s of direct(name)) if (defs.has(s)) visit(s);
  };
  visit(target);
  const intermediate = (s: string): boolean => defs.has(s) || solver.unknowns.has(s);
  const hasChain = order.some((n) => direct(n).some(intermediate));

  const steps: Step[] = [];
  const unknownsUsed = problem.unknowns.filter((u) => order.some((n) => direct(n).includes(u)));
  for (const u of unknownsUsed) steps.push(...implicitSteps(solver, x, u));

  if (!hasChain) {
    steps.push({
      title: `Differentiate ${target} = … by ${x}, the other variables held constant`,
      lines: [{ lhs: partial(target, [x], total), rhs: differentiate(definition.expanded, x) }],
    });
    steps.push({
      title: "Simplify",
      lines: [{ lhs: partial(target, [x], total), rhs: solver.derivative(target, [x]) }],
    });
    return steps;
  }

  // 1. The chain rule instantiated for this graph.
  const formula = (name: string): Expr =>
    writtenSum(
      direct(name)
        .sort((a, b) => (a === x ? -1 : b === x ? 1 : 0))
        .map((s) =>
          s === x ? partial(name, [x]) : writtenProduct([partial(name, [s]), partial(s, [x], total)]),
        ),
    );
  const withChain = order.filter((n) => direct(n).some(intermediate));
  steps.push({
    title: "Chain rule (∂w/∂s: partial of w's defining expression, its other variables held fixed)",
    lines: withChain.map((n) => ({ lhs: partial(n, [x], total), rhs: formula(n) })),
  });

  // 2. Local partials: of each definition by each of its direct variables.
  const local = new Map<string, Expr>();
  const localLines: StepLine[] = [];
  for (const n of order) {
    const chained = withChain.includes(n);
    for (const s of chained ? direct(n) : [x]) {
      const value = simplify(differentiate(defs.get(n)!.expr, s));
      local.set(`${n}|${s}`, value);
      localLines.push({ lhs: partial(n, [s], !chained && total), rhs: value });
    }
  }
  steps.push({ title: "Local partial derivatives", lines: localLines });

  // 3. Substitute: first the local partials, bottom-up, then the definitions.
  const totalOf = new Map<string, Expr>();
  const totalDerivative = (s: string): Expr => {
    if (s === x) return ONE;
    if (solver.unknowns.has(s)) return solver.firstOrder(x).derivatives.get(s) ?? ZERO;
    const seen = totalOf.get(s);
    if (seen) return seen;
    const value = withChain.includes(s)
      ? add(...direct(s).map((v) => mul(local.get(`${s}|${v}`)!, totalDerivative(v))))
      : local.get(`${s}|${x}`)!;
    totalOf.set(s, value);
    return value;
  };
  const substituted = totalDerivative(target);
  const expandedNames = new Map(problem.definitions.map((d) => [d.name, d.expanded]));
  const inVariables = substitute(substituted, expandedNames);
  const lines: StepLine[] = [{ lhs: partial(target, [x], total), rhs: substituted }];
  if (inVariables !== substituted) lines.push({ lhs: partial(target, [x], total), rhs: inVariables });
  steps.push({ title: "Substitute the partials, then the definitions", lines });
  steps.push({
    title: "Simplify",
    lines: [{ lhs: partial(target, [x], total), rhs: solver.derivative(target, [x]) }],
  });
  return steps;
}

function implicitSteps(solver: Solver, x: string, target: string): Step[] {
  const { problem } = solver;
  const system = solver.implicit();
  const first = solver.firstOrder(x);
  const total = isTotal(solver);
  const unknowns = problem.unknowns;
  const steps: Step[] = [];
  steps.push({
    title: problem.equations.length === 1 ? "Write the equation as F = 0" : "Write the equations as F = 0",
    lines: problem.equations.map((e) => ({ lhs: e.residual, rhs: ZERO, showArguments: true })),
  });
  steps.push({
    title: `Differentiate by ${x}, with ${unknowns.join(", ")} depending on ${x}`,
    lines: system.residuals.map((_, k) => ({
      lhs: writtenSum([
        first.partials[k]!,
        ...unknowns.map((u, j) => writtenProduct([system.jacobian[k]![j]!, partial(u, [x], total)])),
      ]),
      rhs: ZERO,
    })),
  });
  let raw: Expr;
  if (unknowns.length === 1) {
    raw = neg(mul(first.partials[0]!, recip(system.jacobian[0]![0]!)));
  } else {
    const j = unknowns.indexOf(target);
    const replaced = system.jacobian.map((row, k) =>
      row.map((e, c) => (c === j ? neg(first.partials[k]!) : e)),
    );
    raw = mul(det(replaced), recip(system.determinant));
  }
  steps.push({
    title:
      unknowns.length === 1
        ? `Solve for ${describe(target, [x])}: −(∂F/∂${x})/(∂F/∂${target})`
        : "Solve the linear system (Cramer's rule)",
    lines: [{ lhs: partial(target, [x], total), rhs: raw }],
  });
  steps.push({
    title: "Simplify",
    lines: [{ lhs: partial(target, [x], total), rhs: first.derivatives.get(target)! }],
  });
  return steps;
}
