// Shared by test/io/onnx-import.test.ts and bench/onnx/import_check.ts: generate torchvision
// ONNX exports with scripts/onnx/export_torchvision.py into a cache folder (they are far too big
// to commit), or say why that is impossible here; and compare nabla with ONNX Runtime.
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import ort from "onnxruntime-node";
import type { Tensor } from "../../src/tensor/tensor.js";

export const PYTHON = "/usr/bin/python3";
export const CACHE_DIR = process.env["NABLA_ONNX_CACHE"] ?? join(tmpdir(), "nabla-onnx-fixtures");
const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), "export_torchvision.py");

export interface TorchvisionFixture {
  name: string;
  path: string;
  input: number[];
  opset: number;
}

/** null when python3 with torch + torchvision is available, else the reason it is not. */
export function torchUnavailable(): string | null {
  const r = spawnSync(PYTHON, ["-c", "import torch, torchvision, onnx"], { encoding: "utf8" });
  if (r.error) return `${PYTHON} is not runnable (${r.error.message})`;
  if (r.status !== 0) return `${PYTHON} lacks torch/torchvision/onnx: ${r.stderr.trim().split("\n").pop()}`;
  return null;
}

/** Export (or reuse cached exports of) the named torchvision models; all when `only` is empty. */
export function torchvisionFixtures(only: readonly string[] = []): TorchvisionFixture[] {
  const args = [SCRIPT, "--out", CACHE_DIR];
  if (only.length > 0) args.push("--only", only.join(","));
  const r = spawnSync(PYTHON, args, { encoding: "utf8", maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`export_torchvision.py failed:\n${r.stderr}`);
  return r.stdout
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as TorchvisionFixture);
}

/** Run an ONNX model in ONNX Runtime on a float32 input; returns the first output's values. */
export async function runOrt(model: string | Uint8Array, x: Tensor): Promise<Float32Array> {
  const session =
    typeof model === "string"
      ? await ort.InferenceSession.create(model)
      : await ort.InferenceSession.create(model);
  const feeds = {
    [session.inputNames[0]!]: new ort.Tensor("float32", Float32Array.from(x.data), [...x.shape]),
  };
  const out = await session.run(feeds);
  return out[session.outputNames[0]!]!.data as Float32Array;
}

/** max |a − b| / max |b|: the error relative to the reference's scale. */
export function maxRelativeError(actual: ArrayLike<number>, reference: ArrayLike<number>): number {
  if (actual.length !== reference.length) return Infinity;
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < reference.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i]! - reference[i]!));
    scale = Math.max(scale, Math.abs(reference[i]!));
  }
  return scale === 0 ? diff : diff / scale;
}
