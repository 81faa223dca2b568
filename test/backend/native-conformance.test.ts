// The whole op-info conformance suite on the native backend (forward against the naive loops,
// gradcheck, gradgradcheck, typed errors), with every uninitialised output poisoned with NaN so a
// kernel that leaves part of its output unwritten fails. Skips when the addon has not been built.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { checkOpInfo, opInfos } from "../../src/autograd/testing/opinfo.js";
import { loadNativeBackend, setPoisonUninit } from "../../src/backend/native/index.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const built = existsSync(path.join(root, "build", "Release", "nabla_native.node"));
const skip: string | false = !built
  ? "native addon not built"
  : process.env["NABLA_BACKEND"] === "ref"
    ? "NABLA_BACKEND=ref"
    : false;

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
