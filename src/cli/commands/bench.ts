// `nabla bench` — steady-state speed of a zoo model, timed the way the PyTorch and onnxruntime
// anchors in /work/shared/bench are (so bench/peers can put them side by side):
//
//   nabla bench --model fmnist-cnn --mode train --batch 64      zero grads, forward, cross-entropy,
//                                                               backward, SGD-momentum step
//   nabla bench --model resnet20 --mode infer --batch 256       eval-mode forward under noGrad
//   nabla bench --model resnet20 --mode latency --json          median ms of single batch-1 calls
//
// Throughput: a warm-up of at least --warmup seconds (and 3 iterations), then --reps blocks of
// iterations sized to about --rep-seconds each; the per-iteration time of each block gives a
// median and a best. Latency: --calls individual calls after a warm-up of at least 30 calls and
// --warmup seconds. The anchors warm up for 30 calls only, which is their steady state (no JIT);
// nabla's JavaScript takes V8 thousands of batch-1 calls to optimise (fmnist-cnn: 0.39–0.40 ms
// with --warmup 0, 0.18–0.20 ms with 1.5; BENCHMARKS.md, session 7), so the time-based warm-up is
// what puts nabla at its steady state too. `--warmup 0` gives the anchors' 30-call protocol.
import type { Command } from "commander";
import { ValueError } from "../../errors.js";
import { nativeInfo, setNumThreads } from "../../backend/native/index.js";
import { getBackend } from "../../backend/registry.js";
import { noGrad } from "../../autograd/engine.js";
import { manualSeed } from "../../tensor/random.js";
import { randint, randn } from "../../tensor/creation.js";
import { createModel, listModels, modelInfo } from "../../models/index.js";
import { crossEntropy } from "../../nn/losses.js";
import { SGD } from "../../optim/index.js";
import { inferencePlanSteps } from "../../nn/plan.js";

export type BenchMode = "train" | "infer" | "latency";

export interface BenchOptions {
  model: string;
  mode: BenchMode;
  batch: number;
  /** Warm-up seconds before timing (at least 3 iterations either way). */
  warmupSeconds?: number;
  /** Timed blocks (throughput modes). */
  reps?: number;
  /** Target length of one timed block in seconds. */
  repSeconds?: number;
  /** Timed single calls (latency mode). */
  calls?: number;
}

export interface BenchResult {
  model: string;
  mode: BenchMode;
  batch: number;
  backend: string;
  threads: number;
  /** Throughput modes: batch / median time per iteration, and batch / best. */
  images_per_s?: number;
  best_images_per_s?: number;
  /** Latency mode: median, 90th percentile and best of the single calls. */
  latency_ms?: number;
  p90_ms?: number;
  best_ms?: number;
  /** Median milliseconds per iteration (both modes). */
  ms_per_iter: number;
  iters_per_rep?: number;
  /**
   * Inference modes: whether the timed forwards replayed a recorded inference plan (nn/plan.ts),
   * as they do for a user of the package in eval mode under noGrad.
   */
  planned?: boolean;
}

const now = () => performance.now() / 1000;

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Seconds per call of each timed block, after the warm-up (the anchors' `bench` function). */
function timeBlocks(fn: () => void, warmupSeconds: number, reps: number, repSeconds: number) {
  const t0 = now();
  let n = 0;
  while (n < 3 || now() - t0 < warmupSeconds) {
    fn();
    n++;
  }
  const iters = Math.max(1, Math.floor(repSeconds / ((now() - t0) / n)));
  const times: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t = now();
    for (let i = 0; i < iters; i++) fn();
    times.push((now() - t) / iters);
  }
  return { times, iters };
}

/** Build the model and its inputs, run the workload, and time it. */
export function runBench(options: BenchOptions): BenchResult {
  const { model: name, mode, batch } = options;
  const info = modelInfo(name);
  manualSeed(0);
  const model = createModel(name);
  const x = randn([batch, ...info.defaultInput]);
  const base = {
    model: name,
    mode,
    batch,
    backend: getBackend().name,
    threads: nativeInfo()?.threads ?? 1,
  };
  const warmup = options.warmupSeconds ?? 1.5;
  const reps = options.reps ?? 7;
  const repSeconds = options.repSeconds ?? 1;

  if (mode === "train") {
    model.train();
    const y = randint(0, info.defaultNumClasses, [batch]);
    const opt = new SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
    const step = () => {
      opt.zeroGrad();
      crossEntropy(model.call(x), y).backward();
      opt.step();
    };
    const { times, iters } = timeBlocks(step, warmup, reps, repSeconds);
    return throughput(base, times, iters);
  }

  model.eval();
  const forward = () => {
    noGrad(() => model.call(x));
  };
  if (mode === "infer") {
    const { times, iters } = timeBlocks(forward, warmup, reps, repSeconds);
    return { ...throughput(base, times, iters), planned: inferencePlanSteps(model) > 0 };
  }

  const calls = options.calls ?? 300;
  const t0 = now();
  for (let i = 0; i < 30 || now() - t0 < warmup; i++) forward();
  const ms: number[] = [];
  for (let i = 0; i < calls; i++) {
    const t = performance.now();
    forward();
    ms.push(performance.now() - t);
  }
  const sorted = [...ms].sort((a, b) => a - b);
  const med = median(ms);
  return {
    ...base,
    latency_ms: med,
    p90_ms: sorted[Math.min(sorted.length - 1, Math.floor(0.9 * sorted.length))]!,
    best_ms: sorted[0]!,
    ms_per_iter: med,
    planned: inferencePlanSteps(model) > 0,
  };
}

