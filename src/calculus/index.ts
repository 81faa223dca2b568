// nabla/calculus — symbolic partial derivatives of composite, abstract and implicit functions.
//
//   import { diff } from "nabla/calculus";
//   diff("F(x*z, y + z) = 0; find: dz/dx").answers[0].ascii   // "-F_1*z/(F_1*x + F_2)"
//
// The core is browser-safe: no Node built-ins anywhere in src/calculus.
import type { Expr } from "./expr.js";
import { ambiguousFunctions, type PrintOptions } from "./layout.js";
import { parseProblem, type FindSpec, type Problem } from "./problem.js";
import { toAscii } from "./print-ascii.js";
import { toLatex } from "./print-latex.js";
import { toUnicode } from "./print-unicode.js";
import { Solver } from "./solve.js";
import { buildSteps, type Step } from "./steps.js";
import { parseExpression } from "./parser.js";
import { verify, type VerifyOptions, type VerifyReport } from "./verify.js";

export interface RenderedLine {
  readonly ascii: string;
  readonly unicode: string;
  readonly latex: string;
}

export interface RenderedStep {
  readonly title: string;
  readonly lines: readonly RenderedLine[];
}

export interface DiffAnswer {
  /** The find spec as written, e.g. "d2z/dxdy". */
  readonly find: string;
  readonly target: string;
  readonly vars: readonly string[];
  readonly expr: Expr;
  readonly ascii: string;
  readonly unicode: string;
  readonly latex: string;
  /** The working; empty when `steps: false`. */
  readonly steps: readonly RenderedStep[];
}

export interface DiffResult {
  readonly problem: Problem;
  readonly answers: readonly DiffAnswer[];
  readonly independents: readonly string[];
  readonly unknowns: readonly string[];
  readonly notes: readonly string[];
  /** Present when `verify` was asked for. */
  readonly verify?: VerifyReport;
}

export interface DiffOptions {
  /** Build the step-by-step working (default true). */
  readonly steps?: boolean;
  /** Check every answer numerically against finite differences (see verify.ts). */
  readonly verify?: boolean | VerifyOptions;
}

/** Solve a problem string (see README / problem.ts for the input language). */
export function diff(problem: string, options: DiffOptions = {}): DiffResult {
  const parsed = parseProblem(problem);
  const solver = new Solver(parsed);
  const print: PrintOptions = { withArguments: ambiguousFunctions(allExpressions(parsed)) };
  const answers = parsed.finds.map((find): DiffAnswer =>
    answer(solver, find, print, options.steps !== false),
  );
  const result = {
    problem: parsed,
    answers,
    independents: parsed.independents,
    unknowns: parsed.unknowns,
    notes: parsed.notes,
  };
  if (!options.verify) return result;
  const verifyOptions = options.verify === true ? {} : options.verify;
  return {
    ...result,
    verify: verify(
      parsed,
      answers.map((a) => ({ find: parsed.finds[answers.indexOf(a)]!, expr: a.expr })),
      verifyOptions,
    ),
  };
}

function answer(solver: Solver, find: FindSpec, print: PrintOptions, withSteps: boolean): DiffAnswer {
  const expr = solver.derivative(find.target, find.vars);
  return {
    find: find.text,
    target: find.target,
    vars: find.vars,
    expr,
    ascii: toAscii(expr, print),
    unicode: toUnicode(expr, print),
    latex: toLatex(expr, print),
    steps: withSteps
      ? buildSteps(solver, find).map((s) => renderStep(s, print, new Set(solver.problem.functions.keys())))
      : [],
  };
}

function allExpressions(p: Problem): Expr[] {
  return [...p.definitions.map((d) => d.expanded), ...p.equations.map((e) => e.residual)];
}

export function renderStep(
  step: Step,
  options: PrintOptions = {},
  functions: ReadonlySet<string> = new Set(),
): RenderedStep {
  return {
    title: step.title,
    lines: step.lines
      .map((l) => ({ l, print: l.showArguments ? { withArguments: functions } : options }))
      .map(({ l, print }) => ({
        ascii: `${toAscii(l.lhs, print)} = ${toAscii(l.rhs, print)}`,
        unicode: `${toUnicode(l.lhs, print)} = ${toUnicode(l.rhs, print)}`,
        latex: `${toLatex(l.lhs, print)} = ${toLatex(l.rhs, print)}`,
      })),
  };
}

/** Steps as plain text (Unicode). */
export function stepsText(steps: readonly RenderedStep[]): string {
  return steps
    .map((s, i) => `${i + 1}. ${s.title}\n${s.lines.map((l) => `     ${l.unicode}`).join("\n")}`)
    .join("\n");
}

/** Steps as a LaTeX fragment (an aligned block per step). */
export function stepsLatex(steps: readonly RenderedStep[]): string {
  return steps
    .map(
      (s, i) =>
        `% ${i + 1}. ${s.title}\n\\begin{aligned}\n${s.lines.map((l) => `  ${l.latex.replace(" = ", " &= ")}`).join(" \\\\\n")}\n\\end{aligned}`,
    )
    .join("\n");
}

/** Parse one expression (not a whole problem). */
export function parse(expression: string): Expr {
  return parseExpression(expression);
}

export { parseProblem, Solver };
export type { Expr, FindSpec, Problem, Step };
export { ParseError, ProblemError, MathError, EvaluationError } from "./errors.js";
export { differentiate } from "./diff.js";
export { simplify, clearSimplifyCache } from "./simplify.js";
export { evaluate } from "./evaluate.js";
export { verify };
export type { VerifyOptions, VerifyReport };
export { toAscii, toUnicode, toLatex };
export { nodeCount } from "./expr.js";
