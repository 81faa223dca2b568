// Batch-1 latency of a checkpoint's float32 model against its int8 PTQ copy, in one process:
// `rounds` rounds of 300 alternating calls each (measureSpeedPair), then the int8 model's time per
// layer (forward hooks, medians). Calibration uses random inputs: the work done, not the accuracy,
// is what is timed here (accuracy: bench/compress/fmnist.ts).
//
//   npx tsx bench/compress/int8-latency.ts runs/fmnist-full [rounds]
import { initBackend } from "../../src/cli/backend.js";
import { restoreModel } from "../../src/train/restore.js";
import { quantizeModel } from "../../src/compress/quantize.js";
import { measureSpeedPair } from "../../src/compress/measure.js";
import { noGrad } from "../../src/autograd/engine.js";
import { randn } from "../../src/tensor/creation.js";

const [checkpoint, roundsArg = "3"] = process.argv.slice(2);
if (!checkpoint) {
  console.error("usage: npx tsx bench/compress/int8-latency.ts <checkpoint> [rounds]");
  process.exit(2);
}
initBackend();
const { model: float, meta } = restoreModel(checkpoint);
const { model: int8 } = restoreModel(checkpoint);
int8.eval();
quantizeModel(int8, meta.input, { calibration: () => [randn([64, ...meta.input])] });
for (let r = 0; r < Number(roundsArg); r++) {
  const [f, q] = measureSpeedPair(float, int8, meta.input, { runs: 300, warmup: 30 });
  const ratio = (f.latencyMs / q.latencyMs).toFixed(2);
  console.log(
    `round ${r + 1}: float32 ${f.latencyMs.toFixed(3)} ms, int8 ${q.latencyMs.toFixed(3)} ms, ${ratio}× faster`,
  );
}

const times = new Map<string, number[]>();
for (const [name, m] of int8.namedModules()) {
  if (name === "" || [...m.children()].length > 0) continue;
  const key = `${name} ${m.constructor.name}`;
  const list: number[] = [];
  times.set(key, list);
  let t0 = 0;
  m.registerForwardPreHook(() => {
    t0 = performance.now();
  });
  m.registerForwardHook(() => {
    list.push(performance.now() - t0);
  });
}
const x = randn([1, ...meta.input]);
const whole: number[] = [];
noGrad(() => {
  for (let i = 0; i < 1000; i++) {
    const t0 = performance.now();
    int8.call(x);
    whole.push(performance.now() - t0);
  }
});
const median = (a: number[]) => a.slice(200).sort((p, q) => p - q)[(a.length - 200) >> 1]!;
for (const [k, v] of times) console.log(`${k.padEnd(36)} ${(median(v) * 1000).toFixed(1)} µs`);
console.log(`whole int8 model ${(median(whole) * 1000).toFixed(1)} µs`);
