// Inference plans (nn/plan.ts) install themselves into Module.call when their file loads. The
// package entry loads it; a program that reaches the zoo another way (the CLI, deep imports) must
// get planned calls too. Before the zoo loaded it, `nabla bench --mode latency` timed unplanned
// forwards (resnet20 batch 1: 0.48 against 0.37 ms planned).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));

test("a zoo model's batch-1 inference is planned without the package entry", () => {
  const out = execFileSync(process.execPath, ["--import", "tsx", path.join(here, "zoo-plans-child.ts")], {
    encoding: "utf8",
    cwd: path.join(here, "../.."),
  });
  assert.ok(Number(out.trim()) > 0, `plan steps: ${out}`);
});
