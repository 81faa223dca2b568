// Export every zoo model with nabla's tracer, run the file in ONNX Runtime at two batch sizes
// (the batch dim is symbolic), import it back into nabla, and print the max relative errors.
// ImageNet-size models use 10 classes and a 64×64 input (VGG: 32×32, where its 1×1 features go
// through AdaptiveAvgPool2d(7)'s general MatMul form).
//
// Run: npx tsx bench/onnx/export_check.ts [name ...]
import { parseModel, traceToOnnx } from "../../src/io/onnx/index.js";
import { createModel, listModels } from "../../src/models/index.js";
import { manualSeed, rand, randn } from "../../src/tensor/index.js";
import { noGrad } from "../../src/autograd/engine.js";
import { maxRelativeError, runOrt } from "../../scripts/onnx/torchvision-fixtures.js";

const only = process.argv.slice(2);
console.log(
  "| model | input | params | ONNX MB | export ms | rel. error vs ORT (batch 1, 3) | re-imported |",
);
console.log("| --- | --- | --- | --- | --- | --- | --- |");
let worst = 0;
for (const info of listModels().filter((m) => only.length === 0 || only.includes(m.name))) {
  manualSeed(0);
  const imagenet = info.defaultInput[1] > 64;
  const model = createModel(info.name, imagenet ? { numClasses: 10 } : {});
  for (const [key, b] of model.namedBuffers()) {
    if (key.endsWith("running_mean")) b.data.set(randn(b.shape).mul(0.1).data);
    if (key.endsWith("running_var")) b.data.set(rand(b.shape).add(0.5).data);
  }
  model.eval();
  const side = info.name.startsWith("vgg") ? 32 : Math.min(info.defaultInput[1], 64);
  const x1 = randn([1, info.defaultInput[0], side, side]);
  const t0 = performance.now();
  const { bytes, output } = traceToOnnx(model, x1);
  const exportMs = performance.now() - t0;
  const x3 = randn([3, info.defaultInput[0], side, side]);
  const y3 = noGrad(() => model.call(x3));
  const e1 = maxRelativeError(output.data, await runOrt(bytes, x1));
  const e3 = maxRelativeError(y3.data, await runOrt(bytes, x3));
  const back = parseModel(bytes).eval();
  const eBack = maxRelativeError(noGrad(() => back.call(x3)).data, y3.data);
  worst = Math.max(worst, e1, e3, eBack);
  console.log(
    `| ${info.name} | ${x1.shape.slice(1).join("×")} | ${model.numParameters().toLocaleString("en")} | ` +
      `${(bytes.length / 2 ** 20).toFixed(1)} | ${exportMs.toFixed(0)} | ${e1.toExponential(1)}, ${e3.toExponential(1)} | ` +
      `${eBack.toExponential(1)} |`,
  );
}
console.log(
  `\nworst max relative error: ${worst.toExponential(2)} (limit 1e-4): ${worst <= 1e-4 ? "PASS" : "FAIL"}`,
);
process.exitCode = worst <= 1e-4 ? 0 : 1;
