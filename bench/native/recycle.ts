// Training steps with backward()'s buffer recycling on and off (autograd/recycle.ts): ms per step,
// V8's garbage collections per step (major = mark-compact, whose concurrent marking thread
// competes with the kernels' threads on a 2-core machine; minor = scavenge), and the megabytes of
// large (≥ 64 KiB) outputs allocated per step and handed back for reuse. Alternates the two
// settings for a few rounds so that load on a shared host hits both alike; `off` or `on` as the
// last argument runs only that setting (e.g. under perf, or with node --no-concurrent-marking).
// With --infer, a "step" is an eval-mode forward of a batch of 256 under noGrad instead, where the
// containers recycle each activation once the next layer has consumed it (nn/graph_owned.ts).
//
//   NABLA_NUM_THREADS=2 npx tsx bench/native/recycle.ts [fmnist-cnn|resnet20] [steps] [rounds] [off|on] [--infer]
import { PerformanceObserver, constants } from "node:perf_hooks";
import * as nb from "../../src/index.js";
import { setBufferRecycling } from "../../src/autograd/recycle.js";
import { getBackend } from "../../src/backend/registry.js";
import { createModel } from "../../src/models/index.js";
import { SGD } from "../../src/optim/index.js";
import { crossEntropy } from "../../src/nn/losses.js";

const infer = process.argv.includes("--infer");
const args = process.argv.slice(2).filter((a) => a !== "--infer");
const [name = "fmnist-cnn", stepsArg = "100", roundsArg = "3", only] = args;
const settings = only === "off" ? [false] : only === "on" ? [true] : [false, true];
const fmnist = name === "fmnist-cnn";
const model = createModel(name, { numClasses: 10, inChannels: fmnist ? 1 : 3 });
const batch = infer ? 256 : 64;
const x = nb.randn([batch, fmnist ? 1 : 3, fmnist ? 28 : 32, fmnist ? 28 : 32]);
const y = nb.randint(0, 10, [batch]);
const opt = new SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
if (infer) model.eval();
const step = infer
  ? () => void nb.noGrad(() => model.call(x))
  : () => {
      opt.zeroGrad();
      crossEntropy(model.call(x), y).backward();
      opt.step();
    };

// Bytes of large outputs allocated and handed back, through the backend's two entry points.
const backend = getBackend();
let allocated = 0;
let recycled = 0;
const { allocUninit, recycle } = backend;
if (allocUninit && recycle) {
  backend.allocUninit = (dtype, n) => {
    const a = allocUninit.call(backend, dtype, n);
    if (a.byteLength >= 1 << 16) allocated += a.byteLength;
    return a;
  };
  backend.recycle = (buffer) => {
    recycled += buffer.byteLength;
    recycle.call(backend, buffer);
  };
}

let major = 0;
let minor = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    const kind = (e as unknown as { detail?: { kind?: number } }).detail?.kind;
    if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) major++;
    else if (kind === constants.NODE_PERFORMANCE_GC_MINOR) minor++;
  }
}).observe({ entryTypes: ["gc"] });

const flush = () => new Promise((resolve) => setTimeout(resolve, 0)); // deliver GC entries
console.log(
  `${name}, backend ${backend.name}, ${infer ? "inference" : "training"}, batch ${batch}, ${stepsArg} steps per block`,
);
for (let round = 0; round < Number(roundsArg); round++) {
  for (const on of settings) {
    setBufferRecycling(on);
    for (let i = 0; i < 10; i++) step();
    await flush();
    [major, minor, allocated, recycled] = [0, 0, 0, 0];
    const n = Number(stepsArg);
    const t0 = performance.now();
    for (let i = 0; i < n; i++) step();
    const ms = (performance.now() - t0) / n;
    await flush();
    const mb = (bytes: number) => (bytes / n / 1e6).toFixed(1);
    console.log(
      `recycling ${on ? "on " : "off"}: ${ms.toFixed(2)} ms/step, ` +
        `${(major / n).toFixed(2)} mark-compacts and ${(minor / n).toFixed(2)} scavenges per step, ` +
        `${mb(allocated)} MB of large outputs per step, ${mb(recycled)} MB handed back`,
    );
  }
}
