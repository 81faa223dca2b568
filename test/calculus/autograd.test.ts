// Concrete explicit problems of the suite, checked against the tensor autograd engine (float64,
// higher orders by double backward) — a second, independent numeric proof.
import { readFileSync } from "node:fs";
import { test } from "node:test";
import assert from "node:assert/strict";
import { diff, EvaluationError } from "../../src/calculus/index.js";
import { autogradApplicable, autogradCheck } from "../../src/calculus/autograd-check.js";

const problems = (
  JSON.parse(readFileSync(new URL("./problems.json", import.meta.url), "utf8")) as {
    problem: string;
    point?: Record<string, number>;
  }[]
).filter((p) => !/asin|acos|atan|arctan/.test(p.problem));

test("symbolic answers agree with the tensor autograd engine", () => {
  let checked = 0;
  for (const { problem, point } of problems) {
    const r = diff(problem, { steps: false });
    if (!autogradApplicable(r.problem)) continue;
    const at =
      point ??
      Object.fromEntries([...r.independents, ...r.problem.parameters].map((v, i) => [v, 0.6 + 0.17 * i]));
    let report;
    try {
      report = autogradCheck(
        r.problem,
        r.answers.map((a, i) => ({ find: r.problem.finds[i]!, expr: a.expr })),
        at,
      );
    } catch (err) {
      if (err instanceof EvaluationError) continue;
      throw err;
    }
    for (const c of report.checks) {
      if (!Number.isFinite(c.autograd)) continue; // outside the domain at this point
      assert.ok(c.relError < 1e-9, `${problem} [${c.find}]: symbolic ${c.symbolic}, autograd ${c.autograd}`);
      checked++;
    }
  }
  assert.ok(checked >= 80, `${checked} answers checked`);
});
