// Property-based tests (fast-check):
//  * the parser, fed random strings over the expression alphabet, returns an expression or throws
//    a ParseError — nothing else;
//  * random well-formed problems never throw anything but typed (NablaError) errors;
//  * d/dx of random expressions agrees with central finite differences wherever both are finite;
//  * simplify never changes an expression's value.
import { test } from "node:test";
import assert from "node:assert/strict";
import { fc } from "../support/fuzz.js";
import {
  diff,
  differentiate,
  evaluate,
  parse,
  ParseError,
  simplify,
  toAscii,
} from "../../src/calculus/index.js";
import { NablaError } from "../../src/errors.js";

const FUNCTIONS = ["sin", "cos", "exp", "ln", "sqrt", "atan", "tanh", "cosh"];

/** Random well-formed expressions in x and y, as text. */
const expression: fc.Arbitrary<string> = fc.letrec<{ e: string }>((tie) => ({
  e: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constantFrom("x", "y", "2", "3", "1/2", "0.5", "pi", "e"),
    fc
      .tuple(tie("e"), fc.constantFrom("+", "-", "*", "/"), tie("e"))
      .map(([a, op, b]) => `(${a}) ${op} (${b})`),
    fc
      .tuple(tie("e"), fc.constantFrom("2", "3", "-1", "1/2"))
      .map(([a, k]) => `(${a})^${k.startsWith("-") || k.includes("/") ? `(${k})` : k}`),
    fc.tuple(fc.constantFrom(...FUNCTIONS), tie("e")).map(([f, a]) => `${f}(${a})`),
  ),
})).e;

test("parser: random strings give an expression or a ParseError", () => {
  const alphabet = fc.constantFrom(..."xy12.+-*/^(),= sinf_e".split(""), "**", "ln", "sqrt(", "f(");
  fc.assert(
    fc.property(fc.array(alphabet, { maxLength: 25 }), (parts) => {
      const text = parts.join("");
      try {
        parse(text);
      } catch (err) {
        assert.ok(err instanceof ParseError, `${text}: ${String(err)}`);
      }
    }),
    { numRuns: 2000 },
  );
});

test("problems: random well-formed problems throw only typed errors", () => {
  const problem = fc
    .tuple(expression, expression, fc.constantFrom("dz/dx", "dz/dy", "d2z/dxdy", "d2z/dx2"), fc.boolean())
    .map(([a, b, find, implicit]) =>
      implicit ? `z*(${a}) = ${b} + z^3; find: ${find}` : `z = (${a})*f(${b}, x); find: ${find}`,
    );
  fc.assert(
    fc.property(problem, (text) => {
      try {
        diff(text, { steps: true });
      } catch (err) {
        assert.ok(err instanceof NablaError, `${text}: ${String(err)}`);
      }
    }),
    { numRuns: 150 },
  );
});

test("d/dx agrees with finite differences", () => {
  fc.assert(
    fc.property(
      expression,
      fc.double({ min: 0.3, max: 1.7, noNaN: true }),
      fc.double({ min: 0.3, max: 1.7, noNaN: true }),
      (text, x, y) => {
        let e;
        try {
          e = parse(text);
        } catch (err) {
          if (err instanceof NablaError) return; // e.g. a constant division by zero
          throw err;
        }
        const d = simplify(differentiate(e, "x"));
        const at = (v: number): number =>
          evaluate(
            e,
            new Map([
              ["x", v],
              ["y", y],
            ]),
          );
        const h = 1e-4 * Math.max(1, Math.abs(x));
        // Richardson extrapolation of two central differences: error O(h⁴) instead of O(h²).
        const coarse = (at(x + h) - at(x - h)) / (2 * h);
        const fine = (at(x + h / 2) - at(x - h / 2)) / h;
        const numeric = (4 * fine - coarse) / 3;
        const f0 = at(x);
        const symbolic = evaluate(
          d,
          new Map([
            ["x", x],
            ["y", y],
          ]),
        );
        // Only where the function is finite and smooth enough for a central difference to be meaningful.
        if (![numeric, symbolic, f0, at(x + 100 * h), at(x - 100 * h)].every(Number.isFinite)) return;
        const second = (at(x + 100 * h) - 2 * f0 + at(x - 100 * h)) / (100 * h) ** 2;
        if (Math.abs(second) * h > 1e3 * Math.max(1, Math.abs(numeric))) return; // near a singularity
        const scale = Math.max(1, Math.abs(numeric), Math.abs(f0) / Math.max(x, 1e-3));
        // Where the two differences disagree, the function oscillates too fast for them to judge.
        if (Math.abs(fine - coarse) > 1e-2 * scale) return;
        assert.ok(
          Math.abs(symbolic - numeric) <= 1e-4 * scale,
          `d/dx ${text} at x=${x}, y=${y}: symbolic ${symbolic} (${toAscii(d)}), numeric ${numeric}`,
        );
      },
    ),
    { numRuns: 400 },
  );
});

test("simplify preserves values", () => {
  fc.assert(
    fc.property(
      expression,
      fc.double({ min: 0.3, max: 1.7, noNaN: true }),
      fc.double({ min: 0.3, max: 1.7, noNaN: true }),
      (text, x, y) => {
        let e;
        try {
          e = parse(text);
        } catch (err) {
          if (err instanceof NablaError) return;
          throw err;
        }
        const point = new Map([
          ["x", x],
          ["y", y],
        ]);
        const before = evaluate(e, point);
        const after = evaluate(simplify(e), point);
        if (!Number.isFinite(before) || !Number.isFinite(after)) return;
        assert.ok(
          Math.abs(before - after) <= 1e-8 * Math.max(1, Math.abs(before)),
          `${text}: ${before} vs ${after}`,
        );
      },
    ),
    { numRuns: 400 },
  );
});
