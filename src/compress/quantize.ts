// Post-training static int8 quantization.
//
//   1. fuse:      fold BN into the preceding conv/linear (fold.ts), and mark a ReLU/ReLU6 that
//                 alone reads a layer's output as fused into that layer (the ReLU becomes Identity)
//   2. calibrate: run N calibration images through the float model; a forward pre-hook on each
//                 Conv2d/Linear records its input range — min/max, or a percentile of a histogram
//   3. convert:   replace each Conv2d/Linear by a QuantizedConv2d/QuantizedLinear holding int8
//                 weights (per-output-channel symmetric scales), the float bias and the input's
//                 per-tensor affine (scale, zero point); see int8-ref.ts for the exact numerics
//
// A quantized layer takes float input, quantizes it, runs the int8 kernel (int32 accumulation)
// and returns float output with the bias and fused activation applied. Everything between
// quantized layers (pooling, additions, concatenations) stays float, so any model whose convs
// and linears are modules quantizes, whatever its forward() code does.
//
// State-dict layout of a quantized layer "<name>" (safetensors dtypes):
//   <name>.weight            I8   [O, C/groups, kh, kw]  (Linear: [O, in])
//   <name>.weight_scale      F32  [O]
//   <name>.bias              F32  [O]
//   <name>.input_scale       F32  [1]
//   <name>.input_zero_point  I32  [1]
import { zeros } from "../tensor/creation.js";
import { uninit } from "../autograd/ops/util.js";
import type { Tensor } from "../tensor/tensor.js";
import { noGrad } from "../autograd/engine.js";
import { Module, type AnyModule, type RemovableHandle } from "../nn/module.js";
import { Conv2d } from "../nn/layers/conv.js";
import { Linear } from "../nn/layers/linear.js";
import { ReLU, ReLU6 } from "../nn/layers/activation.js";
import { MaxPool2d } from "../nn/layers/pooling.js";
import { Identity } from "../nn/layers/misc.js";
import { ShapeError, ValueError } from "../errors.js";
import { foldBatchNorm } from "./fold.js";
import { replaceModule, traceModel } from "./trace.js";
import { QMAX, rowSums, resultSize, type FusedActivation, type Int8Layer } from "./int8-ref.js";
import { int8Conv2d } from "./int8-native.js";

/** One quantized layer: where it is, and which activation module was fused into it. */
export interface QuantizedLayerSpec {
  name: string;
  kind: "conv" | "linear";
  act: FusedActivation;
  /** The ReLU/ReLU6 module replaced by Identity, if any. */
  fusedActivation: string | null;
  /** The 2×2, stride-2 MaxPool2d after the conv (and activation) replaced by Identity, if any. */
  fusedPool?: string | null;
  /** Conv geometry (kept so a saved model can be rebuilt without the float layer). */
  stride?: [number, number];
  padding?: [number, number];
  dilation?: [number, number];
  groups?: number;
}

// ---- quantized layers ---------------------------------------------------------------------

abstract class QuantizedBase extends Module {
  readonly weight: Tensor;
  readonly weightScale: Tensor;
  readonly bias: Tensor;
  readonly inputScale: Tensor;
  readonly inputZeroPoint: Tensor;
  private cached: Int8Layer | null = null;

  constructor(
    readonly outChannels: number,
    weightShape: number[],
    readonly act: FusedActivation,
  ) {
    super();
    this.weight = this.registerBuffer("weight", zeros(weightShape, { dtype: "int8" }));
    this.weightScale = this.registerBuffer("weight_scale", zeros([outChannels]));
    this.bias = this.registerBuffer("bias", zeros([outChannels]));
    this.inputScale = this.registerBuffer("input_scale", zeros([1]));
    this.inputZeroPoint = this.registerBuffer("input_zero_point", zeros([1], { dtype: "int32" }));
  }

  protected abstract geometry(): Pick<
    Int8Layer,
    "inChannels" | "kernelSize" | "stride" | "padding" | "dilation" | "groups" | "pool"
  >;

  /** The kernel's view of this layer (rebuilt after loadStateDict changes the buffers). */
  layer(): Int8Layer {
    const weight = this.weight.data as Int8Array;
    const c = this.cached;
    if (c && c.inputScale === this.inputScale.data[0] && c.inputZeroPoint === this.inputZeroPoint.data[0])
      return c;
    this.cached = {
      ...this.geometry(),
      outChannels: this.outChannels,
      weight,
      weightScale: this.weightScale.data as Float32Array,
      bias: this.bias.data as Float32Array,
      rowSum: rowSums(weight, this.outChannels),
      inputScale: this.inputScale.data[0]!,
      inputZeroPoint: this.inputZeroPoint.data[0]!,
      act: this.act,
    };
    return this.cached;
  }

