// Measured speed on the active backend: batch-1 latency (median of N runs) and throughput at a
// large batch. Both run the model in eval mode under noGrad on random inputs (the values do not
// change the work done) after a few warm-up runs, so allocation and JIT warm-up are not counted.
import { randn } from "../tensor/creation.js";
import { Generator } from "../tensor/random.js";
import { noGrad } from "../autograd/engine.js";
import type { Module } from "../nn/module.js";

export interface SpeedReport {
  /** Median wall time of one batch-1 forward pass, milliseconds. */
  latencyMs: number;
  latencyRuns: number;
  /** Images per second at `batch`. */
  throughput: number;
  batch: number;
}

export interface MeasureOptions {
  /** Batch-1 runs for the median (default 50). */
  runs?: number;
  warmup?: number;
  /** Batch size for the throughput figure (default 256). */
  batch?: number;
  /** Timed batches for the throughput figure (default 3). */
  throughputRuns?: number;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Median batch-1 forward time in milliseconds. */
export function measureLatency(
  model: Module,
  inputShape: readonly number[],
  options: { runs?: number; warmup?: number } = {},
): number {
  const { runs = 50, warmup = 5 } = options;
  const x = randn([1, ...inputShape], { generator: new Generator(0) });
  model.eval();
  const times: number[] = [];
  noGrad(() => {
    for (let i = 0; i < warmup; i++) model.call(x);
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      model.call(x);
      times.push(performance.now() - t0);
    }
  });
  return median(times);
}

/** Images per second of forward passes at batch `batch`. */
export function measureThroughput(
  model: Module,
  inputShape: readonly number[],
  options: { batch?: number; runs?: number } = {},
): number {
  const { batch = 256, runs = 3 } = options;
  const x = randn([batch, ...inputShape], { generator: new Generator(0) });
  model.eval();
  return noGrad(() => {
    model.call(x);
    const t0 = performance.now();
    for (let i = 0; i < runs; i++) model.call(x);
    return (batch * runs) / ((performance.now() - t0) / 1000);
  });
}

export function measureSpeed(
  model: Module,
  inputShape: readonly number[],
  options: MeasureOptions = {},
): SpeedReport {
  const runs = options.runs ?? 50;
  const batch = options.batch ?? 256;
  return {
    latencyMs: measureLatency(model, inputShape, { runs, warmup: options.warmup ?? 5 }),
    latencyRuns: runs,
    throughput: measureThroughput(model, inputShape, { batch, runs: options.throughputRuns ?? 3 }),
    batch,
  };
}

/**
 * The speed of two models measured side by side: batch-1 calls alternate a, b, a, b… and the
 * throughput batches alternate too, so both medians see the same machine (load that comes and
 * goes during a measurement would otherwise favour whichever model ran in the quiet part).
 */
export function measureSpeedPair(
  a: Module,
  b: Module,
  inputShape: readonly number[],
  options: MeasureOptions = {},
): [SpeedReport, SpeedReport] {
  const runs = options.runs ?? 50;
  const warmup = options.warmup ?? 5;
  const batch = options.batch ?? 256;
  const blocks = options.throughputRuns ?? 3;
  const models = [a, b];
  for (const m of models) m.eval();
  const one = randn([1, ...inputShape], { generator: new Generator(0) });
  const many = randn([batch, ...inputShape], { generator: new Generator(0) });
  const times: number[][] = [[], []];
  const rates: number[][] = [[], []];
  noGrad(() => {
    for (let i = 0; i < warmup; i++) for (const m of models) m.call(one);
    for (let i = 0; i < runs; i++) {
      models.forEach((m, k) => {
        const t0 = performance.now();
        m.call(one);
        times[k]!.push(performance.now() - t0);
      });
    }
    for (const m of models) m.call(many);
    for (let i = 0; i < blocks; i++) {
      models.forEach((m, k) => {
        const t0 = performance.now();
        m.call(many);
        rates[k]!.push(batch / ((performance.now() - t0) / 1000));
      });
    }
  });
  const report = (k: number): SpeedReport => ({
    latencyMs: median(times[k]!),
    latencyRuns: runs,
    throughput: median(rates[k]!),
    batch,
  });
  return [report(0), report(1)];
}
