// How much of a batch-1 inference call is the kernels, and how much everything around them: the
// model's forward under noGrad (inference plans off), the same call with plans on (src/nn/plan.ts:
// guards, then the recorded kernel calls, as native programs: src/nn/plan_replay.ts), the same
// with the programs off (each kernel call on its own), and those kernel calls replayed bare (recorded here
// from one forward, with the same arguments and buffers, so each kernel still reads what the
// previous one wrote). Forward − bare replay is what the JavaScript between the kernels costs,
// including the caches it and the kernels take from each other.
//
//   NABLA_NUM_THREADS=2 npx tsx bench/native/replay.ts [resnet20|fmnist-cnn|<zoo name>] [batch]
import { nn, noGrad, randn } from "../../src/index.js"; // (loads the native backend)
import { getBackend } from "../../src/backend/registry.js";
import type { KernelName, Kernels } from "../../src/backend/backend.js";
import { createModel } from "../../src/models/index.js";

const name = process.argv[2] ?? "resnet20";
const batch = Number(process.argv[3] ?? 1);
const gray = name === "fmnist-cnn";
if (getBackend().name !== "native") throw new Error("the native backend is not loaded");

const model = createModel(name, { numClasses: 10, inChannels: gray ? 1 : 3 });
model.eval();
const x = randn([batch, gray ? 1 : 3, gray ? 28 : 32, gray ? 28 : 32]);
const forward = () => noGrad(() => model.call(x));
nn.setInferencePlans(false);
for (let i = 0; i < 500; i++) forward(); // V8 optimises the forward; the buffer pool settles

// Record one forward's kernel calls. In steady state the buffer pool hands each call the same
// buffers every forward, so the recorded arguments are the ones the next forwards use too.
const kernels = getBackend().kernels as Record<string, (...args: unknown[]) => unknown>;
const calls: [(...args: unknown[]) => unknown, unknown[]][] = [];
const names = Object.keys(kernels) as KernelName[];
const original = new Map<KernelName, Kernels[KernelName]>();
for (const k of names) {
  const f = kernels[k]!;
  original.set(k, f as Kernels[KernelName]);
  kernels[k] = (...args: unknown[]) => {
    calls.push([f, args]);
    return f(...args);
  };
}
forward();
for (const k of names) kernels[k] = original.get(k) as (...args: unknown[]) => unknown;
const replay = () => {
  for (const [f, args] of calls) f(...args);
};

// Alternating blocks, the median per call of each.
const per = batch === 1 ? 300 : 5;
const times: Record<"forward" | "planned" | "stepwise" | "replay", number[]> = {
  forward: [],
  planned: [],
  stepwise: [],
  replay: [],
};
for (let r = 0; r < 12; r++) {
  for (const [what, run] of [
    ["forward", forward],
    ["planned", forward],
    ["stepwise", forward],
    ["replay", replay],
  ] as const) {
    nn.setInferencePlans(what === "planned" || what === "stepwise");
    nn.setInferencePrograms(what !== "stepwise");
    for (let i = 0; i < 20; i++) run();
    const t = performance.now();
    for (let i = 0; i < per; i++) run();
    times[what].push(((performance.now() - t) / per) * 1e3);
  }
}
const median = (v: number[]) => [...v].sort((p, q) => p - q)[v.length >> 1]!;
const [f, p, k] = [median(times.forward), median(times.planned), median(times.replay)];
const s = median(times.stepwise);
console.log(
  `${name} batch ${batch}: forward ${f.toFixed(1)} µs, planned ${p.toFixed(1)} µs (${(f / p).toFixed(2)}x), ` +
    `planned without programs ${s.toFixed(1)} µs (programs ${(s / p).toFixed(2)}x), ` +
    `its ${calls.length} kernel calls replayed bare ${k.toFixed(1)} µs ` +
    `(${((100 * (f - k)) / f).toFixed(0)} % of the forward is outside the kernels)`,
);