  /** Rebuild the kernel view (row sums, packed weights) after the buffers were written in place. */
  refresh(): void {
    this.cached = null;
  }
}

export class QuantizedConv2d extends QuantizedBase {
  constructor(
    readonly inChannels: number,
    outChannels: number,
    readonly kernelSize: [number, number],
    readonly stride: [number, number],
    readonly padding: [number, number],
    readonly dilation: [number, number],
    readonly groups: number,
    act: FusedActivation,
    /** 2: a fused 2×2, stride-2 max-pool after the activation (output halved); 0: none. */
    readonly pool: 0 | 2 = 0,
  ) {
    super(outChannels, [outChannels, inChannels / groups, ...kernelSize], act);
  }

  protected geometry() {
    const { inChannels, kernelSize, stride, padding, dilation, groups, pool } = this;
    return { inChannels, kernelSize, stride, padding, dilation, groups, pool };
  }

  forward(x: Tensor): Tensor {
    if (x.ndim !== 4 || x.shape[1] !== this.inChannels)
      throw new ShapeError(
        `QuantizedConv2d: expected [N, ${this.inChannels}, H, W], got [${x.shape.join(", ")}]`,
      );
    const input = x.dtype === "float32" ? x.contiguous() : x.float().contiguous();
    const [n, c, h, w] = input.shape as [number, number, number, number];
    const layer = this.layer();
    const [oh, ow] = resultSize(layer, h, w);
    // The kernel writes every output element: no zero fill needed.
    const out = uninit([n, this.outChannels, oh, ow], "float32");
    int8Conv2d(input.data as Float32Array, [n, c, h, w], layer, out.storage as Float32Array);
    return out;
  }

  override extraRepr(): string {
    const pool = this.pool ? ", pool=max2x2" : "";
    return `${this.inChannels}, ${this.outChannels}, kernelSize=(${this.kernelSize.join(", ")}), stride=(${this.stride.join(", ")}), groups=${this.groups}, act=${this.act}${pool}, int8`;
  }
}

export class QuantizedLinear extends QuantizedBase {
  constructor(
    readonly inFeatures: number,
    outFeatures: number,
    act: FusedActivation,
  ) {
    super(outFeatures, [outFeatures, inFeatures], act);
  }

  protected geometry() {
    const one: [number, number] = [1, 1];
    return {
      inChannels: this.inFeatures,
      kernelSize: one,
      stride: one,
      padding: [0, 0] as [number, number],
      dilation: one,
      groups: 1,
    };
  }

  forward(x: Tensor): Tensor {
    if (x.ndim !== 2 || x.shape[1] !== this.inFeatures)
      throw new ShapeError(`QuantizedLinear: expected [N, ${this.inFeatures}], got [${x.shape.join(", ")}]`);
    const input = x.dtype === "float32" ? x.contiguous() : x.float().contiguous();
    const n = input.shape[0]!;
    const out = uninit([n, this.outChannels], "float32");
    int8Conv2d(
      input.data as Float32Array,
      [n, this.inFeatures, 1, 1],
      this.layer(),
      out.storage as Float32Array,
    );
    return out;
  }

  override extraRepr(): string {
    return `inFeatures=${this.inFeatures}, outFeatures=${this.outChannels}, act=${this.act}, int8`;
  }
}

// ---- fusion -------------------------------------------------------------------------------

/**
 * Fold BNs, then find the Conv2d/Linear layers to quantize (each run once per forward) and the
 * ReLU/ReLU6 modules that can be fused into them. Changes only BN layers (to Identity).
 */
