// Model summary: one row per leaf layer (name, type, output shape, parameters, MACs) from a
// batch-1 forward pass under noGrad with forward hooks, plus totals.
//
// MACs (multiply-accumulates for one sample, forward only) follow the usual convention:
//   Conv2d: Cout·Hout·Wout·(Cin/groups)·kH·kW     Linear: in·out (per output row)
// Other layers (BN, activations, pooling) count 0.
import { zeros } from "../tensor/creation.js";
import type { Tensor } from "../tensor/tensor.js";
import { Tensor as TensorClass } from "../tensor/tensor.js";
import { noGrad } from "../autograd/engine.js";
import type { AnyModule, Module, RemovableHandle } from "../nn/module.js";
import { Conv2d } from "../nn/layers/conv.js";
import { Linear } from "../nn/layers/linear.js";
import { ValueError } from "../errors.js";

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
}

export interface ModelSummary {
  /** Input shape without the batch dimension. */
  input: number[];
  rows: SummaryRow[];
  params: number;
  trainableParams: number;
  macs: number;
}

/** MACs of one call of `module` for one sample, given its output. */
export function layerMacs(module: AnyModule, output: Tensor): number {
  const perSample = output.numel / (output.shape[0] ?? 1);
  if (module instanceof Conv2d) {
    const [kh, kw] = module.kernelSize;
    return perSample * (module.inChannels / module.groups) * kh * kw;
  }
  if (module instanceof Linear) return perSample * module.inFeatures;
  return 0;
}

/** Run a zero input of shape [1, ...inputShape] through `model` and tabulate its layers. */
export function summary(model: Module, inputShape: readonly number[]): ModelSummary {
  if (inputShape.length === 0 || !inputShape.every((d) => Number.isInteger(d) && d > 0))
    throw new ValueError(`summary: input shape must be positive integers, got [${inputShape.join(", ")}]`);
  const rows = new Map<AnyModule, SummaryRow>();
  const handles: RemovableHandle[] = [];
  const modes = new Map<AnyModule, boolean>();
  for (const [name, m] of model.namedModules()) {
    modes.set(m, m.training);
    if (m === model || [...m.children()].length > 0) continue;
    const row: SummaryRow = { name, type: m.constructor.name, outputShape: null, params: 0, macs: 0 };
    for (const p of m.parameters(false)) row.params += p.numel;
    rows.set(m, row);
    handles.push(
      m.registerForwardHook((mod, _inputs, output) => {
        if (!(output instanceof TensorClass)) return;
        row.outputShape = [...output.shape];
        row.macs += layerMacs(mod, output);
      }),
    );
  }
  try {
    model.eval();
    noGrad(() => model.call(zeros([1, ...inputShape])));
  } finally {
    for (const h of handles) h.remove();
    for (const [m, training] of modes) m.training = training;
  }
  const list = [...rows.values()];
  return {
    input: [...inputShape],
    rows: list,
    params: model.numParameters(),
    trainableParams: model.numParameters(true),
    macs: list.reduce((s, r) => s + r.macs, 0),
  };
}

/** The summary as a text table with totals. */
export function formatSummary(s: ModelSummary): string {
  const header = ["Layer", "Type", "Output shape", "Params", "MACs"];
  const body = s.rows.map((r) => [
    r.name,
    r.type,
    r.outputShape ? `[${r.outputShape.join(", ")}]` : "-",
    r.params.toLocaleString("en-US"),
    r.macs.toLocaleString("en-US"),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i >= 3 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join("  ");
  const rule = "-".repeat(widths.reduce((a, w) => a + w + 2, -2));
  return [
    line(header),
    rule,
    ...body.map(line),
    rule,
    `Input: [1, ${s.input.join(", ")}]`,
    `Total params: ${s.params.toLocaleString("en-US")}`,
    `Trainable params: ${s.trainableParams.toLocaleString("en-US")}`,
    `Non-trainable params: ${(s.params - s.trainableParams).toLocaleString("en-US")}`,
    `MACs: ${formatCount(s.macs)} (${s.macs.toLocaleString("en-US")})`,
  ].join("\n");
}

/** 1.82 G, 421.8 K style. */
export function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(2)} K`;
  return String(n);
}