function throughput(base: Omit<BenchResult, "ms_per_iter">, times: number[], iters: number): BenchResult {
  const med = median(times);
  return {
    ...base,
    images_per_s: base.batch / med,
    best_images_per_s: base.batch / Math.min(...times),
    ms_per_iter: med * 1000,
    iters_per_rep: iters,
  };
}

export function formatBench(r: BenchResult): string {
  const where = `${r.backend} backend, ${r.threads} thread${r.threads === 1 ? "" : "s"}`;
  const head = `${r.model} ${r.mode} batch ${r.batch} (${where}): `;
  if (r.mode === "latency") {
    return `${head}${r.latency_ms!.toFixed(3)} ms median, ${r.p90_ms!.toFixed(3)} ms p90, ${r.best_ms!.toFixed(3)} ms best`;
  }
  return (
    `${head}${r.images_per_s!.toFixed(1)} images/s median (${r.ms_per_iter.toFixed(2)} ms per iteration), ` +
    `${r.best_images_per_s!.toFixed(1)} best`
  );
}

interface BenchFlags {
  model: string;
  mode: string;
  batch?: string;
  threads?: string;
  json?: boolean;
  warmup: string;
  reps: string;
  repSeconds: string;
  calls: string;
}

const DEFAULT_BATCH: Record<BenchMode, number> = { train: 64, infer: 256, latency: 1 };

export function register(program: Command): void {
  program
    .command("bench")
    .description("time training steps, batched inference or batch-1 latency of a zoo model")
    .requiredOption(
      "--model <name>",
      `model name: ${listModels()
        .map((m) => m.name)
        .join(", ")}`,
    )
    .option("--mode <mode>", "train | infer | latency", "train")
    .option("--batch <n>", "batch size (default: 64 train, 256 infer, 1 latency)")
    .option("--threads <n>", "native thread pool size (default: NABLA_NUM_THREADS or the core count)")
    .option("--json", 'print one JSON line: {"images_per_s": …} or {"latency_ms": …} and details')
    .option("--warmup <seconds>", "warm-up time before timing (latency: and at least 30 calls)", "1.5")
    .option("--reps <n>", "timed blocks (train, infer)", "7")
    .option("--rep-seconds <seconds>", "length of one timed block (train, infer)", "1")
    .option("--calls <n>", "timed single calls (latency)", "300")
    .action((flags: BenchFlags) => {
      if (!["train", "infer", "latency"].includes(flags.mode))
        throw new ValueError(`--mode must be train, infer or latency, got "${flags.mode}"`);
      const mode = flags.mode as BenchMode;
      const batch = flags.batch === undefined ? DEFAULT_BATCH[mode] : positiveInt("--batch", flags.batch);
      if (flags.threads !== undefined) {
        const threads = positiveInt("--threads", flags.threads);
        if (!setNumThreads(threads) && threads !== 1)
          process.stderr.write("nabla: --threads ignored: the native backend is not available\n");
      }
      const result = runBench({
        model: flags.model,
        mode,
        batch,
        warmupSeconds: nonNegative("--warmup", flags.warmup),
        reps: positiveInt("--reps", flags.reps),
        repSeconds: nonNegative("--rep-seconds", flags.repSeconds),
        calls: positiveInt("--calls", flags.calls),
      });
      process.stdout.write(`${flags.json ? JSON.stringify(headlineFirst(result)) : formatBench(result)}\n`);
    });
}

/** The JSON line starts with the headline figure: {"images_per_s": …} or {"latency_ms": …}. */
function headlineFirst(r: BenchResult): Record<string, unknown> {
  const key = r.mode === "latency" ? "latency_ms" : "images_per_s";
  return { [key]: r[key], ...r };
}

function positiveInt(flag: string, text: string): number {
  if (!/^[1-9]\d*$/.test(text.trim()))
    throw new ValueError(`${flag} must be a positive integer, got "${text}"`);
  return Number(text);
}

function nonNegative(flag: string, text: string): number {
  const v = Number(text);
  if (text.trim() === "" || !Number.isFinite(v) || v < 0)
    throw new ValueError(`${flag} must be a non-negative number, got "${text}"`);
  return v;
}
