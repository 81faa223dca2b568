// Every problem of the suite (problems.json, ≥150 across all categories) is solved and its answers
// are checked numerically against finite differences with concrete stand-ins (verify.ts); where an
// expected answer is stored, the printed answer must match it exactly.
import { readFileSync } from "node:fs";
import { test } from "node:test";
import assert from "node:assert/strict";
import { diff } from "../../src/calculus/index.js";

interface Entry {
  readonly category: string;
  readonly problem: string;
  readonly point?: Record<string, number>;
  readonly expected?: Record<string, string>;
}

const problems = JSON.parse(readFileSync(new URL("./problems.json", import.meta.url), "utf8")) as Entry[];

test("the suite has at least 150 problems in every category", () => {
  assert.ok(problems.length >= 150, `${problems.length} problems`);
  const categories = new Set(problems.map((p) => p.category));
  for (const c of ["seed", "explicit", "intermediate", "abstract", "implicit", "system", "total"])
    assert.ok(categories.has(c), c);
  const orders = new Set(problems.flatMap((p) => [...p.problem.matchAll(/d(\d)\w/g)].map((m) => m[1])));
  assert.ok(orders.has("2") && orders.has("3"), "higher orders up to 3");
});

for (const entry of problems) {
  test(`${entry.category}: ${entry.problem}`, () => {
    const result = diff(entry.problem, { verify: entry.point ? { point: entry.point } : { points: 2 } });
    assert.ok(result.answers.length > 0);
    for (const a of result.answers) assert.ok(a.steps.length > 0, `steps for ${a.find}`);
    const report = result.verify!;
    assert.ok(
      report.maxRelError < 1e-5,
      `max relative error ${report.maxRelError}: ${JSON.stringify(report.checks)}`,
    );
    for (const [find, answer] of Object.entries(entry.expected ?? {})) {
      const got = result.answers.find((a) => a.find === find);
      assert.equal(got?.ascii, answer, find);
    }
  });
}
