// Step 3 of the SymPy comparison: answer size (node count) of nabla vs SymPy's simplify(), and time.
//
// Both answers are read by the same parser into the same canonical form and counted the same way
// (nodeCount: every number, symbol, operator, function = 1; f_1 etc. are symbols on both sides).
//
//   npx tsx bench/calculus/compare.ts
import { readFileSync } from "node:fs";
import { clearSimplifyCache, diff, nodeCount, parse } from "../../src/calculus/index.js";

interface SympyAnswers {
  sympy: string;
  problems: {
    problem: string;
    answers: { find: string; answer: string; ms: number }[];
    ms: number;
    error?: string;
  }[];
}

const ref = JSON.parse(
  readFileSync(new URL("./sympy-answers.json", import.meta.url), "utf8"),
) as SympyAnswers;
const ratios: number[] = [];
let ours = 0;
let theirs = 0;
let smaller = 0;
let equal = 0;
let larger = 0;
const worst: { ratio: number; find: string; problem: string; mine: string; sympy: string }[] = [];
const oursMs: number[] = [];
const sympyMs: number[] = [];
let skipped = 0;
let unreadable = 0;

for (const p of ref.problems) diff(p.problem, { steps: false }); // warm-up
for (const p of ref.problems) {
  if (p.error || p.answers.length === 0) {
    skipped++;
    continue;
  }
  clearSimplifyCache();
  const start = performance.now();
  const result = diff(p.problem, { steps: false });
  oursMs.push(performance.now() - start);
  sympyMs.push(p.ms);
  for (const s of p.answers) {
    const mine = result.answers.find((a) => a.find === s.find);
    if (!mine) continue;
    let b: number;
    try {
      b = nodeCount(parse(s.answer));
    } catch {
      unreadable++; // e.g. Piecewise(...) — outside the answer syntax
      continue;
    }
    const a = nodeCount(parse(mine.ascii));
    ours += a;
    theirs += b;
    ratios.push(a / b);
    if (a < b) smaller++;
    else if (a === b) equal++;
    else larger++;
    worst.push({ ratio: a / b, find: s.find, problem: p.problem, mine: mine.ascii, sympy: s.answer });
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};
const geomean = Math.exp(ratios.reduce((s, r) => s + Math.log(r), 0) / ratios.length);
console.log(
  `SymPy ${ref.sympy}: ${ratios.length} answers compared (${skipped} problems skipped: SymPy error/timeout; ${unreadable} SymPy answers outside the answer syntax)`,
);
console.log(
  `node count nabla/SymPy: total ${ours}/${theirs} = ${(ours / theirs).toFixed(3)}, geometric mean ratio ${geomean.toFixed(3)}, median ratio ${median(ratios).toFixed(3)}`,
);
console.log(`nabla smaller: ${smaller}, equal: ${equal}, larger: ${larger}`);
console.log(
  `time per problem: nabla median ${median(oursMs).toFixed(2)} ms, SymPy (diff + simplify) median ${median(sympyMs).toFixed(1)} ms`,
);
worst.sort((a, b) => b.ratio - a.ratio);
console.log("largest ratios:");
for (const w of worst.slice(0, 5))
  console.log(
    `  ${w.ratio.toFixed(2)}  ${w.problem}  [${w.find}]\n        nabla: ${w.mine}\n        sympy: ${w.sympy}`,
  );
