// Model summary: one row per leaf layer (name, type, output shape, parameters, MACs, activation
// memory) from a batch-1 forward pass under noGrad with forward hooks, plus totals.
//
// MACs (multiply-accumulates for one sample, forward only) follow the usual convention:
//   Conv2d: Cout·Hout·Wout·(Cin/groups)·kH·kW     Linear: in·out (per output row)
// FLOPs = 2·MACs. Other layers (BN, activations, pooling, additions) count 0 — the published
// figures (ResNet-18 1.82 G, MobileNetV2 0.30 G, VGG-16 15.47 G) count the same way.
//
// By default the pass is shape-only: Conv2d and Linear return zeros of their output shape
// instead of computing (their MACs follow from shapes alone), so a 224×224 ResNet-18 summary
// takes a fraction of a second; the cheap layers (BN, pooling, additions) still run, which is
// what makes the shapes of arbitrary forward() code come out right. `{ shapeOnly: false }`
// runs the real convolutions.
import { zeros } from "../tensor/creation.js";
import type { Tensor } from "../tensor/tensor.js";
import { Tensor as TensorClass } from "../tensor/tensor.js";
import { bytesPerElement, type DType } from "../tensor/dtype.js";
import { noGrad } from "../autograd/engine.js";
import { conv2dParams } from "../autograd/ops/conv.js";
import type { AnyModule, Module, RemovableHandle } from "../nn/module.js";
import { Conv2d } from "../nn/layers/conv.js";
import { Linear } from "../nn/layers/linear.js";
import { ShapeError, ValueError } from "../errors.js";

export interface SummaryRow {
  /** Dotted path of the layer in the model (as in stateDict keys). */
  name: string;
  /** Class name, e.g. "Conv2d". */
  type: string;
  /** Output shape with batch size 1, or null if the layer did not run / returned no tensor. */
  outputShape: number[] | null;
  /** Parameters the layer owns directly. */
  params: number;
  macs: number;
  /** Bytes of the layer's outputs for one sample (summed over calls if it runs more than once). */
  activationBytes: number;
}

export interface ModelSummary {
  /** Input shape without the batch dimension. */
  input: number[];
  rows: SummaryRow[];
  params: number;
  trainableParams: number;
  macs: number;
  /** 2·MACs. */
  flops: number;
  /** Sum of every leaf layer's output bytes for one sample (an upper bound on peak memory). */
  activationBytes: number;
  /** Bytes of the state dict (parameters and persistent buffers) by dtype. */
  weightBytes: Partial<Record<DType, number>>;
  /** Sum of weightBytes. */
  totalWeightBytes: number;
}

export interface SummaryOptions {
  /** Skip the arithmetic of Conv2d and Linear (default true): shapes and MACs are unchanged. */
  shapeOnly?: boolean;
}

/** MACs of one call of `module` for one sample, given its output. */
export function layerMacs(module: AnyModule, output: Tensor): number {
  const perSample = output.numel / (output.shape[0] ?? 1);
  if (module instanceof Conv2d) {
    const [kh, kw] = module.kernelSize;
    return perSample * (module.inChannels / module.groups) * kh * kw;
  }
  if (module instanceof Linear) return perSample * module.inFeatures;
  const q = module as Partial<QuantizedShape>;
  if (module.constructor.name.startsWith("Quantized") && q.weight && q.outChannels) {
    // A fused 2×2 max-pool (only on even-sized outputs) returns a quarter of what the conv computed.
    const computed = q.pool ? perSample * 4 : perSample;
    return computed * (q.weight.numel / q.outChannels);
  }
  return 0;
}

/** What int8 layers (compress/quantize.ts) expose: their int8 weight as a buffer. */
interface QuantizedShape {
  weight: Tensor;
  bias: Tensor;
  outChannels: number;
  /** 2 when a 2×2 max-pool is fused into the layer (QuantizedConv2d). */
  pool?: number;
}

/** Weight elements of a layer: its parameters, or an int8 layer's weight and bias buffers. */
function layerParams(m: AnyModule): number {
  let n = 0;
  for (const p of m.parameters(false)) n += p.numel;
  const q = m as Partial<QuantizedShape>;
  if (m.constructor.name.startsWith("Quantized") && q.weight && q.bias) n += q.weight.numel + q.bias.numel;
  return n;
}

/** The output of a Conv2d or Linear for input x, as zeros: what shape-only mode returns. */
function zeroOutput(module: AnyModule, x: Tensor): Tensor | null {
  if (module instanceof Conv2d) {
    const p = conv2dParams(x.shape, module.weight.shape, {
      stride: module.stride,
      padding: module.padding,
      dilation: module.dilation,
      groups: module.groups,
    });
    return zeros([p.n, p.o, p.outH, p.outW], { dtype: module.weight.dtype });
  }
  if (module instanceof Linear) {
    if (x.shape[x.ndim - 1] !== module.inFeatures)
      throw new ShapeError(
        `Linear: input [${x.shape.join(", ")}] does not match inFeatures ${module.inFeatures}`,
      );
    return zeros([...x.shape.slice(0, -1), module.outFeatures], { dtype: module.weight.dtype });
  }
  return null;
}

