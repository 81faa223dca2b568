// The inference plans' field guard (src/nn/plan_fields.ts): after a snapshot, every change to an
// object's own fields must be seen, through the compiled checker and through the generic one
// (used where code cannot be compiled at run time).
import { test } from "node:test";
import assert from "node:assert/strict";
import { sameFields, snapshotFields, type FieldState } from "../../src/nn/plan_fields.js";

class Layer {
  weight = { id: 1 };
  stride = [1, 1];
  names = ["a", "b"];
  eps = 1e-5;
  training = false;
  bias: object | null = null;
}

/** Both ways of checking `f`: the compiled checker (which must exist here) and the generic one. */
function checks(f: FieldState): [string, boolean][] {
  assert.ok(f.check !== null, "a checker is compiled under Node");
  return [
    ["compiled", sameFields(f)],
    ["generic", sameFields({ ...f, check: null })],
  ];
}

const changes: [string, (m: Layer & Record<string, unknown>) => void][] = [
  ["an object field replaced", (m) => (m.weight = { id: 1 })],
  ["a number array changed in place", (m) => (m.stride[1] = 2)],
  ["a number array replaced by a longer one", (m) => (m.stride = [1, 1, 1])],
  ["a number field", (m) => (m.eps = 1e-3)],
  ["a boolean field", (m) => (m.training = true)],
  ["null replaced", (m) => (m.bias = {})],
  ["a key added", (m) => (m.forward = () => 0)],
  ["a key deleted", (m) => delete (m as Partial<Layer>).bias],
  ["a key deleted and another added", (m) => (delete (m as Partial<Layer>).bias, (m.extra = null))],
];

for (const [what, change] of changes) {
  test(`the field guard sees ${what}`, () => {
    const m = new Layer() as Layer & Record<string, unknown>;
    const f = snapshotFields(m);
    for (const [how, same] of checks(f)) assert.equal(same, true, `${how}: unchanged`);
    change(m);
    for (const [how, same] of checks(f)) assert.equal(same, false, `${how}: ${what}`);
  });
}

test("the field guard compares arrays of numbers by value and other arrays by identity", () => {
  const m = new Layer();
  const f = snapshotFields(m);
  m.stride = [1, 1]; // a new array with the same numbers: the same configuration
  for (const [how, same] of checks(f)) assert.equal(same, true, `${how}: equal numbers`);
  m.names = ["a", "b"]; // a different array of other things
  for (const [how, same] of checks(f)) assert.equal(same, false, `${how}: another array`);
});

test("odd keys are read as keys, never run as code", () => {
  const m: Record<string, unknown> = { 'a"]; throw 1; //': 1, "\u2028": [2], "": null };
  const f = snapshotFields(m);
  for (const [how, same] of checks(f)) assert.equal(same, true, `${how}: unchanged`);
  (m["\u2028"] as number[])[0] = 3;
  for (const [how, same] of checks(f)) assert.equal(same, false, `${how}: changed`);
});
