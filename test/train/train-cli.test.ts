// End-to-end: `nabla train` on a tiny image folder — log, checkpoints, plots, eval, predict,
// exact resume, crash safety under SIGKILL, and divergence handling.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CLI, makeTinyImageFolder } from "./helpers.js";
import { loadCheckpoint } from "../../src/train/checkpoint.js";

const data = makeTinyImageFolder();
const common = [
  "--model",
  "fmnist-cnn",
  "--data",
  data,
  "--channels",
  "1",
  "--size",
  "8",
  "--batch-size",
  "8",
  "--lr",
  "0.05",
  "--progress",
  "none",
];

function nabla(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [...CLI, ...args], {
    encoding: "utf8",
    env: { ...process.env, ...env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function weightsOf(dir: string): Map<string, number[]> {
  const { weights } = loadCheckpoint(dir);
  return new Map(Object.entries(weights).map(([k, t]) => [k, Array.from(t.data)]));
}

test("train writes log.jsonl, checkpoints, best weights and plots; eval and predict use them", () => {
  const out = join(mkdtempSync(join(tmpdir(), "nabla-run-")), "run");
  const r = nabla(["train", ...common, "--epochs", "4", "--out", out]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /test accuracy \d+\.\d+% after epoch 4/);
  const log = readFileSync(join(out, "log.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  assert.equal(log.length, 4);
  for (const [i, rec] of log.entries()) {
    assert.equal(rec.epoch, i + 1);
    for (const key of ["train_loss", "test_acc", "seconds"]) assert.equal(typeof rec[key], "number", key);
  }
  assert.ok(log[3].train_loss < log[0].train_loss, "training loss goes down");
  assert.ok(log[3].test_acc >= 0.9, `the tiny task is learnable (test acc ${log[3].test_acc})`);
  for (const f of [
    "best.safetensors",
    "latest.json",
    "loss.svg",
    "loss.png",
    "accuracy.png",
    "confusion.svg",
    "confusion.png",
  ]) {
    assert.ok(existsSync(join(out, f)), f);
  }
  // Only the two newest checkpoints are kept.
  assert.deepEqual(
    readdirSync(out)
      .filter((f) => /^epoch-\d+\.json$/.test(f))
      .sort(),
    ["epoch-3.json", "epoch-4.json"],
  );

  const ev = nabla(["eval", "--checkpoint", out, "--json"]);
  assert.equal(ev.code, 0, ev.stderr);
  const metrics = JSON.parse(ev.stdout);
  assert.equal(metrics.count, 18);
  assert.equal(metrics.accuracy, log[3].test_acc, "eval reproduces the last epoch's test accuracy");
  assert.equal(metrics.confusion.length, 3);

  const image = join(data, "test", "cols", "0.png");
  const pr = nabla(["predict", "--checkpoint", out, "--json", "--topk", "2", image]);
  assert.equal(pr.code, 0, pr.stderr);
  const pred = JSON.parse(pr.stdout);
  assert.equal(pred.top.length, 2);
  assert.equal(pred.top[0].class, "cols");
});

/** Start `nabla train` in the background; resolves when it exits. */
function start(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [...CLI, ...args], {
    env: { ...process.env, ...env },
    stdio: "ignore",
  });
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  return { child, exited };
}

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function latestEpoch(dir: string): number | null {
  try {
    return (JSON.parse(readFileSync(join(dir, "latest.json"), "utf8")) as { epoch: number }).epoch;
  } catch {
    return null;
  }
}

test("a killed run, resumed, ends with bitwise the same weights and log as an uninterrupted one", async () => {
  const base = mkdtempSync(join(tmpdir(), "nabla-resume-"));
  const full = join(base, "full");
  const split = join(base, "split");
  assert.equal(nabla(["train", ...common, "--epochs", "4", "--out", full]).code, 0);
  // Kill the run somewhere after its first checkpoint (it is then inside epoch 2 or later).
  const run = start(["train", ...common, "--epochs", "4", "--out", split]);
  await waitFor(() => (latestEpoch(split) ?? 0) >= 1, "the first checkpoint");
  run.child.kill("SIGKILL");
  await run.exited;
  assert.ok(latestEpoch(split)! < 4, "the run was interrupted before its end");
  const resumed = nabla(["train", ...common, "--epochs", "4", "--out", split, "--resume"]);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.deepEqual(weightsOf(split), weightsOf(full));
  const read = (d: string) =>
    readFileSync(join(d, "log.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
  assert.deepEqual(
    read(split).map((r) => [r.epoch, r.train_loss, r.test_acc, r.lr]),
    read(full).map((r) => [r.epoch, r.train_loss, r.test_acc, r.lr]),
  );
});

test("SIGKILL during a checkpoint write leaves the previous checkpoint loadable, and resume matches", async () => {
  const base = mkdtempSync(join(tmpdir(), "nabla-kill-"));
  const full = join(base, "full");
  const killed = join(base, "killed");
  assert.equal(nabla(["train", ...common, "--epochs", "3", "--out", full]).code, 0);
  // Every checkpoint write pauses (NABLA_CHECKPOINT_DELAY_MS) after its data files are written
  // and before it is published; the process is killed inside that window.
  const slow = { NABLA_CHECKPOINT_DELAY_MS: "1500" };
  const first = start(["train", ...common, "--epochs", "3", "--out", killed], slow);
  await waitFor(() => existsSync(join(killed, "epoch-1.optim.safetensors")), "epoch 1's checkpoint files");
  first.child.kill("SIGKILL");
  await first.exited;
  assert.equal(latestEpoch(killed), null, "the half-written first checkpoint was never published");
  // Again, now while epoch 2's checkpoint is being written: epoch 1's must stay the latest.
  const second = start(["train", ...common, "--epochs", "3", "--out", killed, "--resume"], slow);
  await waitFor(() => existsSync(join(killed, "epoch-2.optim.safetensors")), "epoch 2's checkpoint files");
  second.child.kill("SIGKILL");
  await second.exited;
  assert.equal(latestEpoch(killed), 1);
  assert.equal(loadCheckpoint(killed).epoch, 1, "the previous checkpoint loads");
  const resumed = nabla(["train", ...common, "--epochs", "3", "--out", killed, "--resume"]);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.deepEqual(weightsOf(killed), weightsOf(full));
});

test("a diverging run stops with a clear message", () => {
  const out = join(mkdtempSync(join(tmpdir(), "nabla-nan-")), "run");
  const args = [...common];
  args[args.indexOf("0.05")] = "1e12";
  const r = nabla(["train", ...args, "--epochs", "5", "--out", out]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(
    r.stderr,
    /TrainingDivergedError: the loss became (NaN|Infinity|-Infinity) at epoch \d+, batch \d+/,
  );
  assert.match(r.stderr, /Try a lower learning rate/);
});

test("bad flags and missing data are usage errors, not crashes", () => {
  const r1 = nabla(["train", "--model", "fmnist-cnn", "--data", data, "--epochs", "zero", "--out", "/tmp/x"]);
  assert.equal(r1.code, 1);
  assert.match(r1.stderr, /--epochs must be an integer/);
  const r2 = nabla([
    "train",
    "--model",
    "no-such-net",
    "--data",
    data,
    "--epochs",
    "1",
    "--out",
    "/tmp/x",
    "--channels",
    "1",
    "--size",
    "8",
  ]);
  assert.equal(r2.code, 1);
  assert.match(r2.stderr, /no-such-net/);
  const r3 = nabla(["train", "--model", "fmnist-cnn", "--epochs", "1", "--out", "/tmp/x"]);
  assert.equal(r3.code, 2);
  assert.match(r3.stderr, /--data/);
  const r4 = nabla(["eval", "--checkpoint", "/nonexistent/run"]);
  assert.equal(r4.code, 1);
  assert.match(r4.stderr, /no such checkpoint/);
});

test("train --onnx fine-tunes an ONNX model; eval restores it from the run folder", () => {
  const base = mkdtempSync(join(tmpdir(), "nabla-onnx-train-"));
  const first = join(base, "first");
  assert.equal(nabla(["train", ...common, "--epochs", "1", "--out", first]).code, 0);
  const onnxFile = join(base, "model.onnx");
  const ex = nabla(["export", "--checkpoint", first, "--onnx", onnxFile]);
  assert.equal(ex.code, 0, ex.stderr);
  const tuned = join(base, "tuned");
  const withoutModel = common.slice(2); // drop "--model fmnist-cnn"
  const r = nabla(["train", ...withoutModel, "--onnx", onnxFile, "--epochs", "2", "--out", tuned]);
  assert.equal(r.code, 0, r.stderr);
  const log = readFileSync(join(tuned, "log.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  assert.equal(log.length, 2);
  const ev = nabla(["eval", "--checkpoint", tuned, "--json"]);
  assert.equal(ev.code, 0, ev.stderr);
  assert.equal(JSON.parse(ev.stdout).accuracy, log[1].test_acc);
  const bad = nabla(["train", ...common, "--onnx", onnxFile, "--epochs", "1", "--out", join(base, "x")]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /exactly one of --model/);
});
