// The problem language and the API: classification of clauses, graph, implicit systems, steps, errors.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  diff,
  MathError,
  ParseError,
  ProblemError,
  stepsLatex,
  stepsText,
} from "../../src/calculus/index.js";

const answers = (problem: string): Record<string, string> =>
  Object.fromEntries(diff(problem, { steps: false }).answers.map((a) => [a.find, a.ascii]));

test("seed examples", () => {
  assert.deepEqual(answers("F(x*z, y + z) = 0; find: dz/dx, dz/dy"), {
    "dz/dx": "-F_1*z/(F_1*x + F_2)",
    "dz/dy": "-F_2/(F_1*x + F_2)",
  });
  assert.deepEqual(answers("u = f(x, y, z); y = g(x, t); t = v(x, z); find: du/dx, du/dz"), {
    "du/dx": "f_1 + f_2*(g_1 + g_2*v_1)",
    "du/dz": "f_2*g_2*v_2 + f_3",
  });
  assert.deepEqual(answers("z = y^(ln x); find: d2z/dx2".replace("ln x", "ln(x)")), {
    "d2z/dx2": "y^ln(x)*ln(y)*(ln(y) - 1)/x^2",
  });
  assert.deepEqual(answers("x/z = ln(z/y); find: dz/dx"), { "dz/dx": "z/(x + z)" });
  assert.deepEqual(answers("z = u^2*ln(v); u = y/x; v = x^2 + y^2; find: dz/dx"), {
    "dz/dx": "2*y^2/(x*(x^2 + y^2)) - 2*y^2*ln(x^2 + y^2)/x^3",
  });
});

test("classification: definitions, equations, unknowns, independents", () => {
  const graph = diff("u = f(x, y, z); y = g(x, t); t = v(x, z); find: du/dx", { steps: false });
  assert.deepEqual(graph.independents, ["x", "z"]);
  assert.deepEqual(graph.unknowns, []);
  const selfRef = diff("z = f(x+y+z, x*y*z); find: dz/dx", { steps: false });
  assert.deepEqual(selfRef.unknowns, ["z"]);
  const cyclic = diff("u = x*v + y; v = u^2 - x; find: du/dx", { steps: false });
  assert.deepEqual(cyclic.unknowns.slice().sort(), ["u", "v"]);
  const inverse = diff("x = u*cos(v); y = u*sin(v); find: du/dx, dv/dy", { steps: false });
  assert.deepEqual(inverse.unknowns, ["u", "v"]);
  assert.deepEqual(inverse.independents, ["x", "y"]);
  const params = diff("z = a*x^2 + b; indep: x; find: dz/dx", { steps: false });
  assert.deepEqual(params.problem.parameters.slice().sort(), ["a", "b"]);
  assert.equal(params.answers[0]!.ascii, "2*a*x");
  const total = diff("z = x^2 + y^2; x = cos(t); y = sin(t); find: dz/dt", { steps: false });
  assert.equal(total.answers[0]!.ascii, "0");
});

test("find syntax: orders, repeats, multi-letter names", () => {
  const r = diff("w = theta^3*r^2; find: d3w/dtheta2dr, d^2w/dr^2, ∂w/∂theta", { steps: false });
  assert.deepEqual(
    r.answers.map((a) => [a.find, a.ascii]),
    [
      ["d3w/dtheta2dr", "12*r*theta"],
      ["d^2w/dr^2", "2*theta^3"],
      ["∂w/∂theta", "3*r^2*theta^2"],
    ],
  );
  assert.throws(() => diff("z = x*y; find: d3z/dxdy"), ParseError);
  assert.throws(() => diff("z = x*y; find: dz/dq"), /'q' does not appear/);
  assert.throws(() => diff("z = x*y; find: dz"), ParseError);
});

test("without find: every first partial of the top definition", () => {
  assert.deepEqual(Object.keys(answers("z = x^2*y")), ["dz/dx", "dz/dy"]);
});

test("ambiguous abstract functions print with their arguments", () => {
  assert.equal(answers("z = f(x, y) + f(y, x); find: dz/dx")["dz/dx"], "f_1(x, y) + f_2(y, x)");
});

test("typed errors for bad problems", () => {
  assert.throws(() => diff(""), ParseError);
  assert.throws(() => diff("z = x +; find: dz/dx"), ParseError);
  assert.throws(() => diff("find: dz/dx"), ProblemError);
  assert.throws(() => diff("z = f(x) + f; find: dz/dx"), /both as a variable and as a function/);
  assert.throws(() => diff("x + y = 1; x - y = 2; z = 3; find: dz/dx"), ProblemError);
  assert.throws(() => diff("x + y = 0; find: dy/dz"), ParseError);
  assert.throws(() => diff("u + v = x; 2*u + 2*v = y; find: du/dx"), MathError);
  assert.throws(() => diff("z = x = y"), ParseError);
});

test("steps show the chain rule for the graph, as text and LaTeX", () => {
  const [a] = diff("z = u^2*ln(v); u = y/x; v = x^2 + y^2; find: dz/dx").answers;
  const text = stepsText(a!.steps);
  assert.match(text, /∂z\/∂x = ∂z\/∂u·∂u\/∂x \+ ∂z\/∂v·∂v\/∂x/);
  assert.match(text, /∂z\/∂u = 2·u·ln\(v\)/);
  assert.match(text, /∂v\/∂x = 2·x/);
  const latex = stepsLatex(a!.steps);
  assert.match(latex, /\\frac\{\\partial z\}\{\\partial x\} &= /);
  const [imp] = diff("e^z - x*y*z = 0; find: d2z/dx2").answers;
  const impText = stepsText(imp!.steps);
  assert.match(impText, /e\^z − x·y·z = 0/);
  assert.match(impText, /Differentiate dz\/dx by x, where z depends on x/);
  const total = diff("z = f(x, y); y = g(x); find: dz/dx").answers[0]!;
  assert.match(stepsText(total.steps), /dz\/dx = ∂z\/∂x \+ ∂z\/∂y·dy\/dx/);
});

test("systems solve by Cramer's rule", () => {
  const r = answers("u + v = x + y; x*u + y*v = 1; find: du/dx, dv/dy");
  assert.deepEqual(r, { "du/dx": "(u + y)/(y - x)", "dv/dy": "(v + x)/(x - y)" });
});

test("speed: the seed problems take milliseconds", () => {
  const start = performance.now();
  for (let i = 0; i < 5; i++)
    diff(`z = u^2*ln(v); u = y/x; v = x^2 + y^${i + 2}; find: dz/dx, dz/dy, d2z/dxdy`);
  assert.ok(performance.now() - start < 2000);
});
