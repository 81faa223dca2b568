// Checkpoints a training run can trust.
//
// A checkpoint for epoch N is three files written under fresh names —
//   epoch-N.safetensors        model weights, PyTorch state_dict keys and layouts
//   epoch-N.optim.safetensors  every tensor of the optimizer's (and scheduler's) state
//   epoch-N.json               the sidecar: epoch, optimizer/scheduler hyper-parameters,
//                              RNG states, metrics history, and the weights' checksums
// — and only then does `latest.json` (rewritten atomically: temp file + fsync + rename) start
// pointing at them. A crash at any moment, SIGKILL included, leaves latest.json naming a
// complete earlier checkpoint. Older checkpoints are pruned after the pointer moves.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { Tensor } from "../tensor/tensor.js";
import { FormatError } from "../errors.js";
import { writeFileAtomic } from "../io/atomic.js";
import { parseSafetensors, serializeSafetensors } from "../io/safetensors.js";

export interface CheckpointState {
  epoch: number;
  weights: Record<string, Tensor>;
  /** Arbitrary JSON-able state; Tensors and typed arrays inside are stored exactly, in safetensors. */
  state: unknown;
}

const POINTER = "latest.json";

interface Pointer {
  epoch: number;
  sidecar: string;
}

/** Replace tensors and typed arrays by {"$tensor": key} references collected into `out`. */
function extractTensors(value: unknown, out: Record<string, Tensor>, path: string): unknown {
  if (value instanceof Tensor) {
    out[path] = value;
    return { $tensor: path };
  }
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    const arr = value as unknown as Float32Array;
    out[path] = new Tensor(arr.slice(), [arr.length], arrayDtype(arr));
    return { $array: path };
  }
  if (Array.isArray(value)) return value.map((v, i) => extractTensors(v, out, `${path}.${i}`));
  if (value !== null && typeof value === "object") {
    const obj: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>))
      obj[k] = extractTensors(v, out, path ? `${path}.${k}` : k);
    return obj;
  }
  if (typeof value === "number" && !Number.isFinite(value)) return { $number: String(value) };
  return value;
}

function arrayDtype(a: ArrayBufferView): Tensor["dtype"] {
  if (a instanceof Float64Array) return "float64";
  if (a instanceof Int32Array) return "int32";
  if (a instanceof Int8Array) return "int8";
  if (a instanceof Uint8Array) return "uint8";
  return "float32";
}

function restoreTensors(value: unknown, tensors: Record<string, Tensor>, source: string): unknown {
  if (Array.isArray(value)) return value.map((v) => restoreTensors(v, tensors, source));
  if (value !== null && typeof value === "object") {
    const obj = value as Record<string, unknown>;
    for (const tag of ["$tensor", "$array"] as const) {
      if (typeof obj[tag] === "string" && Object.keys(obj).length === 1) {
        const t = tensors[obj[tag]];
        if (!t) throw new FormatError(`${source}: state refers to tensor "${obj[tag]}", which is missing`);
        return tag === "$tensor" ? t : t.data;
      }
    }
    if (typeof obj["$number"] === "string" && Object.keys(obj).length === 1) return Number(obj["$number"]);
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(obj)) out[k] = restoreTensors(v, tensors, source);
    return out;
  }
  return value;
}

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Write a checkpoint for `epoch` into dir and make it the latest. Keeps the newest `keep`. */
export function saveCheckpoint(dir: string, ckpt: CheckpointState, keep = 2): void {
  mkdirSync(dir, { recursive: true });
  const base = `epoch-${ckpt.epoch}`;
  const stateTensors: Record<string, Tensor> = {};
  const state = extractTensors(ckpt.state, stateTensors, "");
  const weightBytes = serializeSafetensors(ckpt.weights, { format: "pt", producer: "nabla" });
  const stateBytes = serializeSafetensors(stateTensors);
  writeFileAtomic(join(dir, `${base}.safetensors`), weightBytes);
  writeFileAtomic(join(dir, `${base}.optim.safetensors`), stateBytes);
  simulateSlowDisk();
  const sidecar = {
    format: "nabla-checkpoint/1",
    epoch: ckpt.epoch,
    weights: `${base}.safetensors`,
    weights_sha256: sha256(weightBytes),
    state_tensors: `${base}.optim.safetensors`,
    state_tensors_sha256: sha256(stateBytes),
    state,
  };
  writeFileAtomic(join(dir, `${base}.json`), JSON.stringify(sidecar));
  writeFileAtomic(
    join(dir, POINTER),
    JSON.stringify({ epoch: ckpt.epoch, sidecar: `${base}.json` } satisfies Pointer),
  );
  pruneCheckpoints(dir, keep);
}

