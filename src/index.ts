// nabla's main entry point (Node.js): the core, plus the native backend when its addon loads
// (otherwise the TypeScript reference backend runs, and nabla says so once).
import { loadNativeBackend } from "./backend/native/index.js";
import { setBackend } from "./backend/registry.js";

export * from "./core.js";
export { loadNativeBackend, nativeInfo } from "./backend/native/index.js";
// Datasets, transforms and the DataLoader (torch.utils.data).
export * as data from "./data/index.js";
// The training loop, metrics, checkpoints and plots.
export {
  fit,
  evaluate,
  TrainingDivergedError,
  type FitOptions,
  type FitResult,
  type EpochRecord,
} from "./train/fit.js";
export { ClassificationMetrics, type ClassificationReport } from "./train/metrics.js";
export { saveCheckpoint, loadCheckpoint, type CheckpointState } from "./train/checkpoint.js";
// Weights in and out.
export {
  saveSafetensors,
  loadSafetensors,
  serializeSafetensors,
  parseSafetensors,
} from "./io/safetensors.js";
export { loadWeights, saveWeights } from "./io/weights.js";
// ONNX import (a trainable Module) and export.
export * as onnx from "./io/onnx/index.js";

const native = loadNativeBackend();
if (native) setBackend(native);
