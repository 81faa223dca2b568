// Saving and loading compressed models as one safetensors file.
//
// The tensors are the model's stateDict (PyTorch-style keys): float32 tensors for float layers,
// and for int8 layers the layout documented in quantize.ts (<name>.weight I8, .weight_scale,
// .bias, .input_scale F32, .input_zero_point I32). The metadata entry "nabla.compressed" holds a
// JSON description of how to rebuild the module tree from the zoo:
//   { model, numClasses, input: [C,H,W], classes?, normalization?,
//     folded: [{layer, bn}],          BNs folded into layers (now Identity)
//     quantized: [QuantizedLayerSpec] | null }
// Pruned layers need no description: their sizes are read off the tensor shapes.
import { zeros } from "../tensor/creation.js";
import type { Tensor } from "../tensor/tensor.js";
import type { Module } from "../nn/module.js";
import { Conv2d } from "../nn/layers/conv.js";
import { Linear } from "../nn/layers/linear.js";
import { BatchNorm1d, BatchNorm2d } from "../nn/layers/batchnorm.js";
import { Identity } from "../nn/layers/misc.js";
import { loadSafetensors, saveSafetensors } from "../io/safetensors.js";
import { buildModel } from "../train/setup.js";
import { FormatError } from "../errors.js";
import { replaceModule, setBuffer, setField, setParameter } from "./trace.js";
import type { FoldedPair } from "./fold.js";
import { applyQuantizedStructure, QuantizedBase, type QuantizedLayerSpec } from "./quantize.js";

export interface CompressedInfo {
  model: string;
  numClasses: number;
  input: [number, number, number];
  classes?: string[];
  normalization?: { mean: number[]; std: number[] };
  folded: FoldedPair[];
  quantized: QuantizedLayerSpec[] | null;
}

const META_KEY = "nabla.compressed";

export function saveCompressed(path: string, model: Module, info: CompressedInfo): void {
  saveSafetensors(path, Object.fromEntries(model.stateDict()), {
    format: "pt",
    [META_KEY]: JSON.stringify(info),
  });
}

/** Give every Conv2d/Linear/BN the sizes its tensors have in `sd` (a channel-pruned model). */
export function resizeToStateDict(model: Module, sd: ReadonlyMap<string, Tensor>): void {
  for (const [name, m] of model.namedModules()) {
    const key = (k: string) => sd.get(name ? `${name}.${k}` : k);
    if (m instanceof Conv2d || m instanceof Linear) {
      const w = key("weight");
      if (!w) continue;
      if (w.shape.some((d, i) => d !== m.weight.shape[i])) {
        setParameter(m, "weight", zeros(w.shape));
        const [o, i] = w.shape as [number, number];
        if (m instanceof Conv2d) {
          const depthwise = m.groups > 1 && m.groups === m.inChannels && m.groups === m.outChannels;
          if (depthwise) setField(m, "groups", o);
          setField(m, "outChannels", o);
          setField(m, "inChannels", i * m.groups);
        } else {
          setField(m, "outFeatures", o);
          setField(m, "inFeatures", i);
        }
      }
      const b = key("bias");
      if (b && (!m.bias || m.bias.shape[0] !== b.shape[0])) setParameter(m, "bias", zeros(b.shape));
    } else if (m instanceof BatchNorm2d || m instanceof BatchNorm1d) {
      const mean = key("running_mean");
      if (!mean || mean.shape[0] === m.numFeatures) continue;
      const c = mean.shape[0]!;
      if (m.weight) setParameter(m, "weight", zeros([c]));
      if (m.bias) setParameter(m, "bias", zeros([c]));
      setBuffer(m, "running_mean", zeros([c]));
      setBuffer(m, "running_var", zeros([c]));
      setField(m, "numFeatures", c);
    }
  }
}

export interface LoadedCompressed {
  model: Module;
  info: CompressedInfo;
}

export function loadCompressed(path: string): LoadedCompressed {
  const { tensors, metadata } = loadSafetensors(path);
  const raw = metadata[META_KEY];
  if (raw === undefined)
    throw new FormatError(`${path}: not a compressed nabla model (no "${META_KEY}" metadata)`);
  const info = JSON.parse(raw) as CompressedInfo;
  const model = buildModel(info.model, info.numClasses, info.input);
  for (const pair of info.folded) replaceModule(model, pair.bn, new Identity());
  const sd = new Map(Object.entries(tensors));
  resizeToStateDict(model, sd);
  if (info.quantized) applyQuantizedStructure(model, info.quantized);
  model.loadStateDict(sd, { strict: true });
  for (const m of model.modules()) if (m instanceof QuantizedBase) m.refresh();
  model.eval();
  return { model, info };
}
