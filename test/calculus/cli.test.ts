// `nabla diff` end to end, in a child process (so exit codes and stdout/stderr are real).
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import assert from "node:assert/strict";

const run = (args: string[], input?: string) =>
  spawnSync(process.execPath, ["--import", "tsx", "src/cli/main.ts", "diff", ...args], {
    encoding: "utf8",
    ...(input !== undefined ? { input } : {}),
  });

test("answers, steps, LaTeX", () => {
  const r = run(["F(x*z, y + z) = 0; find: dz/dx", "--steps"]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /dz\/dx = -F_1\*z\/\(F_1\*x \+ F_2\)/);
  assert.match(r.stdout, /Differentiate by x, with z depending on x/);
  const latex = run(["z = x^2*y; find: dz/dx", "--latex"]);
  assert.equal(latex.stdout.trim(), "\\frac{\\partial z}{\\partial x} = 2 x y");
});

test("--json with --verify and --at", () => {
  const r = run(["e^z - x*y*z = 0; find: dz/dx", "--json", "--verify", "--at", "x=1,y=3"]);
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as {
    answers: { find: string; answer: string; value: number }[];
    verify: { max_rel_error: number };
  };
  assert.deepEqual(out.answers[0]!.find, "dz/dx");
  assert.equal(out.answers[0]!.answer, "y*z/(exp(z) - x*y)");
  assert.ok(Number.isFinite(out.answers[0]!.value));
  assert.ok(out.verify.max_rel_error < 1e-6);
});

test("bad input: typed error, exit 1", () => {
  const r = run(["z = sin(x"]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^nabla: ParseError: expected/);
  const bad = run(["z = x; find: dz/dx", "--at", "x"]);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /ValueError/);
});

test("stdin batch with --json: one object per line, errors inline", () => {
  const r = run(["--json"], "z = x^2*y; find: dz/dx\nz = 2x\n\nx^2 + y^2 = 1; find: dy/dx\n");
  assert.equal(r.status, 1);
  const lines = r.stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(lines.length, 3);
  assert.deepEqual((lines[0]!.answers as { answer: string }[])[0]!.answer, "2*x*y");
  assert.equal((lines[1]!.error as { type: string }).type, "ParseError");
  assert.deepEqual((lines[2]!.answers as { answer: string }[])[0]!.answer, "-x/y");
});