/** Bytes of the model's state dict by dtype. */
export function weightBytesByDtype(model: Module): Partial<Record<DType, number>> {
  const out: Partial<Record<DType, number>> = {};
  for (const t of model.stateDict().values())
    out[t.dtype] = (out[t.dtype] ?? 0) + t.numel * bytesPerElement(t.dtype);
  return out;
}

/** Run a zero input of shape [1, ...inputShape] through `model` and tabulate its layers. */
export function summary(
  model: Module,
  inputShape: readonly number[],
  options: SummaryOptions = {},
): ModelSummary {
  if (inputShape.length === 0 || !inputShape.every((d) => Number.isInteger(d) && d > 0))
    throw new ValueError(`summary: input shape must be positive integers, got [${inputShape.join(", ")}]`);
  const shapeOnly = options.shapeOnly ?? true;
  const rows = new Map<AnyModule, SummaryRow>();
  const handles: RemovableHandle[] = [];
  const modes = new Map<AnyModule, boolean>();
  const patched: AnyModule[] = [];
  for (const [name, m] of model.namedModules()) {
    modes.set(m, m.training);
    if (m === model || [...m.children()].length > 0) continue;
    const row: SummaryRow = {
      name,
      type: m.constructor.name,
      outputShape: null,
      params: 0,
      macs: 0,
      activationBytes: 0,
    };
    row.params = layerParams(m);
    rows.set(m, row);
    handles.push(
      m.registerForwardHook((mod, _inputs, output) => {
        if (!(output instanceof TensorClass)) return;
        row.outputShape = [...output.shape];
        row.macs += layerMacs(mod, output);
        row.activationBytes += (output.numel / (output.shape[0] ?? 1)) * bytesPerElement(output.dtype);
      }),
    );
    if (shapeOnly && (m instanceof Conv2d || m instanceof Linear)) {
      // An own property shadows the prototype's forward for this call only (deleted below).
      (m as unknown as { forward: (x: Tensor) => Tensor }).forward = (x: Tensor) => zeroOutput(m, x)!;
      patched.push(m);
    }
  }
  try {
    model.eval();
    noGrad(() => model.call(zeros([1, ...inputShape])));
  } finally {
    for (const h of handles) h.remove();
    for (const m of patched) delete (m as unknown as { forward?: unknown }).forward;
    for (const [m, training] of modes) m.training = training;
  }
  const list = [...rows.values()];
  const macs = list.reduce((s, r) => s + r.macs, 0);
  const weightBytes = weightBytesByDtype(model);
  return {
    input: [...inputShape],
    rows: list,
    params: list.reduce((n, r) => n + r.params, 0) + ownParams(model),
    trainableParams: model.numParameters(true),
    macs,
    flops: 2 * macs,
    activationBytes: list.reduce((s, r) => s + r.activationBytes, 0),
    weightBytes,
    totalWeightBytes: Object.values(weightBytes).reduce((a, b) => a + b, 0),
  };
}

/** Parameters held by non-leaf modules themselves (rare; counted so totals stay complete). */
function ownParams(model: Module): number {
  let n = 0;
  for (const m of model.modules())
    if ([...m.children()].length > 0) for (const p of m.parameters(false)) n += p.numel;
  return n;
}

/** The summary as a text table with totals. */
export function formatSummary(s: ModelSummary): string {
  const header = ["Layer", "Type", "Output shape", "Params", "MACs", "Act. bytes"];
  const body = s.rows.map((r) => [
    r.name,
    r.type,
    r.outputShape ? `[${r.outputShape.join(", ")}]` : "-",
    r.params.toLocaleString("en-US"),
    r.macs.toLocaleString("en-US"),
    r.activationBytes.toLocaleString("en-US"),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i >= 3 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join("  ");
  const rule = "-".repeat(widths.reduce((a, w) => a + w + 2, -2));
  const byDtype = Object.entries(s.weightBytes)
    .map(([dtype, bytes]) => `${dtype} ${formatBytes(bytes)}`)
    .join(", ");
  return [
    line(header),
    rule,
    ...body.map(line),
    rule,
    `Input: [1, ${s.input.join(", ")}]`,
    `Total params: ${s.params.toLocaleString("en-US")}`,
    `Trainable params: ${s.trainableParams.toLocaleString("en-US")}`,
    `Non-trainable params: ${(s.params - s.trainableParams).toLocaleString("en-US")}`,
    `MACs: ${formatCount(s.macs)} (${s.macs.toLocaleString("en-US")}); FLOPs = 2·MACs = ${formatCount(s.flops)}`,
    `Activation memory (sum of layer outputs, batch 1): ${formatBytes(s.activationBytes)}`,
    `Weights: ${formatBytes(s.totalWeightBytes)} (${byDtype || "none"})`,
  ].join("\n");
}

/** 1.82 G, 421.8 K style. */
export function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(2)} K`;
  return String(n);
}

/** 1.61 MiB, 412.0 KiB style. */
export function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${(n / (1024 * 1024)).toFixed(2)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} B`;
}
