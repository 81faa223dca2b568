// PyTorch weights in and out: a module's state dict as a safetensors file, with the same keys
// and layouts PyTorch uses (the zoo's keys match torchvision's), so
//   torch:  safetensors.torch.save_file(model.state_dict(), "w.safetensors")
//   nabla:  loadWeights(createModel("resnet18", {numClasses: 10}), "w.safetensors")
// and the reverse direction work. Problems are reported all at once: missing keys, unexpected
// keys and shape mismatches, each by name, prefixed with the file.
import { loadSafetensors, saveSafetensors } from "./safetensors.js";
import { StateDictError, type AnyModule } from "../nn/module.js";
import type { Tensor } from "../tensor/tensor.js";

export interface LoadWeightsOptions {
  /** Throw on missing or unexpected keys (default true); shape mismatches always throw. */
  strict?: boolean;
}

export interface LoadWeightsReport {
  /** Keys the module has but the file lacks (only non-empty when strict is false). */
  missingKeys: string[];
  /** Keys in the file the module does not have (only non-empty when strict is false). */
  unexpectedKeys: string[];
  /** The file's string metadata (PyTorch writes {"format": "pt"}). */
  metadata: Record<string, string>;
}

/** Copy the tensors of a safetensors file into `module`'s parameters and buffers. */
export function loadWeights(
  module: AnyModule,
  path: string,
  options: LoadWeightsOptions = {},
): LoadWeightsReport {
  const { tensors, metadata } = loadSafetensors(path);
  try {
    const result = module.loadStateDict(tensors, { strict: options.strict ?? true });
    return { ...result, metadata };
  } catch (err) {
    if (err instanceof StateDictError) err.message = `${path}: ${err.message}`;
    throw err;
  }
}

/** Write `module`'s state dict (parameters and persistent buffers) as safetensors. */
export function saveWeights(module: AnyModule, path: string, metadata: Record<string, string> = {}): void {
  const tensors: Record<string, Tensor> = {};
  for (const [key, t] of module.stateDict()) tensors[key] = t;
  saveSafetensors(path, tensors, { format: "pt", ...metadata });
}