export function planQuantization(model: Module, inputShape: readonly number[]): QuantizedLayerSpec[] {
  foldBatchNorm(model, inputShape);
  const trace = traceModel(model, inputShape);
  const consumers = new Map<Tensor, (typeof trace.calls)[number]>();
  for (const c of trace.calls) consumers.set(c.input, c);
  const specs: QuantizedLayerSpec[] = [];
  for (const call of trace.calls) {
    const m = call.module;
    if (!(m instanceof Conv2d || m instanceof Linear) || trace.callCount.get(m) !== 1) continue;
    if (m instanceof Conv2d && typeof m.padding === "string") continue;
    let act: FusedActivation = "none";
    let fused: string | null = null;
    const next = consumers.get(call.output);
    if (
      next &&
      (next.module instanceof ReLU || next.module instanceof ReLU6) &&
      trace.callCount.get(next.module) === 1 &&
      trace.uses.get(call.output) === 1
    ) {
      act = next.module instanceof ReLU ? "relu" : "relu6";
      fused = next.name;
    }
    // A 2×2, stride-2 max-pool reading only this conv's (activated) output is fused too, when the
    // output's height and width are even (the pool then reads every value the conv computes).
    const last = fused ? next!.output : call.output;
    const after = consumers.get(last);
    const poolable =
      m instanceof Conv2d &&
      last.shape[2]! % 2 === 0 &&
      last.shape[3]! % 2 === 0 &&
      after?.module instanceof MaxPool2d &&
      isPlain2x2(after.module) &&
      trace.callCount.get(after.module) === 1 &&
      trace.uses.get(last) === 1;
    const spec: QuantizedLayerSpec = {
      name: call.name,
      kind: m instanceof Conv2d ? "conv" : "linear",
      act,
      fusedActivation: fused,
      fusedPool: poolable ? after!.name : null,
    };
    if (m instanceof Conv2d) {
      spec.stride = m.stride;
      spec.padding = m.padding as [number, number];
      spec.dilation = m.dilation;
      spec.groups = m.groups;
    }
    specs.push(spec);
  }
  return specs;
}

function isPlain2x2(p: MaxPool2d): boolean {
  // Pair fields are a number or [h, w].
  const same = (a: number | readonly number[], v: number) =>
    typeof a === "number" ? a === v : a[0] === v && a[1] === v;
  return (
    same(p.kernelSize, 2) && same(p.stride, 2) && same(p.padding, 0) && same(p.dilation, 1) && !p.ceilMode
  );
}

// ---- calibration --------------------------------------------------------------------------

export type CalibrationMethod = "minmax" | "percentile";

export interface CalibrationOptions {
  method?: CalibrationMethod;
  /** For "percentile": the share of values inside the range (default 99.99). */
  percentile?: number;
}

interface Range {
  min: number;
  max: number;
}

const BINS = 2048;

/**
 * Input range of every listed layer over `batches` (float model, eval mode). "minmax" takes the
 * extremes; "percentile" makes a second pass filling a histogram over [min, max] and clips both
 * tails to (100 − p)/2 % each.
 */
export function calibrate(
  model: Module,
  specs: readonly QuantizedLayerSpec[],
  batches: () => Iterable<Tensor>,
  options: CalibrationOptions = {},
): Map<string, Range> {
  const method = options.method ?? "minmax";
  const modules = new Map<string, AnyModule>([...model.namedModules()]);
  const ranges = new Map<string, Range>(specs.map((s) => [s.name, { min: Infinity, max: -Infinity }]));
  const run = (observe: (name: string, data: ArrayLike<number>) => void) => {
    const handles: RemovableHandle[] = specs.map((s) =>
      modules.get(s.name)!.registerForwardPreHook((_m, inputs) => {
        observe(s.name, (inputs[0] as Tensor).contiguous().data);
      }),
    );
    model.eval();
    try {
      noGrad(() => {
        for (const x of batches()) model.call(x);
      });
    } finally {
      for (const h of handles) h.remove();
    }
  };
  run((name, data) => {
    const r = ranges.get(name)!;
    for (let i = 0; i < data.length; i++) {
      const v = data[i]!;
      if (v < r.min) r.min = v;
      if (v > r.max) r.max = v;
    }
  });
  if (method === "percentile") {
    const p = options.percentile ?? 99.99;
    if (!(p > 50 && p <= 100)) throw new ValueError(`calibrate: percentile must be in (50, 100], got ${p}`);
    const hists = new Map(specs.map((s) => [s.name, new Float64Array(BINS)]));
    run((name, data) => {
      const r = ranges.get(name)!;
      const h = hists.get(name)!;
      const width = (r.max - r.min) / BINS || 1;
      for (let i = 0; i < data.length; i++)
        h[Math.min(BINS - 1, Math.floor((data[i]! - r.min) / width))]! += 1;
    });
    for (const [name, h] of hists) {
      const r = ranges.get(name)!;
      const total = h.reduce((a, b) => a + b, 0);
      const tail = (total * (100 - p)) / 200;
      const width = (r.max - r.min) / BINS;
      let lo = 0;
      for (let acc = 0; lo < BINS - 1 && acc + h[lo]! <= tail; lo++) acc += h[lo]!;
      let hi = BINS - 1;
      for (let acc = 0; hi > 0 && acc + h[hi]! <= tail; hi--) acc += h[hi]!;
      ranges.set(name, { min: r.min + lo * width, max: r.min + (hi + 1) * width });
    }
  }
  return ranges;
}

