// `nabla compress --onnx`: compression can start from an ONNX file that `nabla export` wrote.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CLI, makeTinyImageFolder } from "../train/helpers.js";

function nabla(args: string[]) {
  const r = spawnSync(process.execPath, [...CLI, ...args], { encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test("compress --onnx folds and quantizes a model exported by nabla, and reports before/after", () => {
  const data = makeTinyImageFolder();
  const base = mkdtempSync(join(tmpdir(), "nabla-compress-onnx-"));
  const run = join(base, "run");
  const train = nabla([
    "train",
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
    "--epochs",
    "2",
    "--out",
    run,
    "--progress",
    "none",
  ]);
  assert.equal(train.code, 0, train.stderr);
  const onnxFile = join(base, "m.onnx");
  assert.equal(nabla(["export", "--checkpoint", run, "--onnx", onnxFile]).code, 0);
  const out = join(base, "small");
  const r = nabla([
    "compress",
    "--onnx",
    onnxFile,
    "--fold-bn",
    "--quantize",
    "int8",
    "--calib",
    "16",
    "--latency-runs",
    "0",
    "--out",
    out,
    "--json",
  ]);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(readFileSync(join(out, "report.json"), "utf8"));
  assert.ok(report.before && report.after, "before/after report");
  assert.ok(existsSync(join(out, "model.safetensors")));
  const both = nabla(["compress", "--onnx", onnxFile, "--checkpoint", run, "--fold-bn"]);
  assert.equal(both.code, 1);
  assert.match(both.stderr, /exactly one of/);
});
