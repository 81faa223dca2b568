// `nabla diff "<problem>"` — symbolic partial derivatives (see src/calculus).
//
//   nabla diff "F(x*z, y + z) = 0; find: dz/dx"          dz/dx = -F_1*z/(F_1*x + F_2)
//   nabla diff "..." --steps --verify --at x=1,y=2 --json
//   nabla diff --json < problems.txt                      one problem per line, one JSON object per line
import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { diff, stepsLatex, stepsText, type DiffResult } from "../../calculus/index.js";
import { valuesAt } from "../../calculus/verify.js";
import type { AutogradReport } from "../../calculus/autograd-check.js";
import { EvaluationError } from "../../calculus/errors.js";
import { partialLatex } from "../../calculus/print-latex.js";
import { NablaError, ValueError } from "../../errors.js";

interface DiffFlags {
  steps?: boolean;
  latex?: boolean;
  json?: boolean;
  verify?: boolean;
  at?: string;
}

export function register(program: Command): void {
  program
    .command("diff")
    .description("symbolic partial derivatives: chain rule, abstract f(u, v), implicit equations and systems")
    .argument(
      "[problem]",
      "e.g. \"z = u^2*ln(v); u = y/x; v = x^2 + y^2; find: dz/dx\"; omit or '-' to read one problem per line from stdin",
    )
    .option("--steps", "show the chain-rule working")
    .option("--latex", "print answers (and steps) as LaTeX")
    .option("--json", "print JSON (one object per problem)")
    .option("--verify", "check the answers numerically against finite differences")
    .option("--at <point>", "evaluate the answers at a point, e.g. x=1,y=2")
    .action(async (problem: string | undefined, flags: DiffFlags) => {
      const point = flags.at === undefined ? undefined : parsePoint(flags.at);
      // The tensor engine is loaded only for --verify (it cross-checks concrete problems).
      if (flags.verify) autograd = await import("../../calculus/autograd-check.js");
      if (problem !== undefined && problem !== "-") {
        process.stdout.write(render(problem, flags, point));
        return;
      }
      const lines = readFileSync(0, "utf8").split(/\r?\n/);
      let failed = false;
      for (const line of lines) {
        if (line.trim() === "" || line.trimStart().startsWith("#")) continue;
        try {
          process.stdout.write(render(line, flags, point));
        } catch (err) {
          if (!(err instanceof NablaError)) throw err;
          failed = true;
          if (flags.json)
            process.stdout.write(
              JSON.stringify({ problem: line, error: { type: err.name, message: err.message } }) + "\n",
            );
          else process.stderr.write(`nabla: ${err.name}: ${err.message}\n`);
        }
      }
      if (failed) process.exitCode = 1;
    });
}

let autograd: typeof import("../../calculus/autograd-check.js") | undefined;

/** "x=1,y=2.5" → { x: 1, y: 2.5 } */
function parsePoint(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of text.split(",")) {
    const m = /^\s*([\p{L}_][\p{L}\p{N}_']*)\s*=\s*(\S+)\s*$/u.exec(part);
    const value = m ? Number(m[2]) : NaN;
    if (!m || !Number.isFinite(value))
      throw new ValueError(
        `--at expects name=value pairs separated by commas, e.g. x=1,y=2; got '${part.trim()}'`,
      );
    out[m[1]!] = value;
  }
  return out;
}

function render(problem: string, flags: DiffFlags, point: Record<string, number> | undefined): string {
  const result = diff(problem, {
    steps: Boolean(flags.steps),
    verify: flags.verify ? (point ? { point } : true) : false,
  });
  const evaluated = point ? valuesAt(result.problem, answersOf(result), point) : undefined;
  const tensorCheck = flags.verify ? crossCheck(result) : undefined;
  if (flags.json) return JSON.stringify(toJson(problem, result, evaluated, flags, tensorCheck)) + "\n";

  const out: string[] = [];
  for (const note of result.notes) out.push(`note: ${note}`);
  result.answers.forEach((a, i) => {
    if (flags.steps) out.push(flags.latex ? stepsLatex(a.steps) : stepsText(a.steps));
    const total = result.independents.length === 1;
    out.push(
      flags.latex ? `${partialLatex(a.target, a.vars, total)} = ${a.latex}` : `${a.find} = ${a.ascii}`,
    );
    const value = evaluated?.values[i];
    if (evaluated)
      out.push(
        `  at ${formatPoint(evaluated.point)}: ${value === undefined ? "not numeric (abstract functions)" : value}`,
      );
  });
  if (result.verify) {
    const v = result.verify;
    out.push(
      `verify: max relative error ${v.maxRelError.toExponential(2)} over ${v.checks.length} checks` +
        (Object.keys(v.standIns).length > 0
          ? ` (stand-ins: ${Object.entries(v.standIns)
              .map(([k, e]) => `${k} = ${e}`)
              .join("; ")})`
          : ""),
    );
  }
  if (tensorCheck)
    out.push(
      `autograd: max relative error ${tensorCheck.maxRelError.toExponential(2)} against the tensor engine (float64)`,
    );
  return out.join("\n") + "\n";
}

/** Concrete explicit problems are also checked against the tensor autograd engine, at the verify points. */
function crossCheck(result: DiffResult): AutogradReport | undefined {
  if (!result.verify || !autograd?.autogradApplicable(result.problem)) return undefined;
  const { autogradCheck } = autograd;
  const points = [...new Set(result.verify.checks.map((c) => JSON.stringify(c.point)))].map(
    (p) => JSON.parse(p) as Record<string, number>,
  );
  try {
    const reports = points.map((p) => autogradCheck(result.problem, answersOf(result), p));
    return {
      maxRelError: Math.max(...reports.map((r) => r.maxRelError)),
      checks: reports.flatMap((r) => r.checks),
    };
  } catch (err) {
    if (err instanceof EvaluationError) return undefined; // a function the tensor engine lacks (asin ...)
    throw err;
  }
}

function answersOf(result: DiffResult) {
  return result.answers.map((a, i) => ({ find: result.problem.finds[i]!, expr: a.expr }));
}

function formatPoint(point: Record<string, number>): string {
  return Object.entries(point)
    .map(([k, v]) => `${k}=${v}`)
    .join(", ");
}

function toJson(
  problem: string,
  result: DiffResult,
  evaluated: { values: (number | undefined)[]; point: Record<string, number> } | undefined,
  flags: DiffFlags,
  autograd: AutogradReport | undefined,
): Record<string, unknown> {
  return {
    problem,
    answers: result.answers.map((a, i) => ({
      find: a.find,
      answer: a.ascii,
      unicode: a.unicode,
      latex: a.latex,
      ...(evaluated ? { value: evaluated.values[i] ?? null } : {}),
      ...(flags.steps
        ? {
            steps: a.steps.map((s) => ({
              title: s.title,
              lines: s.lines.map((l) => ({ text: l.unicode, latex: l.latex })),
            })),
          }
        : {}),
    })),
    independents: result.independents,
    unknowns: result.unknowns,
    notes: result.notes,
    ...(evaluated ? { point: evaluated.point } : {}),
    ...(result.verify
      ? {
          verify: {
            max_rel_error: result.verify.maxRelError,
            checks: result.verify.checks.length,
            stand_ins: result.verify.standIns,
            shifted: result.verify.shifted,
            ...(autograd ? { autograd_max_rel_error: autograd.maxRelError } : {}),
          },
        }
      : {}),
  };
}
