// Time per problem over the test suite (test/calculus/problems.json).
//
//   npx tsx bench/calculus/bench.ts            answers only (what `nabla diff` computes)
//   npx tsx bench/calculus/bench.ts --steps    answers + step-by-step working
//
// Each problem is timed from scratch (the simplifier's cache is cleared before it), after a
// warm-up pass so the JIT has compiled the engine. Prints median, p90 and max in ms.
import { readFileSync } from "node:fs";
import { clearSimplifyCache, diff } from "../../src/calculus/index.js";

const withSteps = process.argv.includes("--steps");
const problems = (
  JSON.parse(readFileSync(new URL("../../test/calculus/problems.json", import.meta.url), "utf8")) as {
    problem: string;
  }[]
).map((p) => p.problem);

for (const p of problems) diff(p, { steps: withSteps }); // warm-up

const times: number[] = [];
for (const p of problems) {
  clearSimplifyCache();
  const start = performance.now();
  diff(p, { steps: withSteps });
  times.push(performance.now() - start);
}
times.sort((a, b) => a - b);
const at = (q: number): number => times[Math.min(times.length - 1, Math.floor(q * times.length))]!;
console.log(
  `${problems.length} problems${withSteps ? " (with steps)" : ""}: median ${at(0.5).toFixed(2)} ms, p90 ${at(0.9).toFixed(2)} ms, max ${times[times.length - 1]!.toFixed(1)} ms, total ${times.reduce((a, b) => a + b, 0).toFixed(0)} ms`,
);
