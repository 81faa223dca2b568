// `nabla bench`: the JSON line's shape for each mode, the --threads flag (resizes the native pool,
// which keeps results bitwise equal), and typed errors for bad flags. Timing-free: tiny batches,
// no warm-up, one timed block; only the presence and sign of the figures are checked.
import { test } from "node:test";
import assert from "node:assert/strict";
import { main } from "../../src/cli/main.js";
import { nativeInfo, setNumThreads } from "../../src/backend/native/index.js";

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const [write, writeErr] = [
    process.stdout.write.bind(process.stdout),
    process.stderr.write.bind(process.stderr),
  ];
  process.stdout.write = ((chunk: string) => out.push(String(chunk)) > 0) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string) => err.push(String(chunk)) > 0) as typeof process.stderr.write;
  try {
    const code = await main(args);
    return { code, out: out.join(""), err: err.join("") };
  } finally {
    process.stdout.write = write;
    process.stderr.write = writeErr;
  }
}

const QUICK = ["--warmup", "0", "--reps", "1", "--rep-seconds", "0", "--calls", "3", "--json"];

test("nabla bench --json prints one line led by images_per_s or latency_ms", async () => {
  for (const [mode, key] of [
    ["train", "images_per_s"],
    ["infer", "images_per_s"],
    ["latency", "latency_ms"],
  ] as const) {
    const { code, out } = await cli([
      "bench",
      "--model",
      "fmnist-cnn",
      "--mode",
      mode,
      "--batch",
      "2",
      ...QUICK,
    ]);
    assert.equal(code, 0);
    const lines = out.trim().split("\n");
    assert.equal(lines.length, 1, out);
    const r = JSON.parse(lines[0]!) as Record<string, unknown>;
    assert.equal(Object.keys(r)[0], key);
    assert.ok(typeof r[key] === "number" && (r[key] as number) > 0, out);
    assert.equal(r["mode"], mode);
    assert.equal(r["batch"], 2);
    // Inference is timed as a package user runs it: replaying a recorded plan (nn/plan.ts).
    assert.equal(r["planned"], mode === "train" ? undefined : true, out);
  }
});

test(
  "nabla bench --threads resizes the native pool",
  { skip: nativeInfo() === null && "no native backend" },
  async () => {
    const before = nativeInfo()!.threads;
    try {
      const { code, out } = await cli([
        "bench",
        "--model",
        "fmnist-cnn",
        "--mode",
        "infer",
        "--batch",
        "1",
        "--threads",
        "1",
        ...QUICK,
      ]);
      assert.equal(code, 0);
      assert.equal((JSON.parse(out) as { threads: number }).threads, 1);
      assert.equal(nativeInfo()!.threads, 1);
    } finally {
      setNumThreads(before);
    }
    assert.equal(nativeInfo()!.threads, before);
  },
);

test("nabla bench rejects bad flags with a typed error", async () => {
  const mode = await cli(["bench", "--model", "fmnist-cnn", "--mode", "fast"]);
  assert.equal(mode.code, 1);
  assert.match(mode.err, /ValueError: --mode must be train, infer or latency/);
  const batch = await cli(["bench", "--model", "fmnist-cnn", "--batch", "0"]);
  assert.equal(batch.code, 1);
  assert.match(batch.err, /--batch must be a positive integer/);
  const model = await cli(["bench", "--model", "nope"]);
  assert.equal(model.code, 1);
  assert.match(model.err, /unknown model "nope"/);
});