/**
 * NABLA_CHECKPOINT_DELAY_MS pauses between writing a checkpoint's data files and publishing
 * it, as a slow disk would: the crash-safety test kills the process inside that window.
 */
function simulateSlowDisk(): void {
  const ms = Number(process.env["NABLA_CHECKPOINT_DELAY_MS"] ?? 0);
  if (ms > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function pruneCheckpoints(dir: string, keep: number): void {
  const epochs = [
    ...new Set(
      readdirSync(dir)
        .map((f) => /^epoch-(\d+)\.(json|safetensors|optim\.safetensors)$/.exec(f)?.[1])
        .filter((e): e is string => e !== undefined)
        .map(Number),
    ),
  ].sort((a, b) => b - a);
  for (const e of epochs.slice(keep)) {
    for (const suffix of [".json", ".safetensors", ".optim.safetensors"]) {
      const f = join(dir, `epoch-${e}${suffix}`);
      if (existsSync(f)) unlinkSync(f);
    }
  }
}

export function hasCheckpoint(dir: string): boolean {
  return existsSync(join(dir, POINTER));
}

function readJson(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new FormatError(
      `${path}: cannot read checkpoint file (${(err as NodeJS.ErrnoException).code ?? String(err)})`,
    );
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new FormatError(`${path}: not valid JSON (${(err as Error).message})`);
  }
}

/**
 * Load the latest checkpoint in dir (or a specific sidecar / weights file path), verifying the
 * checksums so a damaged file is reported rather than silently trained on.
 */
export function loadCheckpoint(path: string): CheckpointState {
  let dir = path;
  let sidecarName: string;
  if (path.endsWith(".json") && !path.endsWith(POINTER)) {
    dir = join(path, "..");
    sidecarName = path.slice(dir.length + 1);
  } else if (path.endsWith(".safetensors")) {
    dir = join(path, "..");
    sidecarName = path.slice(dir.length + 1).replace(/(\.optim)?\.safetensors$/, ".json");
  } else {
    if (path.endsWith(POINTER)) dir = join(path, "..");
    const pointer = readJson(join(dir, POINTER)) as Partial<Pointer>;
    if (typeof pointer.sidecar !== "string")
      throw new FormatError(`${join(dir, POINTER)}: no "sidecar" entry`);
    sidecarName = pointer.sidecar;
  }
  const sidecarPath = join(dir, sidecarName);
  const sidecar = readJson(sidecarPath) as {
    format?: string;
    epoch?: number;
    weights?: string;
    weights_sha256?: string;
    state_tensors?: string;
    state_tensors_sha256?: string;
    state?: unknown;
  };
  if (
    sidecar.format !== "nabla-checkpoint/1" ||
    typeof sidecar.weights !== "string" ||
    typeof sidecar.epoch !== "number"
  ) {
    throw new FormatError(`${sidecarPath}: not a nabla checkpoint sidecar`);
  }
  const readChecked = (name: string, expected: string | undefined) => {
    const file = join(dir, name);
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(file);
    } catch (err) {
      throw new FormatError(
        `${file}: cannot read checkpoint file (${(err as NodeJS.ErrnoException).code ?? String(err)})`,
      );
    }
    if (expected !== undefined && sha256(bytes) !== expected) {
      throw new FormatError(`${file}: checksum mismatch — the file is damaged or was replaced`);
    }
    return parseSafetensors(bytes, file).tensors;
  };
  const weights = readChecked(sidecar.weights, sidecar.weights_sha256);
  const tensors = sidecar.state_tensors
    ? readChecked(sidecar.state_tensors, sidecar.state_tensors_sha256)
    : {};
  return { epoch: sidecar.epoch, weights, state: restoreTensors(sidecar.state, tensors, sidecarPath) };
}
