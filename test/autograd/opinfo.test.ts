// The op-info conformance suite on the reference backend: for every op in the table, forward
// against the naive loop reference, gradcheck and gradgradcheck, and typed shape errors.
import { test } from "node:test";
import assert from "node:assert/strict";
import { opInfos, checkOpInfo, refBackend } from "../../src/index.js";

for (const info of opInfos) {
  test(`conformance: ${info.name}`, () => {
    const failures = checkOpInfo(info, { backend: refBackend });
    assert.deepEqual(
      failures.map((f) => `${f.sample} [${f.check}]: ${f.message}`),
      [],
    );
  });
}
