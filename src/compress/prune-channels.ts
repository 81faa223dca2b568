// Structured (channel) pruning: remove whole output channels of convolutions (and hidden units of
// Linear layers) with the smallest L1 norm, and rewire every layer that reads them, so the
// result is a smaller dense model that runs with the same forward code.
//
// Which layers depend on which comes from channels.ts (one traced forward pass). Sources tied by
// a residual addition form a group and keep the same channels; the importance of a channel in a
// group is the sum of the L1 norms of its filters over the group's sources. Every prunable group
// loses the same fraction of its channels (at least one channel is kept). Layers whose output
// reaches the model output (the classifier) are never pruned.
import { fromArray } from "../tensor/creation.js";
import type { Tensor } from "../tensor/tensor.js";
import type { AnyModule, Module } from "../nn/module.js";
import { Conv2d } from "../nn/layers/conv.js";
import { Linear } from "../nn/layers/linear.js";
import { BatchNorm1d, BatchNorm2d } from "../nn/layers/batchnorm.js";
import { ValueError } from "../errors.js";
import { analyzeChannels, type ChannelMap, type ChannelRef } from "./channels.js";
import { setBuffer, setField, setParameter } from "./trace.js";

export interface ChannelPruneOptions {
  /** Fraction of channels to remove from every prunable group, in [0, 1). */
  ratio: number;
  /** Also prune hidden units of Linear layers (default true). */
  linear?: boolean;
}

export interface ChannelPruneResult {
  /** Per pruned group: its layers and channels before/after. */
  groups: { layers: string[]; before: number; after: number }[];
}

/** L1 norm of each output channel (dim-0 slice) of a weight. */
function rowL1(w: Tensor): Float64Array {
  const d = w.contiguous().data;
  const rows = w.shape[0]!;
  const per = d.length / rows;
  const out = new Float64Array(rows);
  for (let o = 0; o < rows; o++) {
    let s = 0;
    for (let k = 0; k < per; k++) s += Math.abs(d[o * per + k]!);
    out[o] = s;
  }
  return out;
}

/** The rows `rows` (dim 0) and columns `cols` (dim 1, null: all) of a tensor, as a new tensor. */
function select(t: Tensor, rows: readonly number[] | null, cols: readonly number[] | null): Tensor {
  const src = t.contiguous().data;
  const shape = [...t.shape];
  const r = rows ?? Array.from({ length: shape[0]! }, (_, i) => i);
  const nCols = shape.length > 1 ? shape[1]! : 1;
  const c = cols ?? Array.from({ length: nCols }, (_, i) => i);
  const inner = shape.length > 2 ? shape.slice(2).reduce((a, b) => a * b, 1) : 1;
  const out = new Float32Array(r.length * (shape.length > 1 ? c.length : 1) * inner);
  let at = 0;
  for (const i of r) {
    if (shape.length === 1) {
      out[at++] = src[i]!;
      continue;
    }
    for (const j of c) {
      const base = (i * nCols + j) * inner;
      for (let k = 0; k < inner; k++) out[at++] = src[base + k]!;
    }
  }
  shape[0] = r.length;
  if (shape.length > 1) shape[1] = c.length;
  return fromArray(out, shape, { dtype: t.dtype });
}

export function pruneChannels(
  model: Module,
  inputShape: readonly number[],
  options: ChannelPruneOptions,
): ChannelPruneResult {
  const { ratio, linear = true } = options;
  if (!(ratio >= 0 && ratio < 1))
    throw new ValueError(`pruneChannels: ratio must be in [0, 1), got ${ratio}`);
  const graph = analyzeChannels(model, inputShape);

  // 1. Decide the kept channels of every group.
  const keep = new Map<number, Set<number>>();
  const result: ChannelPruneResult = { groups: [] };
  for (const group of graph.groups) {
    if (!linear && group.some((s) => s.module instanceof Linear)) continue;
    const channels = group[0]!.channels;
    const target = Math.max(1, Math.round(channels * (1 - ratio)));
    if (target >= channels) continue;
    const score = new Float64Array(channels);
    for (const s of group) rowL1(s.module.weight).forEach((v, i) => (score[i]! += v));
    const order = Array.from({ length: channels }, (_, i) => i).sort(
      (a, b) => score[b]! - score[a]! || a - b,
    );
    const kept = new Set(order.slice(0, target));
    for (const s of group) keep.set(s.id, kept);
    result.groups.push({ layers: group.map((s) => s.name), before: channels, after: target });
  }
  const isKept = (r: ChannelRef) => r.src < 0 || !keep.has(r.src) || keep.get(r.src)!.has(r.idx);
  const keptPositions = (m: ChannelMap): number[] => {
    const out: number[] = [];
    m.refs.forEach((r, i) => {
      if (isKept(r)) for (let b = 0; b < m.block; b++) out.push(i * m.block + b);
    });
    return out;
  };

  // 2. Plan each module's kept rows (dim 0) and columns (dim 1).
  const rows = new Map<AnyModule, number[]>();
  const cols = new Map<AnyModule, number[]>();
  for (const s of graph.sources) {
    const kept = keep.get(s.id);
    if (kept)
      rows.set(
        s.module,
        [...kept].sort((a, b) => a - b),
      );
  }
  for (const c of graph.consumers) {
    const pos = keptPositions(c.input);
    if (pos.length !== c.input.refs.length * c.input.block) cols.set(c.module, pos);
  }
  for (const f of graph.followers) {
    const pos = keptPositions(f.map);
    if (pos.length !== f.map.refs.length) rows.set(f.module, pos);
  }

  // 3. Apply.
  for (const m of new Set([...rows.keys(), ...cols.keys()])) {
    const r = rows.get(m) ?? null;
    const c = cols.get(m) ?? null;
    if (m instanceof Conv2d || m instanceof Linear) {
      setParameter(m, "weight", select(m.weight, r, c));
      if (m.bias && r) setParameter(m, "bias", select(m.bias, r, null));
      const [outN, inN] = m.weight.shape as [number, number];
      if (m instanceof Conv2d) {
        const depthwise = m.groups > 1;
        setField(m, "outChannels", outN);
        setField(m, "inChannels", depthwise ? outN : inN);
        if (depthwise) setField(m, "groups", outN);
      } else {
        setField(m, "outFeatures", outN);
        setField(m, "inFeatures", inN);
      }
    } else if ((m instanceof BatchNorm2d || m instanceof BatchNorm1d) && r) {
      if (m.weight) setParameter(m, "weight", select(m.weight, r, null));
      if (m.bias) setParameter(m, "bias", select(m.bias, r, null));
      if (m.runningMean) setBuffer(m, "running_mean", select(m.runningMean, r, null));
      if (m.runningVar) setBuffer(m, "running_var", select(m.runningVar, r, null));
      setField(m, "numFeatures", r.length);
    }
  }
  return result;
}
