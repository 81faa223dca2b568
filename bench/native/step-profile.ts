// Where a training step (or an inference forward) spends its time, kernel by kernel: wraps every
// kernel of the active backend with a timer, runs warm-up steps, then averages over 20 steps.
// Kernels the backend lacks show as "ref:<name>" (they fall back to the TypeScript reference).
//
//   NABLA_NUM_THREADS=1 npx tsx bench/native/step-profile.ts [fmnist-cnn|resnet20] [train|infer] [batch]
import * as nb from "../../src/index.js";
import { getBackend } from "../../src/backend/registry.js";
import { refKernels } from "../../src/backend/ref/index.js";
import type { Kernels } from "../../src/backend/backend.js";
import { createModel } from "../../src/models/index.js";
import { SGD } from "../../src/optim/index.js";
import { crossEntropy } from "../../src/nn/losses.js";

const [name = "fmnist-cnn", mode = "train", batchArg = "64"] = process.argv.slice(2);
const batch = Number(batchArg);
const fmnist = name === "fmnist-cnn";
const model = createModel(name, { numClasses: 10, inChannels: fmnist ? 1 : 3 });
const side = fmnist ? 28 : 32;
const x = nb.randn([batch, fmnist ? 1 : 3, side, side]);
const y = nb.randint(0, 10, [batch]);
const opt = new SGD([...model.parameters()], { lr: 0.01, momentum: 0.9 });
if (mode !== "train") model.eval();
const step =
  mode === "train"
    ? () => {
        opt.zeroGrad();
        crossEntropy(model.call(x), y).backward();
        opt.step();
      }
    : () => nb.noGrad(() => model.call(x));

const backend = getBackend();
const kernels = backend.kernels as Record<string, unknown>;
const times = new Map<string, { ms: number; calls: number }>();
for (const k of Object.keys(refKernels) as (keyof Kernels)[]) {
  const f = (kernels[k] ?? refKernels[k]) as (...a: unknown[]) => unknown;
  const label = kernels[k] ? k : `ref:${k}`;
  kernels[k] = (...a: unknown[]) => {
    const t0 = performance.now();
    const r = f(...a);
    const e = times.get(label) ?? { ms: 0, calls: 0 };
    e.ms += performance.now() - t0;
    e.calls++;
    times.set(label, e);
    return r;
  };
}
// Storage allocation too, zero-filled and uninitialised apart.
const b = backend as { alloc: (...a: unknown[]) => unknown; allocUninit?: (...a: unknown[]) => unknown };
for (const key of ["alloc", "allocUninit"] as const) {
  const f = b[key];
  if (!f) continue;
  b[key] = (...a: unknown[]) => {
    const t0 = performance.now();
    const r = f(...a);
    const label = key === "alloc" ? "(allocation)" : "(allocation, uninit)";
    const e = times.get(label) ?? { ms: 0, calls: 0 };
    e.ms += performance.now() - t0;
    e.calls++;
    times.set(label, e);
    return r;
  };
}
for (let i = 0; i < 3; i++) step();
times.clear();
const steps = 20;
const t0 = performance.now();
for (let i = 0; i < steps; i++) step();
const total = (performance.now() - t0) / steps;
const rows = [...times].sort((a, b) => b[1].ms - a[1].ms);
const inKernels =
  rows.filter(([k]) => !k.startsWith("(allocation")).reduce((s, [, v]) => s + v.ms, 0) / steps;
console.log(
  `${backend.name} ${name} ${mode} batch ${batch}: ${total.toFixed(2)} ms/step, ${inKernels.toFixed(2)} in kernels`,
);
for (const [k, v] of rows)
  console.log(
    `${k.padEnd(26)} ${(v.ms / steps).toFixed(3).padStart(8)} ms ${(v.calls / steps).toFixed(1).padStart(6)} calls`,
  );
