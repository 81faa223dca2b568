// Import every torchvision architecture in scripts/onnx/export_torchvision.py (random weights,
// exported by PyTorch), run it in nabla and in ONNX Runtime on the same input (batch 2, so the
// dynamic batch dim is exercised), and print the max relative error and timings.
//
// Run: npx tsx bench/onnx/import_check.ts [name ...]
import { load } from "../../src/io/onnx/index.js";
import { randn, manualSeed } from "../../src/tensor/index.js";
import { noGrad } from "../../src/autograd/engine.js";
import {
  maxRelativeError,
  runOrt,
  torchUnavailable,
  torchvisionFixtures,
} from "../../scripts/onnx/torchvision-fixtures.js";

const reason = torchUnavailable();
if (reason) {
  console.log(`skipped: ${reason}`);
  process.exit(0);
}
const fixtures = torchvisionFixtures(process.argv.slice(2));
console.log(
  "| model | opset | input | params | nodes | load ms | nabla forward ms | max rel. error vs ORT |",
);
console.log("| --- | --- | --- | --- | --- | --- | --- | --- |");
let worst = 0;
for (const f of fixtures) {
  manualSeed(0);
  const shape = [2, ...f.input.slice(1)];
  const x = randn(shape);
  let t0 = performance.now();
  const model = load(f.path).eval();
  const loadMs = performance.now() - t0;
  t0 = performance.now();
  const y = noGrad(() => model.call(x));
  const fwdMs = performance.now() - t0;
  const err = maxRelativeError(y.data, await runOrt(f.path, x));
  worst = Math.max(worst, err);
  console.log(
    `| ${f.name} | ${f.opset} | ${shape.join("×")} | ${model.numParameters().toLocaleString("en")} | ` +
      `${model.nodes.length} | ${loadMs.toFixed(0)} | ${fwdMs.toFixed(0)} | ${err.toExponential(2)} |`,
  );
}
console.log(
  `\nworst max relative error: ${worst.toExponential(2)} (limit 1e-4): ${worst <= 1e-4 ? "PASS" : "FAIL"}`,
);
process.exitCode = worst <= 1e-4 ? 0 : 1;
