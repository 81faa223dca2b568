// Micro-benchmark of the reference (pure TypeScript) backend: matmul and the fmnist-cnn conv2d
// shapes at batch 64, forward and both backward kernels. This is the baseline the native backend
// must beat. Run: npx tsx bench/ref/kernels.ts [--quick]
import {
  conv2dParams,
  convBackwardInput,
  convBackwardWeight,
  conv2d,
  matmul,
  noGrad,
  randn,
  refBackend,
  withBackend,
  Generator,
  type Tensor,
} from "../../src/index.js";

const quick = process.argv.includes("--quick");
const g = new Generator(0);

/** Median wall time of `fn` in milliseconds over `reps` runs after one warm-up. */
function time(fn: () => unknown, reps: number): number {
  fn();
  const ms: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    fn();
    ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  return ms[Math.floor(ms.length / 2)]!;
}

function row(name: string, ms: number, flops: number): void {
  const gflops = flops / (ms * 1e6);
  console.log(`${name.padEnd(44)} ${ms.toFixed(1).padStart(9)} ms ${gflops.toFixed(2).padStart(8)} GFLOP/s`);
}

withBackend(refBackend, () =>
  noGrad(() => {
    console.log(`backend: ${refBackend.name} (float32), node ${process.version}`);
    for (const n of quick ? [128] : [256, 512]) {
      const a = randn([n, n], { generator: g });
      const b = randn([n, n], { generator: g });
      row(
        `matmul ${n}x${n} @ ${n}x${n}`,
        time(() => matmul(a, b), quick ? 2 : 5),
        2 * n ** 3,
      );
    }
    const batch = quick ? 8 : 64;
    const shapes: [string, number[], number[]][] = [
      [`conv2d 1->32 28x28 k3 p1 (N=${batch})`, [batch, 1, 28, 28], [32, 1, 3, 3]],
      [`conv2d 32->64 14x14 k3 p1 (N=${batch})`, [batch, 32, 14, 14], [64, 32, 3, 3]],
    ];
    for (const [name, xs, ws] of shapes) {
      const x = randn(xs, { generator: g });
      const w = randn(ws, { generator: g });
      const p = conv2dParams(xs, ws, { padding: 1 });
      const gy: Tensor = randn([p.n, p.o, p.outH, p.outW], { generator: g });
      const flops = 2 * p.n * p.o * p.outH * p.outW * p.c * p.kh * p.kw;
      const reps = quick ? 2 : 5;
      row(
        `${name} forward`,
        time(() => conv2d(x, w, null, { padding: 1 }), reps),
        flops,
      );
      row(
        `${name} backward input`,
        time(() => convBackwardInput(gy, w, p), reps),
        flops,
      );
      row(
        `${name} backward weight`,
        time(() => convBackwardWeight(x, gy, p), reps),
        flops,
      );
    }
  }),
);
