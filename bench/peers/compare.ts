// nabla against its peers on the anchor workloads, timed in the same run so machine load hits
// every system alike: PyTorch 1.13 (training, inference, batch-1 latency), onnxruntime-node
// (inference, batch-1 latency) and numpy/OpenBLAS (SGEMM). The peers run the shared scripts in
// /work/shared/bench unchanged; nabla runs `nabla bench` (same timing method) and
// bench/native/sgemm.ts. Each round runs torch, ORT, numpy, then nabla; with --rounds 2 the
// best median of each system over the rounds is kept. Prints a ratio table (nabla / peer, > 1 means
// nabla is faster; for latency the ratio is peer ms / nabla ms) and writes all raw figures.
//
// Usage (from the repository root):
//   npx tsx bench/peers/compare.ts [--threads 2] [--rounds 1] [--out bench/peers/last.json] [--quick]
// --quick shortens every timing (0.5 s warm-up, 3 blocks of 0.5 s) for a smoke run.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir, loadavg } from "node:os";
import path from "node:path";

const SHARED = "/work/shared/bench";
const PYTHON = "/usr/bin/python3";
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../..");

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}
const threads = Number(flag("--threads", "2"));
const rounds = Number(flag("--rounds", "1"));
const outFile = flag("--out", path.join(root, "bench/peers/last.json"));
const quick = process.argv.includes("--quick");

interface Row {
  workload: string;
  metric: string;
  median: number;
  best: number;
  unit: string;
}

const tmp = mkdtempSync(path.join(tmpdir(), "nabla-peers-"));
const log = (s: string) => process.stderr.write(`${s}\n`);

function run(cmd: string, args: string[], env: Record<string, string> = {}): string {
  return execFileSync(cmd, args, {
    cwd: root,
    env: { ...process.env, ...env },
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
    maxBuffer: 1 << 24,
  });
}

function torch(): Row[] {
  const out = path.join(tmp, "torch.json");
  run(PYTHON, [`${SHARED}/torch_bench.py`, String(threads), out], { OPENBLAS_NUM_THREADS: "1" });
  return (JSON.parse(readFileSync(out, "utf8")) as { results: Row[] }).results;
}

let onnxDir: string | null = null;
function ort(): Row[] {
  if (onnxDir === null) {
    onnxDir = path.join(tmp, "onnx");
    run(PYTHON, [`${SHARED}/export_onnx.py`, onnxDir], { OPENBLAS_NUM_THREADS: "1" });
  }
  const out = path.join(tmp, "ort.json");
  run("node", [`${SHARED}/ort_bench.cjs`, onnxDir, String(threads), out], {
    NODE_PATH: path.join(root, "node_modules"),
  });
  return (JSON.parse(readFileSync(out, "utf8")) as { results: Row[] }).results;
}

function numpy(): Row[] {
  const text = run(PYTHON, [`${SHARED}/numpy_sgemm.py`, `t${threads}`], {
    OPENBLAS_NUM_THREADS: String(threads),
    // Debian's OpenBLAS 0.3.21 falls back to SSE3 kernels on this CPU; select its AVX-512 ones.
    OPENBLAS_CORETYPE: "SkylakeX",
  });
  return (JSON.parse(text.trim().split("\n").pop()!) as { results: Row[] }).results;
}

const WORKLOADS: [string, "train" | "infer" | "latency", number, string][] = [
  ["fmnist-cnn", "train", 64, "train_b64"],
  ["fmnist-cnn", "infer", 256, "infer_b256"],
  ["fmnist-cnn", "latency", 1, "latency_b1"],
  ["resnet20", "train", 64, "train_b64"],
  ["resnet20", "infer", 256, "infer_b256"],
  ["resnet20", "latency", 1, "latency_b1"],
];