/** Per-tensor affine parameters for a range (which always includes 0, so zero is exact). */
export function activationParams(range: Range): { scale: number; zeroPoint: number } {
  const min = Math.min(range.min, 0);
  const max = Math.max(range.max, 0);
  if (!(max > min)) return { scale: 1, zeroPoint: 0 };
  const scale = Math.fround((max - min) / QMAX);
  const zeroPoint = Math.min(QMAX, Math.max(0, Math.round(-min / scale)));
  return { scale, zeroPoint };
}

/** Per-output-channel symmetric int8 weights: w ≈ q·scale[o], q in [-127, 127]. */
export function quantizeWeights(weight: Tensor): { q: Int8Array; scale: Float32Array } {
  const w = weight.contiguous().data;
  const rows = weight.shape[0]!;
  const per = w.length / rows;
  const q = new Int8Array(w.length);
  const scale = new Float32Array(rows);
  for (let o = 0; o < rows; o++) {
    let amax = 0;
    for (let k = 0; k < per; k++) amax = Math.max(amax, Math.abs(w[o * per + k]!));
    const s = amax > 0 ? Math.fround(amax / QMAX) : 1;
    scale[o] = s;
    for (let k = 0; k < per; k++)
      q[o * per + k] = Math.max(-QMAX, Math.min(QMAX, Math.round(w[o * per + k]! / s)));
  }
  return { q, scale };
}

// ---- conversion ---------------------------------------------------------------------------

/** An empty quantized layer with the geometry of `spec` and the given weight shape. */
export function emptyQuantizedLayer(spec: QuantizedLayerSpec, weightShape: readonly number[]): QuantizedBase {
  if (spec.kind === "linear") return new QuantizedLinear(weightShape[1]!, weightShape[0]!, spec.act);
  const [o, cg, kh, kw] = weightShape as [number, number, number, number];
  const groups = spec.groups ?? 1;
  return new QuantizedConv2d(
    cg * groups,
    o,
    [kh, kw],
    spec.stride ?? [1, 1],
    spec.padding ?? [0, 0],
    spec.dilation ?? [1, 1],
    groups,
    spec.act,
    spec.fusedPool ? 2 : 0,
  );
}

/** Swap the planned layers for empty quantized ones and fused activations for Identity. */
export function applyQuantizedStructure(
  model: Module,
  specs: readonly QuantizedLayerSpec[],
): Map<string, QuantizedBase> {
  const modules = new Map<string, AnyModule>([...model.namedModules()]);
  const out = new Map<string, QuantizedBase>();
  for (const spec of specs) {
    const m = modules.get(spec.name);
    if (!(m instanceof Conv2d || m instanceof Linear))
      throw new ValueError(`quantize: "${spec.name}" is not a Conv2d or Linear`);
    const q = emptyQuantizedLayer(spec, m.weight.shape);
    replaceModule(model, spec.name, q);
    if (spec.fusedActivation) replaceModule(model, spec.fusedActivation, new Identity());
    if (spec.fusedPool) replaceModule(model, spec.fusedPool, new Identity());
    out.set(spec.name, q);
  }
  return out;
}

export interface QuantizeOptions extends CalibrationOptions {
  /** Calibration inputs (normalised like training data), e.g. 512 images in batches. */
  calibration: () => Iterable<Tensor>;
}

export interface QuantizeResult {
  specs: QuantizedLayerSpec[];
  ranges: Map<string, Range>;
}

/**
 * Quantize `model` in place (fold BN, fuse ReLU, calibrate, convert). The result runs int8
 * convolutions and linears; save it with its stateDict and `specs` (see compressed-io.ts).
 */
export function quantizeModel(
  model: Module,
  inputShape: readonly number[],
  options: QuantizeOptions,
): QuantizeResult {
  const specs = planQuantization(model, inputShape);
  const ranges = calibrate(model, specs, options.calibration, options);
  const floats = new Map<string, AnyModule>([...model.namedModules()]);
  const quantized = applyQuantizedStructure(model, specs);
  for (const spec of specs) {
    const f = floats.get(spec.name) as Conv2d | Linear;
    const q = quantized.get(spec.name)!;
    const { q: qw, scale } = quantizeWeights(f.weight);
    (q.weight.data as Int8Array).set(qw);
    q.weightScale.data.set(scale);
    if (f.bias) q.bias.data.set(f.bias.contiguous().data);
    const a = activationParams(ranges.get(spec.name)!);
    q.inputScale.data[0] = a.scale;
    q.inputZeroPoint.data[0] = a.zeroPoint;
    q.refresh();
  }
  return { specs, ranges };
}

export { QuantizedBase };
