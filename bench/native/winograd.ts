// Winograd convolutions on and off in one process (NABLA_CONV_WINOGRAD, which the addon reads at
// every call), alternating blocks so machine drift hits both: median ms per training step, per
// inference forward and per batch-1 call. Needs the native backend on an AVX-512 machine.
//
//   NABLA_NUM_THREADS=2 npx tsx bench/native/winograd.ts [fmnist-cnn|resnet20] [blocks]
import { noGrad, randint, randn } from "../../src/index.js"; // (loads the native backend)
import { getBackend } from "../../src/backend/registry.js";
import { createModel } from "../../src/models/index.js";
import { crossEntropy } from "../../src/nn/losses.js";
import { SGD } from "../../src/optim/index.js";

const name = process.argv[2] ?? "resnet20";
const blocks = Number(process.argv[3] ?? 8);
const gray = name === "fmnist-cnn";
const input = (batch: number) => randn([batch, gray ? 1 : 3, gray ? 28 : 32, gray ? 28 : 32]);
if (getBackend().name !== "native") throw new Error("the native backend is not loaded");

/** Median ms of `run` with Winograd off and on, over `blocks` alternating blocks of `per` calls. */
function ab(run: () => void, per: number): [number, number] {
  const times: [number[], number[]] = [[], []];
  for (let b = 0; b < blocks; b++) {
    for (const on of [0, 1] as const) {
      process.env.NABLA_CONV_WINOGRAD = String(on);
      run(); // warm the path (and its cached weights)
      for (let i = 0; i < per; i++) {
        const t = performance.now();
        run();
        times[on].push(performance.now() - t);
      }
    }
  }
  delete process.env.NABLA_CONV_WINOGRAD;
  const median = (a: number[]) => a.sort((p, q) => p - q)[Math.floor(a.length / 2)]!;
  return [median(times[0]), median(times[1])];
}

const model = createModel(name, { numClasses: 10, inChannels: gray ? 1 : 3 });
const report = (what: string, [off, on]: [number, number], unit = "ms") =>
  console.log(
    `${name} ${what}: off ${off.toFixed(3)} ${unit}, on ${on.toFixed(3)} ${unit} (${(off / on).toFixed(2)}x)`,
  );

// Training step, batch 64 (as `nabla bench --mode train`).
model.train();
const x64 = input(64);
const y64 = randint(0, 10, [64]);
const opt = new SGD([...model.parameters()], { lr: 0.01, momentum: 0.9 });
const step = () => {
  opt.zeroGrad();
  crossEntropy(model.call(x64), y64).backward();
  opt.step();
};
for (let i = 0; i < 3; i++) step();
report("train step b64", ab(step, 5));

// Inference forward, batch 256, and batch-1 calls.
model.eval();
const x256 = input(256);
report(
  "infer b256",
  ab(() => noGrad(() => model.call(x256)), 3),
);
const x1 = input(1);
report(
  "latency b1",
  ab(() => noGrad(() => model.call(x1)), 200),
);
