// Rebuild a trained model from what `nabla train` wrote: the checkpoint's weights plus the
// sidecar's meta (model name, classes, input shape, normalisation). Accepts a run folder,
// a sidecar .json, an epoch-N.safetensors, or best.safetensors (whose meta comes from the
// run folder's latest checkpoint).
import { existsSync, statSync } from "node:fs";
import { basename, dirname } from "node:path";
import { loadCheckpoint } from "./checkpoint.js";
import { buildModel, type Normalization } from "./setup.js";
import type { Module } from "../nn/module.js";
import { loadSafetensors } from "../io/safetensors.js";
import { load as loadOnnx } from "../io/onnx/index.js";
import { FormatError } from "../errors.js";

export interface RunMeta {
  model: string;
  /** For runs started from an ONNX file (`nabla train --onnx`): its absolute path. */
  onnx?: string;
  data: string;
  classes: string[];
  input: [number, number, number];
  normalization: Normalization;
}

export interface RestoredModel {
  model: Module;
  meta: RunMeta;
  epoch: number;
}

export function restoreModel(path: string): RestoredModel {
  if (!existsSync(path))
    throw new FormatError(
      `${path}: no such checkpoint (pass a run folder written by \`nabla train\`, or a file in it)`,
    );
  const isDir = statSync(path).isDirectory();
  const useBest = !isDir && basename(path) === "best.safetensors";
  const ckpt = loadCheckpoint(useBest ? dirname(path) : path);
  const meta = (ckpt.state as { meta?: Partial<RunMeta> }).meta;
  if (
    !meta ||
    typeof meta.model !== "string" ||
    !Array.isArray(meta.classes) ||
    !Array.isArray(meta.input) ||
    !meta.normalization
  ) {
    throw new FormatError(
      `${path}: the checkpoint has no model description (was it written by \`nabla train\`?)`,
    );
  }
  const model =
    typeof meta.onnx === "string"
      ? loadOnnx(meta.onnx)
      : buildModel(meta.model, meta.classes.length, meta.input as [number, number, number]);
  const weights = useBest ? loadSafetensors(path).tensors : ckpt.weights;
  model.loadStateDict(weights, { strict: true });
  model.eval();
  return { model, meta: meta as RunMeta, epoch: ckpt.epoch };
}

/** Where `eval` writes its confusion matrix by default: next to the checkpoint. */
export function checkpointFolder(path: string): string {
  return existsSync(path) && statSync(path).isDirectory() ? path : dirname(path);
}

/** The ONNX metadata key under which `nabla export` stores the run description (JSON). */
export const ONNX_META_KEY = "nabla.meta";

/** The run description stored in an ONNX file's metadata ({} when it has none). */
export function onnxRunMeta(metadata: Readonly<Record<string, string>>, path: string): Partial<RunMeta> {
  const text = metadata[ONNX_META_KEY];
  if (text === undefined) return {};
  try {
    const meta = JSON.parse(text) as Partial<RunMeta>;
    if (typeof meta !== "object" || meta === null) throw new Error("not an object");
    return meta;
  } catch (err) {
    throw new FormatError(
      `${path}: metadata "${ONNX_META_KEY}" is not valid JSON (${(err as Error).message})`,
    );
  }
}

/**
 * Rebuild a zoo model from an ONNX file that `nabla export` wrote (its metadata names the model,
 * classes, input and normalisation; its initializers carry the state-dict keys), so tools that
 * need nabla's layers (compression) can start from ONNX. Only BatchNorm's num_batches_tracked,
 * which ONNX does not carry, may be missing.
 */
export function restoreModelFromOnnx(path: string): RestoredModel {
  const graph = loadOnnx(path);
  const meta = onnxRunMeta(graph.metadata, path);
  if (
    typeof meta.model !== "string" ||
    !Array.isArray(meta.classes) ||
    !Array.isArray(meta.input) ||
    !meta.normalization
  ) {
    throw new FormatError(
      `${path}: no nabla run description in the ONNX metadata; compression needs a model exported by \`nabla export\` from a zoo model`,
    );
  }
  const model = buildModel(meta.model, meta.classes.length, meta.input as [number, number, number]);
  const result = model.loadStateDict(graph.stateDict(), { strict: false });
  const missing = result.missingKeys.filter((k) => !k.endsWith("num_batches_tracked"));
  if (missing.length || result.unexpectedKeys.length) {
    throw new FormatError(
      `${path}: its initializers do not match a ${meta.model}` +
        (missing.length ? `; missing: ${missing.slice(0, 5).join(", ")}` : "") +
        (result.unexpectedKeys.length ? `; unexpected: ${result.unexpectedKeys.slice(0, 5).join(", ")}` : ""),
    );
  }
  model.eval();
  return { model, meta: meta as RunMeta, epoch: 0 };
}
