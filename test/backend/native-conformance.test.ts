// The whole op-info conformance suite on the native backend (forward against the naive loops,
// gradcheck, gradgradcheck, typed errors), with every uninitialised output poisoned with NaN so a
// kernel that leaves part of its output unwritten fails. Skips when the addon has not been built.
import { test } from "node:test";
import assert from "node:assert/strict";
import { checkOpInfo, opInfos } from "../../src/autograd/testing/opinfo.js";
import { loadNativeBackend, setPoisonUninit } from "../../src/backend/native/index.js";
import { skip } from "../support/native.js";

for (const info of opInfos) {
  test(`native conformance: ${info.name}`, { skip }, () => {
    const backend = loadNativeBackend()!;
    setPoisonUninit(true);
    try {
      const failures = checkOpInfo(info, { backend });
      assert.deepEqual(
        failures.map((f) => `${f.sample} [${f.check}]: ${f.message}`),
        [],
      );
    } finally {
      setPoisonUninit(false);
    }
  });
}