function nabla(): Row[] {
  const rows: Row[] = [];
  const timing = quick
    ? ["--warmup", "0.5", "--reps", "3", "--rep-seconds", "0.5", "--calls", "100"]
    : ["--warmup", "1.5", "--reps", "7", "--rep-seconds", "1", "--calls", "300"];
  for (const [model, mode, batch, metric] of WORKLOADS) {
    const args = ["--import", "tsx", "src/cli/main.ts", "bench", "--model", model, "--mode", mode];
    args.push("--batch", String(batch), "--threads", String(threads), "--json", ...timing);
    const r = JSON.parse(run("node", args).trim()) as Record<string, number>;
    rows.push(
      mode === "latency"
        ? { workload: model, metric, median: r["latency_ms"]!, best: r["best_ms"]!, unit: "ms" }
        : {
            workload: model,
            metric,
            median: r["images_per_s"]!,
            best: r["best_images_per_s"]!,
            unit: "images/s",
          },
    );
    log(
      `nabla ${model} ${metric}: ${rows[rows.length - 1]!.median.toFixed(2)} ${rows[rows.length - 1]!.unit}`,
    );
  }
  const sgemm = JSON.parse(
    run("node", ["--import", "tsx", "bench/native/sgemm.ts"], { NABLA_NUM_THREADS: String(threads) })
      .trim()
      .split("\n")
      .pop()!,
  ) as { results: Row[] };
  rows.push(...sgemm.results);
  return rows;
}

type System = "nabla" | "pytorch" | "onnxruntime" | "numpy";
const runs: Record<System, Row[][]> = { nabla: [], pytorch: [], onnxruntime: [], numpy: [] };
const loads: number[] = [];
for (let r = 0; r < rounds; r++) {
  loads.push(loadavg()[0]!);
  log(`round ${r + 1}/${rounds}: PyTorch (load average ${loads[loads.length - 1]!.toFixed(1)})`);
  runs.pytorch.push(torch());
  log("onnxruntime-node");
  runs.onnxruntime.push(ort());
  log("numpy sgemm");
  runs.numpy.push(numpy());
  log("nabla");
  runs.nabla.push(nabla());
  loads.push(loadavg()[0]!);
}
rmSync(tmp, { recursive: true, force: true });

/** Best median over the rounds (highest throughput, or lowest latency). */
function pick(system: System, workload: string, metric: string): number | null {
  const values = runs[system]
    .map((rows) => rows.find((x) => x.workload === workload && (x.metric === metric || metric === "*")))
    .filter((x): x is Row => x !== undefined);
  if (values.length === 0) return null;
  const lowerIsBetter = values[0]!.unit === "ms";
  const meds = values.map((v) => v.median);
  return lowerIsBetter ? Math.min(...meds) : Math.max(...meds);
}

const fmt = (v: number | null, d = 1) => (v === null ? "—" : v.toFixed(d));
const lines: string[] = [];
lines.push("| workload | nabla | PyTorch | nabla/PyTorch | onnxruntime | nabla/ORT |");
lines.push("|---|---|---|---|---|---|");
for (const [model, , , metric] of WORKLOADS) {
  const n = pick("nabla", model, metric);
  const t = pick("pytorch", model, metric);
  const o = pick("onnxruntime", model, metric);
  const latency = metric === "latency_b1";
  const ratio = (peer: number | null) =>
    n === null || peer === null ? "—" : (latency ? peer / n : n / peer).toFixed(2);
  const unit = latency ? " ms" : " img/s";
  const d = latency ? 3 : 0;
  lines.push(
    `| ${model} ${metric} | ${fmt(n, d)}${unit} | ${fmt(t, d)} | ${ratio(t)} | ${fmt(o, d)} | ${ratio(o)} |`,
  );
}
for (const w of ["sgemm256", "sgemm1024"]) {
  const n = pick("nabla", w, "*");
  const b = pick("numpy", w, "*");
  const ratio = n !== null && b !== null ? (n / b).toFixed(2) : "—";
  lines.push(`| ${w} (numpy/OpenBLAS SkylakeX as peer) | ${fmt(n)} GFLOP/s | ${fmt(b)} | ${ratio} | | |`);
}
const summary = `${threads} threads, ${rounds} round(s), load average ${loads.map((l) => l.toFixed(1)).join(" → ")}`;
console.log(lines.join("\n"));
console.log(`\n${summary}; ratios > 1: nabla faster (latency: peer ms / nabla ms)`);
writeFileSync(
  outFile,
  JSON.stringify({ date: new Date().toISOString(), threads, rounds, loads, runs }, null, 1),
);
log(`raw figures: ${path.relative(root, outFile)}`);
