// Step 1 of the SymPy comparison: write each suite problem in a form SymPy can read
// (bench/calculus/sympy-input.json). Only the *structure* comes from nabla (definitions
// substituted, which symbols are unknowns); SymPy does all the differentiation and simplification.
//
//   npx tsx bench/calculus/export-sympy.ts && /usr/bin/python3 bench/calculus/sympy_reference.py && npx tsx bench/calculus/compare.ts
import { readFileSync, writeFileSync } from "node:fs";
import { parseProblem, toAscii } from "../../src/calculus/index.js";
import { Solver } from "../../src/calculus/solve.js";

const problems = JSON.parse(
  readFileSync(new URL("../../test/calculus/problems.json", import.meta.url), "utf8"),
) as {
  problem: string;
}[];
const sympy = { dialect: "sympy" } as const;
const out = problems.map(({ problem }) => {
  const p = parseProblem(problem);
  const solver = new Solver(p);
  return {
    problem,
    functions: Object.fromEntries(p.functions),
    independents: p.independents,
    parameters: p.parameters,
    unknowns: p.unknowns,
    equations: p.equations.map((e) => toAscii(e.residual, sympy)),
    finds: p.finds.map((f) => ({
      find: f.text,
      target: toAscii(solver.base(f.target), sympy),
      vars: f.vars,
    })),
  };
});
writeFileSync(new URL("./sympy-input.json", import.meta.url), JSON.stringify(out, null, 1) + "\n");
console.log(`wrote ${out.length} problems to bench/calculus/sympy-input.json`);
