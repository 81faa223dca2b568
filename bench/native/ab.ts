// Two settings of an addon environment variable in one process, alternating blocks so machine
// drift hits both: median ms per training step (batch 64), per inference forward (batch 256) and
// per batch-1 call. The addon reads these variables at every call (NABLA_CONV_WINOGRAD,
// NABLA_PARTS), so both settings run on the same weights, inputs and warm caches.
//
//   NABLA_NUM_THREADS=2 npx tsx bench/native/ab.ts VAR A B [fmnist-cnn|resnet20] [blocks] [train,infer,latency]
import { noGrad, randint, randn } from "../../src/index.js"; // (loads the native backend)
import { getBackend } from "../../src/backend/registry.js";
import { createModel } from "../../src/models/index.js";
import { crossEntropy } from "../../src/nn/losses.js";
import { SGD } from "../../src/optim/index.js";

const [variable, a, b] = process.argv.slice(2, 5);
if (!variable || a === undefined || b === undefined) {
  console.error("usage: ab.ts VAR A B [model] [blocks] [modes]");
  process.exit(2);
}
const name = process.argv[5] ?? "resnet20";
const blocks = Number(process.argv[6] ?? 8);
const modes = (process.argv[7] ?? "train,infer,latency").split(",");
const gray = name === "fmnist-cnn";
const input = (batch: number) => randn([batch, gray ? 1 : 3, gray ? 28 : 32, gray ? 28 : 32]);
if (getBackend().name !== "native") throw new Error("the native backend is not loaded");

/** Median ms of `run` under setting a and setting b, over `blocks` alternating blocks of `per` calls. */
function ab(run: () => void, per: number): [number, number] {
  const times: [number[], number[]] = [[], []];
  const before = process.env[variable!];
  for (let k = 0; k < blocks; k++) {
    for (const side of [0, 1] as const) {
      process.env[variable!] = side === 0 ? a : b;
      run(); // warm the path (and any cached weights)
      for (let i = 0; i < per; i++) {
        const t = performance.now();
        run();
        times[side].push(performance.now() - t);
      }
    }
  }
  if (before === undefined) delete process.env[variable!];
  else process.env[variable!] = before;
  const median = (v: number[]) => v.sort((p, q) => p - q)[Math.floor(v.length / 2)]!;
  return [median(times[0]), median(times[1])];
}

const model = createModel(name, { numClasses: 10, inChannels: gray ? 1 : 3 });
const report = (what: string, [ta, tb]: [number, number]) =>
  console.log(
    `${name} ${what}: ${variable}=${a} ${ta.toFixed(3)} ms, ${variable}=${b} ${tb.toFixed(3)} ms (${(ta / tb).toFixed(2)}x)`,
  );

if (modes.includes("train")) {
  // As `nabla bench --mode train`: zero grads, forward, cross-entropy, backward, SGD-momentum step.
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
}
model.eval();
if (modes.includes("infer")) {
  const x256 = input(256);
  report(
    "infer b256",
    ab(() => noGrad(() => model.call(x256)), 3),
  );
}
if (modes.includes("latency")) {
  const x1 = input(1);
  report(
    "latency b1",
    ab(() => noGrad(() => model.call(x1)), 200),
  );
}
