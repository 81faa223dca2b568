// Timing helper shared by the native benchmarks: the peers' method (/work/shared/bench): warm up
// for >= 1 s (and >= 3 calls), size a block of calls to ~`blockS` seconds, time `reps` blocks, and
// report the per-call median and best.
export interface Timing {
  median: number;
  best: number;
  iters: number;
}

export function timeIt(fn: () => void, { warmS = 1.0, blockS = 0.5, reps = 9 } = {}): Timing {
  const now = () => performance.now() / 1e3;
  let t0 = now();
  let n = 0;
  while (n < 3 || now() - t0 < warmS) {
    fn();
    n++;
  }
  const iters = Math.max(1, Math.floor(blockS / ((now() - t0) / n)));
  const times: number[] = [];
  for (let r = 0; r < reps; r++) {
    t0 = now();
    for (let i = 0; i < iters; i++) fn();
    times.push((now() - t0) / iters);
  }
  times.sort((a, b) => a - b);
  return { median: times[times.length >> 1]!, best: times[0]!, iters };
}
